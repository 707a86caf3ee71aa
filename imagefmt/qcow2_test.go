package imagefmt

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const fixtures = "../testdata/qcow2"

// fixtureSums reads SHA256SUMS: image name -> SHA-256 of its raw content.
func fixtureSums(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

// mapExtents returns the merged data ranges qemu-img map reported.
func mapExtents(t testing.TB, name string) []Extent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, strings.TrimSuffix(name, ".qcow2")+".map.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m []struct {
		Start, Length int64
		Data          bool
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := []Extent{}
	for _, e := range m {
		if !e.Data {
			continue
		}
		if k := len(out); k > 0 && out[k-1].Off+out[k-1].Len == e.Start {
			out[k-1].Len += e.Length
			continue
		}
		out = append(out, Extent{e.Start, e.Length})
	}
	return out
}

// rawContent is the raw content of the plain fixtures.
func rawContent(t testing.TB) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, "content.raw.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openFixture(t testing.TB, name string) *Source {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(f)
	if err != nil {
		f.Close()
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestQcow2Fixtures(t *testing.T) {
	sums := fixtureSums(t)
	if len(sums) < 6 {
		t.Fatalf("only %d fixtures listed", len(sums))
	}
	for name, want := range sums {
		t.Run(name, func(t *testing.T) {
			src := openFixture(t, name)
			if src.Format != Qcow2 || src.Size != 768<<10 || src.Reader != nil {
				t.Fatalf("format %q size %d reader %v", src.Format, src.Size, src.Reader)
			}
			got := make([]byte, src.Size)
			// Odd-sized reads cross cluster boundaries.
			for off := int64(0); off < src.Size; off += 12345 {
				end := min(off+12345, src.Size)
				n, err := src.ReaderAt.ReadAt(got[off:end], off)
				if n != int(end-off) || (err != nil && err != io.EOF) {
					t.Fatalf("ReadAt(%d): n=%d err=%v", off, n, err)
				}
			}
			sum := sha256.Sum256(got)
			if hex.EncodeToString(sum[:]) != want {
				t.Fatalf("raw content SHA-256 %x, want %s", sum, want)
			}
			if wantExt := mapExtents(t, name); !slices.Equal(src.Extents, wantExt) {
				t.Fatalf("extents %v, qemu-img map says %v", src.Extents, wantExt)
			}
			// Outside the extents everything is zero: skipping is safe.
			pos := int64(0)
			for _, e := range append(slices.Clone(src.Extents), Extent{src.Size, 0}) {
				if bytes.ContainsFunc(got[pos:e.Off], func(r rune) bool { return r != 0 }) {
					t.Fatalf("non-zero bytes in [%d,%d) outside the extents", pos, e.Off)
				}
				pos = e.Off + e.Len
			}
			if n, err := src.ReaderAt.ReadAt(make([]byte, 10), src.Size); n != 0 || err != io.EOF {
				t.Fatalf("read at the end: n=%d err=%v", n, err)
			}
			if n, err := src.ReaderAt.ReadAt(make([]byte, 10), src.Size-4); n != 4 || err != io.EOF {
				t.Fatalf("read across the end: n=%d err=%v", n, err)
			}
		})
	}
}

func TestQcow2PlainMatchesRaw(t *testing.T) {
	raw := rawContent(t)
	src := openFixture(t, "compressed.qcow2")
	got := make([]byte, len(raw))
	if _, err := src.ReaderAt.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) {
		t.Fatal("compressed qcow2 differs from the raw content")
	}
}

