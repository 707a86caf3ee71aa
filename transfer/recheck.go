package transfer

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/drivecp/drivecp/chunker"
)

// Recheck reads back from r every piece of pieces that done holds and
// hashes it, and returns the indexes (ascending) of those whose bytes no
// longer hash as done recorded, or that r no longer holds in full, with
// the number of pieces it checked. A resumed transfer calls it before
// trusting an earlier run's chunks: their source (an upload's image, a
// download's FILE.part) may have changed since, with nothing else to show
// it, and reading is far cheaper than sending. A piece the plan marks as a
// hole is not read: the kernel found no data there, so it holds zeros and
// is compared with the hash of zeros. done is asked from the calling
// goroutine only; up to concurrency pieces are read at once.
func Recheck(ctx context.Context, r io.ReaderAt, pieces []chunker.Piece, done DoneSet, concurrency int) (changed []int, checked int, err error) {
	if done == nil {
		return nil, 0, nil
	}
	reader := chunker.NewReader(r)
	// todo and want are filled here and only read by the workers.
	var (
		todo []chunker.Piece
		want []uint64
		mu   sync.Mutex
	)
	for _, p := range pieces {
		h, ok := done.IsDone(p.Index)
		switch {
		case !ok:
			continue
		case p.Hole:
			if h != reader.ZeroHash(p.Length) {
				changed = append(changed, p.Index)
			}
		default:
			todo = append(todo, p)
			want = append(want, h)
		}
		checked++
	}
	err = runPool(ctx, newFixedGate(max(concurrency, 1)), maxLen(todo), todo, nil, func(ctx context.Context, p chunker.Piece, buf []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// todo is in plan order, so by index.
		i := sort.Search(len(todo), func(i int) bool { return todo[i].Index >= p.Index })
		c, err := reader.ReadChunk(p, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		if err != nil || c.Hash != want[i] {
			mu.Lock()
			changed = append(changed, p.Index)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, checked, err
	}
	slices.Sort(changed)
	return changed, checked, nil
}

// redo is a DoneSet without the chunks of again: those an earlier run
// completed but that must travel once more.
type redo struct {
	done  DoneSet
	again map[int]bool
}

func (d redo) IsDone(index int) (uint64, bool) {
	if d.again[index] {
		return 0, false
	}
	return d.done.IsDone(index)
}

// recheckDone runs Recheck over o.Done when o.RecheckDone is set, tells
// o.OnDoneChanged what changed, and returns the chunks to send again (nil
// when none), having taken them out of o.Done.
func recheckDone(ctx context.Context, img io.ReaderAt, pieces []chunker.Piece, o *Options) (map[int]bool, error) {
	if !o.RecheckDone || o.Done == nil {
		return nil, nil
	}
	changed, checked, err := Recheck(ctx, img, pieces, o.Done, o.concurrency())
	if err != nil || len(changed) == 0 {
		return nil, err
	}
	if o.OnDoneChanged != nil {
		if err := o.OnDoneChanged(changed, checked); err != nil {
			return nil, err
		}
	}
	again := make(map[int]bool, len(changed))
	for _, i := range changed {
		again[i] = true
	}
	o.Done = redo{o.Done, again}
	return again, nil
}
