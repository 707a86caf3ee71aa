package transfer

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/drivecp/drivecp/chunker"
)

type countSink struct{ puts atomic.Int64 }

func (s *countSink) Put(context.Context, chunker.Piece, []byte, bool) error {
	s.puts.Add(1)
	return nil
}

// TestUploadSettlesHolesWithoutWorkers: on a sparse image with SkipZero,
// holes go to OnChunkZero from the dispatch loop (no request, no
// OnChunkDone), data chunks are sent, and progress covers the whole image.
func TestUploadSettlesHolesWithoutWorkers(t *testing.T) {
	const chunk, n = 64 << 10, 4096
	p := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(chunk * n); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("data"), chunk*100+5); err != nil {
		t.Fatal(err)
	}
	pieces, err := chunker.PlanFile(f, chunk*n, chunk, false)
	if err != nil {
		t.Fatal(err)
	}
	holes := 0
	for _, pc := range pieces {
		if pc.Hole {
			holes++
		}
	}
	if holes < n/2 {
		t.Skipf("file system reports %d holes of %d chunks", holes, n)
	}
	var zeros, dones, acked atomic.Int64
	sink := &countSink{}
	zh := chunker.ZeroHash(chunk)
	sum, err := Upload(context.Background(), f, pieces, sink, Options{
		SkipZero:    true,
		OnChunkDone: func(i int, h uint64) { dones.Add(1) },
		OnChunkZero: func(i int, h uint64) {
			if h != zh {
				t.Errorf("chunk %d: zero hash %x, want %x", i, h, zh)
			}
			zeros.Add(1)
		},
		Progress: ProgressFunc(func(b int64) { acked.Add(b) }),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sink.puts.Load() != 1 || dones.Load() != 1 || zeros.Load() != n-1 {
		t.Fatalf("puts %d, done %d, zero %d; want 1, 1, %d", sink.puts.Load(), dones.Load(), zeros.Load(), n-1)
	}
	if acked.Load() != chunk*n || sum.ZeroBytesSkipped != chunk*(n-1) {
		t.Fatalf("progress %d, zero bytes %d", acked.Load(), sum.ZeroBytesSkipped)
	}
}
