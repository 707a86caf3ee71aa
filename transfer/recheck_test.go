package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drivecp/drivecp/chunker"
)

// hashesOf returns the DoneMap of every piece of ps as data holds it.
func hashesOf(data []byte, ps []chunker.Piece) DoneMap {
	m := DoneMap{}
	for _, p := range ps {
		m[p.Index] = chunker.Hash(data[p.Offset:p.End()])
	}
	return m
}

func TestRecheckFindsChangedChunks(t *testing.T) {
	const size = 8 * testChunk
	// Chunks 0-5 written, 6 and 7 a hole at the end of the file.
	data := make([]byte, size)
	for i := range 6 * testChunk {
		data[i] = byte(i*7 + 1)
	}
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, data[:6*testChunk], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	f, ps := plan(t, path, size)
	done := hashesOf(data, ps)
	delete(done, 5)                       // not done: not checked
	done[2] ^= 1                          // recorded other bytes
	done[4] = chunker.ZeroHash(testChunk) // settled as zeros, holds data now
	done[7] = chunker.Hash([]byte("x"))   // the hole once held data
	changed, checked, err := Recheck(context.Background(), f, ps, done, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []int{2, 4, 7}) || checked != 7 {
		t.Errorf("changed %v of %d checked, want [2 4 7] of 7", changed, checked)
	}

	// A file shorter than the plan: the missing chunk changed.
	if err := os.Truncate(path, 7*testChunk); err != nil {
		t.Fatal(err)
	}
	changed, _, err = Recheck(context.Background(), f, chunker.Plan(size, testChunk, false), hashesOf(data, ps), 2)
	if err != nil || !slices.Equal(changed, []int{7}) {
		t.Errorf("truncated file: changed %v, %v; want [7]", changed, err)
	}
}

// TestUploadRechecksDoneChunks: with RecheckDone, a done chunk whose bytes
// changed is sent again, even when it is zeros now and SkipZero would
// skip it (the drive holds the old bytes there), and the others are not.
func TestUploadRechecksDoneChunks(t *testing.T) {
	const size = 8 * testChunk
	path, data := mixedImage(t, size)
	f, ps := plan(t, path, size)
	done := hashesOf(data, ps)
	done[0] ^= 1                                    // chunk 0 held other data
	done[2] = chunker.Hash([]byte("once had data")) // chunk 2 is zeros now
	d := newMemDrive(size)
	var heard []int
	o := Options{Gzip: true, SkipZero: true, Done: done, RecheckDone: true,
		OnDoneChanged: func(changed []int, checked int) error {
			heard = changed
			if checked != len(ps) {
				t.Errorf("checked %d, want %d", checked, len(ps))
			}
			return nil
		}}
	sum, err := Upload(context.Background(), f, ps, d, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(heard, []int{0, 2}) {
		t.Errorf("OnDoneChanged heard %v, want [0 2]", heard)
	}
	for _, p := range ps {
		want := 0
		if p.Index == 0 || p.Index == 2 {
			want = 1
		}
		if d.puts[p.Index] != want {
			t.Errorf("chunk %d sent %d times, want %d", p.Index, d.puts[p.Index], want)
		}
	}
	if sum.ChunksSkipped != len(ps)-2 {
		t.Errorf("%d chunks counted as done, want %d", sum.ChunksSkipped, len(ps)-2)
	}

	// A protocol that cannot replace a chunk refuses before sending any.
	refuse := errors.New("cannot replace")
	d = newMemDrive(size)
	o.OnDoneChanged = func([]int, int) error { return refuse }
	if _, err := Upload(context.Background(), f, ps, d, o); !errors.Is(err, refuse) || len(d.puts) != 0 {
		t.Errorf("refused recheck: %v, puts %v; want the hook's error and nothing sent", err, d.puts)
	}
}
