package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/internal/qcow2write"
)

// TestWriteInput converts a realistic image (holes, text, random data; a
// size that ends mid-cluster) to every input and reads each back through
// imagefmt, as `drivecp upload` does: the same content, detected as the
// format it was written as, with the size recorded where the format
// records it.
func TestWriteInput(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "image.raw")
	const size = 1<<20 + 4096 + 512 // whole sectors, as qemu-img compare wants
	if _, err := WriteImage(context.Background(), raw, ImageSpec{Size: size, Mix: realistic(t), Seed: 5}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		input  string
		format imagefmt.Format
		size   int64 // what the file records; -1 nothing
	}{
		{InputQcow2, imagefmt.Qcow2, size},
		{InputGzip, imagefmt.Gzip, -1},
		{InputXz, imagefmt.Xz, size},
		{InputZstd, imagefmt.Zstd, size},
		{InputBzip2, imagefmt.Bzip2, -1},
	} {
		t.Run(tc.input, func(t *testing.T) {
			path := inputPath(dir, tc.input)
			err := WriteInput(context.Background(), raw, path, tc.input)
			if errors.Is(err, ErrNoWriter) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			src, err := imagefmt.Open(f)
			if err != nil {
				f.Close()
				t.Fatal(err)
			}
			defer src.Close()
			if src.Format != tc.format || src.Size != tc.size {
				t.Errorf("format %s, size %d; want %s, %d", src.Format, src.Size, tc.format, tc.size)
			}
			var got []byte
			if src.ReaderAt != nil {
				got = make([]byte, size)
				if _, err := src.ReaderAt.ReadAt(got, 0); err != nil && !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
			} else if got, err = io.ReadAll(src.Reader); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s reads back %d bytes that differ from the image's %d", tc.input, len(got), len(want))
			}
			if tc.input != InputQcow2 {
				return
			}
			// Only the clusters that hold data are allocated.
			var mapped, nonzero int64
			for _, e := range src.Extents {
				mapped += e.Len
			}
			for off := int64(0); off < size; off += qcow2write.ClusterSize {
				if !bytes.Equal(want[off:min(off+qcow2write.ClusterSize, size)], make([]byte, min(qcow2write.ClusterSize, size-off))) {
					nonzero += min(qcow2write.ClusterSize, size-off)
				}
			}
			if src.Extents == nil || mapped != nonzero || nonzero == size {
				t.Errorf("qcow2 maps %d bytes (extents %v), the image has %d of %d in clusters with data", mapped, src.Extents, nonzero, int64(size))
			}
			if qemu, err := exec.LookPath("qemu-img"); err == nil {
				out, err := exec.Command(qemu, "check", path).CombinedOutput()
				if err != nil {
					t.Errorf("qemu-img check: %v\n%s", err, out)
				}
				out, err = exec.Command(qemu, "compare", "-f", "raw", "-F", "qcow2", raw, path).CombinedOutput()
				if err != nil {
					t.Errorf("qemu-img compare: %v\n%s", err, out)
				}
			}
		})
	}
}

func TestWriteInputCancelled(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "image.raw")
	if _, err := WriteImage(context.Background(), raw, ImageSpec{Size: 1 << 20, Mix: realistic(t), Seed: 5}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, input := range []string{InputQcow2, InputGzip, InputXz, InputZstd} {
		path := inputPath(dir, input)
		if err := WriteInput(ctx, raw, path, input); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", input, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a cancelled conversion left %s", input, path)
		}
	}
}
