package transfer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drivecp/drivecp/chunker"
)

// discard accepts every chunk: the benchmarks measure the engine, not a
// network.
type discard struct{}

func (discard) Put(context.Context, chunker.Piece, []byte, bool) error { return nil }

func benchUpload(b *testing.B, gzip bool, workers int) {
	const size = 64 << 20
	path, _ := mixedImage(b, size)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ps, err := chunker.PlanFile(f, size, chunker.DefaultChunkSize, false)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if _, err := Upload(context.Background(), f, ps, discard{}, Options{Concurrency: workers, Gzip: gzip}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadGzip is read+zero check+hash+gzip through the pool.
func BenchmarkUploadGzip(b *testing.B) { benchUpload(b, true, 8) }

// BenchmarkUploadGzip1 is the same with one worker.
func BenchmarkUploadGzip1(b *testing.B) { benchUpload(b, true, 1) }

// BenchmarkUploadRaw is read+zero check+hash through the pool (API 2.0).
func BenchmarkUploadRaw(b *testing.B) { benchUpload(b, false, 8) }

// BenchmarkDownloadFile is the pool writing a mixed drive into FILE.part.
func BenchmarkDownloadFile(b *testing.B) {
	const size = 64 << 20
	_, data := mixedImage(b, size)
	d := newMemDrive(size)
	copy(d.data, data)
	out := filepath.Join(b.TempDir(), "out")
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if _, err := DownloadFile(context.Background(), d, size, out, FileOptions{Force: true}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