// The upload pipeline reads chunks in parallel; run with -race.
func TestQcow2ConcurrentReadAt(t *testing.T) {
	raw := rawContent(t)
	src := openFixture(t, "compressed.qcow2")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 20000+g*1000)
			for off := int64(g * 777); off < int64(len(raw)); off += int64(len(buf)) {
				n, err := src.ReaderAt.ReadAt(buf, off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(buf[:n], raw[off:off+int64(n)]) {
					errs <- errors.New("concurrent read returned wrong bytes")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allocDuring returns the bytes allocated while f ran.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// openBytes opens an image held in memory, as the fuzz test does.
func openBytes(b []byte) (*Source, error) {
	return openQcow2(bytes.NewReader(b), int64(len(b)), "", nil)
}

func TestQcow2CraftedHeaders(t *testing.T) {
	plain := readFixture(t, "plain-v3.qcow2")
	be := binary.BigEndian
	l1Off := be.Uint64(plain[40:])
	l2Off := be.Uint64(plain[l1Off:]) & 0x00fffffffffffe00
	patch := func(f func(b []byte) []byte) []byte { return f(slices.Clone(plain)) }
	cases := []struct {
		name  string
		image []byte
		want  error
		text  string
	}{
		{"L1 table claiming 32 GiB", patch(func(b []byte) []byte {
			be.PutUint32(b[36:], 0xffffffff)
			return b
		}), ErrInvalid, "exceeds the limit"},
		{"L1 table past the end of the file", patch(func(b []byte) []byte {
			be.PutUint32(b[36:], MaxL1Entries)
			return b
		}), ErrInvalid, "outside"},
		{"L2 table past the end of the file", patch(func(b []byte) []byte {
			be.PutUint64(b[l1Off:], 1<<63|1<<40)
			return b
		}), ErrInvalid, "L2 table at"},
		{"L2 entry past the end of the file", patch(func(b []byte) []byte {
			be.PutUint64(b[l2Off:], 1<<63|1<<40)
			return b
		}), ErrInvalid, "data cluster at"},
		{"compressed L2 entry past the end of the file", patch(func(b []byte) []byte {
			be.PutUint64(b[l2Off:], 1<<62|1<<40)
			return b
		}), ErrInvalid, "compressed cluster"},
		{"L2 table shared by two L1 entries", patch(func(b []byte) []byte {
			be.PutUint64(b[24:], 1<<30)
			be.PutUint32(b[36:], 2)
			copy(b[l1Off+8:], b[l1Off:l1Off+8])
			return b
		}), ErrInvalid, "used twice"},
		{"cluster bits 8", patch(func(b []byte) []byte { be.PutUint32(b[20:], 8); return b }), ErrInvalid, "cluster bits"},
		{"cluster bits 22", patch(func(b []byte) []byte { be.PutUint32(b[20:], 22); return b }), ErrInvalid, "cluster bits"},
		{"cluster bits 63", patch(func(b []byte) []byte { be.PutUint32(b[20:], 63); return b }), ErrInvalid, "cluster bits"},
		{"1 KiB file claiming an exabyte", patch(func(b []byte) []byte {
			b = b[:1024]
			be.PutUint64(b[24:], 1<<60)
			return b
		}), ErrInvalid, "L1 entries"},
		{"1 KiB file claiming an exabyte with 2 MiB clusters", patch(func(b []byte) []byte {
			b = b[:1024]
			be.PutUint32(b[20:], 21)
			be.PutUint64(b[24:], 1<<60)
			be.PutUint32(b[36:], 1<<21)
			return b
		}), ErrInvalid, "outside"},
		{"L1 table too small for the size", patch(func(b []byte) []byte {
			be.PutUint64(b[24:], 1<<40)
			return b
		}), ErrInvalid, "cannot cover"},
		{"truncated header", plain[:50], ErrInvalid, "truncated"},
		{"version 4", patch(func(b []byte) []byte { be.PutUint32(b[4:], 4); return b }), ErrInvalid, "version"},
		{"header extensions without end", patch(func(b []byte) []byte {
			for i := 112; i < 65536; i += 8 {
				be.PutUint32(b[i:], 0x12345678)
				be.PutUint32(b[i+4:], 0)
			}
			return b
		}), ErrInvalid, "first cluster"},
		{"AES encryption", patch(func(b []byte) []byte { be.PutUint32(b[32:], 1); return b }), ErrUnsupported, "encrypted"},
		{"LUKS encryption", patch(func(b []byte) []byte { be.PutUint32(b[32:], 2); return b }), ErrUnsupported, "encrypted"},
		{"external data file", patch(func(b []byte) []byte { b[79] |= 4; return b }), ErrUnsupported, "external data file"},
		{"extended L2", patch(func(b []byte) []byte { b[79] |= 16; return b }), ErrUnsupported, "extended L2"},
		{"marked corrupt", patch(func(b []byte) []byte { b[79] |= 2; return b }), ErrInvalid, "corrupt"},
		{"zstd clusters", patch(func(b []byte) []byte { b[79] |= 8; b[104] = 1; return b }), ErrUnsupported, "zstd"},
		{"backing file from memory", patch(func(b []byte) []byte {
			copy(b[512:], "base.qcow2")
			be.PutUint64(b[8:], 512)
			be.PutUint32(b[16:], 10)
			return b
		}), ErrUnsupported, "relative backing file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			alloc := allocDuring(func() { _, err = openBytes(c.image) })
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %v, want %v containing %q", err, c.want, c.text)
			}
			if alloc > 4<<20 {
				t.Fatalf("allocated %d bytes before refusing", alloc)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestQcow2BackingLoop(t *testing.T) {
	overlay := readFixture(t, "overlay.qcow2")
	// overlay.qcow2 names "base.qcow2" as its backing file.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.qcow2"), overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	// Two files that name each other: base.qcow2 -> loopb.qcow -> base.qcow2.
	dir2 := t.TempDir()
	i := bytes.Index(overlay, []byte("base.qcow2"))
	a := slices.Clone(overlay)
	copy(a[i:], "loopb.qcow")
	for name, b := range map[string][]byte{"base.qcow2": a, "loopb.qcow": overlay} {
		if err := os.WriteFile(filepath.Join(dir2, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{filepath.Join(dir, "base.qcow2"), filepath.Join(dir2, "base.qcow2")} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(f)
		f.Close()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "loops") {
			t.Fatalf("%s: error %v, want a loop", path, err)
		}
	}
}

func TestQcow2MissingBacking(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "overlay.qcow2")
	if err := os.WriteFile(path, readFixture(t, "overlay.qcow2"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Open(f); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "base.qcow2") {
		t.Fatalf("error %v, want the missing backing file named", err)
	}
}

// FuzzQcow2Open asserts that no image, however crafted, panics the qcow2
// path or makes it allocate more than the file can justify. Run it with
//
//	go test -run '^$' -fuzz FuzzQcow2Open -fuzzminimizetime 10x ./imagefmt/
//
// (without the minimize limit the fuzzer stalls minimising new inputs).
func FuzzQcow2Open(f *testing.F) {
	// Small seeds keep the fuzzer fast: synthetic images with 512 B and
	// 1 KiB clusters, one with zero, unallocated and compressed entries.
	data := benchData(8 << 10)
	f.Add(synthQcow2(data, 9))
	f.Add(synthQcow2(data, 10))
	mixed := synthQcow2(data, 9)
	l2 := binary.BigEndian.Uint64(mixed[512:]) &^ (1 << 63)
	binary.BigEndian.PutUint64(mixed[l2+8:], 1)                             // zero cluster
	binary.BigEndian.PutUint64(mixed[l2+16:], 0)                            // unallocated
	binary.BigEndian.PutUint64(mixed[l2+24:], 1<<62|uint64(len(mixed)-512)) // compressed
	f.Add(mixed)
	f.Add([]byte("QFI\xfb\x00\x00\x00\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var src *Source
		var err error
		alloc := allocDuring(func() {
			src, err = openBytes(b)
			if err != nil {
				return
			}
			defer src.Close()
			buf := make([]byte, 64<<10)
			for _, off := range []int64{0, src.Size / 2, src.Size - 1} {
				_, _ = src.ReaderAt.ReadAt(buf, max(off, 0))
			}
		})
		// Metadata is bounded by the file (L1 table, one L2 table buffer,
		// the extent list) plus the library's cache of 16 clusters of at
		// most 2 MiB.
		if limit := uint64(16*len(b)) + 40<<20; alloc > limit {
			t.Fatalf("allocated %d bytes for a %d-byte image (size %v, err %v)", alloc, len(b), src, err)
		}
	})
}
