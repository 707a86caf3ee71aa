//go:build linux

package transfer

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// sparseImage is 16 one-MiB chunks, each holding one random 64 KiB block
// and zeros elsewhere: the free space of a file system image inside chunks
// that also hold files.
func sparseImage() []byte {
	const chunk = 1 << 20
	data := make([]byte, 16*chunk)
	r := rand.New(rand.NewPCG(5, 6))
	for c := 0; c < 16; c++ {
		at := c*chunk + (c%16)*holeBlock
		for i := at; i < at+holeBlock; i++ {
			data[i] = byte(r.Uint32())
		}
	}
	return data
}

// allocated is the bytes the file system holds for path.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

func TestDownloadLeavesZeroBlocksInsideChunksAsHoles(t *testing.T) {
	want := sparseImage()
	size := int64(len(want))
	own := int64(16 * holeBlock)
	for _, tc := range []struct {
		name     string
		download func(src *RangedSource, out string) error
	}{
		{"parallel", func(src *RangedSource, out string) error {
			_, err := DownloadFile(context.Background(), src, size, out, FileOptions{ChunkSize: 1 << 20}, Options{Concurrency: 4})
			return err
		}},
		{"stream", func(src *RangedSource, out string) error {
			_, err := StreamFile(context.Background(), src, size, out, FileOptions{ChunkSize: 1 << 20}, Options{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if err := tc.download(NewRangedSource(newFakeV2(want), "d"), out); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(out)
			if !bytes.Equal(got, want) {
				t.Fatal("download differs")
			}
			// Every chunk holds data, so only holes inside chunks can keep
			// the file near its own 1 MiB; allow a block of slack per chunk.
			if a := allocated(t, out); a > 2*own {
				t.Errorf("%d bytes allocated for %d bytes of data in a %d-byte image", a, own, size)
			}
		})
	}
}

func TestWriteDataOverwritesWhereTargetMayHoldBytes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "part")
	stale := bytes.Repeat([]byte{0xaa}, 4*holeBlock)
	if err := os.WriteFile(out, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 4*holeBlock)
	data[holeBlock] = 1 // blocks 0, 2 and 3 are zero
	if err := writeData(f, data, 0, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, data) {
		t.Error("stale bytes survive where the chunk holds zeros")
	}
}
