package imagefmt

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// synthQcow2 writes data as a qcow2 v3 image with every cluster allocated
// and stored in order, for benchmarks that need more than the fixtures'
// few hundred KiB. Refcounts are left out: readers of the active L1 table
// never look at them.
func synthQcow2(data []byte, clusterBits uint) []byte {
	cluster := 1 << clusterBits
	l2Entries := cluster / 8
	clusters := (len(data) + cluster - 1) / cluster
	l2Tables := (clusters + l2Entries - 1) / l2Entries
	l1Bytes := (l2Tables*8 + cluster - 1) / cluster * cluster
	l1Off := cluster
	l2Off := l1Off + l1Bytes
	dataOff := l2Off + l2Tables*cluster
	img := make([]byte, dataOff+clusters*cluster)
	be := binary.BigEndian
	copy(img, "QFI\xfb")
	be.PutUint32(img[4:], 3)
	be.PutUint32(img[20:], uint32(clusterBits))
	be.PutUint64(img[24:], uint64(len(data)))
	be.PutUint32(img[36:], uint32(l2Tables))
	be.PutUint64(img[40:], uint64(l1Off))
	be.PutUint32(img[96:], 4)
	be.PutUint32(img[100:], 104) // header length; extension end marker follows
	for i := range l2Tables {
		be.PutUint64(img[l1Off+i*8:], uint64(l2Off+i*cluster)|1<<63)
	}
	for c := range clusters {
		be.PutUint64(img[l2Off+c*8:], uint64(dataOff+c*cluster)|1<<63)
	}
	copy(img[dataOff:], data)
	return img
}

// benchData is compressible like a disk image: runs of random bytes,
// repeated text and zeros.
func benchData(n int) []byte {
	r := rand.New(rand.NewPCG(19, 19))
	b := make([]byte, n)
	text := []byte("drivecp moves VM drive images to and from clouds, resumable and verified. ")
	for off := 0; off < n; off += 4096 {
		blk := b[off:min(off+4096, n)]
		switch r.IntN(3) {
		case 0:
			for i := range blk {
				blk[i] = byte(r.Uint32())
			}
		case 1:
			for i := 0; i < len(blk); i += len(text) {
				copy(blk[i:], text)
			}
		}
	}
	return b
}

func TestSynthQcow2(t *testing.T) {
	data := benchData(3<<20 + 1000)
	src, err := openBytes(synthQcow2(data, 16))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := src.ReaderAt.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || len(src.Extents) != 1 || src.Extents[0] != (Extent{0, int64(len(data))}) {
		t.Fatalf("content equal %v, extents %v", bytes.Equal(got, data), src.Extents)
	}
}

const benchSize = 64 << 20

// BenchmarkReadAt compares reading the same content through the qcow2
// reader and straight from a raw file, in 4 MiB reads as the chunker does.
func BenchmarkReadAt(b *testing.B) {
	data := benchData(benchSize)
	dir := b.TempDir()
	for _, c := range []struct {
		name  string
		image []byte
	}{{"raw", data}, {"qcow2-64k", synthQcow2(data, 16)}, {"qcow2-2m", synthQcow2(data, 21)}} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.image, 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			src, err := Open(f)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			buf := make([]byte, 4<<20)
			b.SetBytes(benchSize)
			b.ResetTimer()
			for range b.N {
				for off := int64(0); off < benchSize; off += int64(len(buf)) {
					if _, err := src.ReaderAt.ReadAt(buf, off); err != nil && err != io.EOF {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDecompress reads the same content raw and through each stream
// decoder; bzip2 input needs the bzip2 tool and is skipped without it.
func BenchmarkDecompress(b *testing.B) {
	const size = 32 << 20
	data := benchData(size)
	streams := map[string][]byte{
		"raw":  data,
		"gzip": gzipBytes(b, data),
		"zstd": zstdBytes(b, data),
		"xz":   xzBytes(b, data),
	}
	if dir := os.Getenv("DRIVECP_BENCH_DUMP"); dir != "" {
		// Lets the same bytes be timed with xz -dc and bzip2 -dc.
		for name, in := range streams {
			if err := os.WriteFile(filepath.Join(dir, "bench."+name), in, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := exec.LookPath("bzip2"); err == nil {
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		streams["bzip2"] = out
	}
	for _, name := range []string{"raw", "gzip", "zstd", "xz", "bzip2"} {
		in, ok := streams[name]
		b.Run(name, func(b *testing.B) {
			if !ok {
				b.Skip("bzip2 tool not installed")
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportMetric(float64(len(in))/size, "ratio")
			for range b.N {
				src, err := OpenStream(bytes.NewReader(in))
				if err != nil {
					b.Fatal(err)
				}
				// Hide WriterTo so raw bytes are copied like decoded ones.
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{src.Reader}, buf)
				if err != nil || n != size {
					b.Fatalf("n=%d err=%v", n, err)
				}
				src.Close()
			}
		})
	}
}
