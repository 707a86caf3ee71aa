package transfer

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/chunker"
)

// chunkDataLog records what OnChunkData saw, by piece index.
type chunkDataLog struct {
	mu   sync.Mutex
	seen map[int][]byte
}

func (l *chunkDataLog) hook(p chunker.Piece, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[p.Index] = bytes.Clone(data)
}

// TestOnChunkDataSeesEveryPieceReadOrFetched: an upload hands OnChunkData
// the bytes of every piece it read (zero chunks too, which it then skips),
// not the pieces done earlier or the holes it never reads; a download hands
// it the bytes of every piece it fetched.
func TestOnChunkDataSeesEveryPieceReadOrFetched(t *testing.T) {
	const size = 10<<20 + 123
	path, want := mixedImage(t, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pieces := chunker.Plan(size, 1<<20, false)
	pieces[3].Hole = true
	clear(want[pieces[3].Offset:pieces[3].End()])
	drive := newMemDrive(size)
	up := &chunkDataLog{seen: map[int][]byte{}}
	_, err = Upload(context.Background(), f, pieces, drive, Options{Concurrency: 3, SkipZero: true, Gzip: true,
		Done: DoneMap{5: chunker.Hash(want[pieces[5].Offset:pieces[5].End()])}, OnChunkData: up.hook})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces {
		got, ok := up.seen[p.Index]
		switch {
		case p.Index == 3 || p.Index == 5:
			if ok {
				t.Errorf("upload: OnChunkData saw piece %d (a hole / done earlier)", p.Index)
			}
		case !ok || !bytes.Equal(got, want[p.Offset:p.End()]):
			t.Errorf("upload: OnChunkData saw piece %d: %v, bytes equal %v", p.Index, ok, bytes.Equal(got, want[p.Offset:p.End()]))
		}
	}

	copy(drive.data, want)
	down := &chunkDataLog{seen: map[int][]byte{}}
	out := make([]byte, size)
	if _, err := Download(context.Background(), drive, pieces, sliceWriter(out), false, Options{Concurrency: 3, OnChunkData: down.hook}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces {
		if got := down.seen[p.Index]; !bytes.Equal(got, want[p.Offset:p.End()]) {
			t.Errorf("download: OnChunkData saw piece %d wrong (%d bytes)", p.Index, len(got))
		}
	}
}

// sliceWriter writes into a byte slice.
type sliceWriter []byte

func (w sliceWriter) WriteAt(p []byte, off int64) (int, error) { return copy(w[off:], p), nil }
