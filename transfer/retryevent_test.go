package transfer

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/chunker"
)

// TestOnRetryNamesTheChunk: every retried request reaches OnRetry with
// the offset of its chunk, the attempt and the error, once per retry the
// summary counts.
func TestOnRetryNamesTheChunk(t *testing.T) {
	const size = 12 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		if p.Index == 5 && call == 1 {
			return errBusy
		}
		return nil
	}
	var (
		mu     sync.Mutex
		events []RetryEvent
	)
	sum, err := Upload(context.Background(), f, ps, d, Options{Concurrency: 3, Retry: fastRetry,
		OnRetry: func(e RetryEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || sum.Retries != 1 {
		t.Fatalf("%d retry events, summary counts %d; want 1 each", len(events), sum.Retries)
	}
	e := events[0]
	if e.Offset != ps[5].Offset || e.Attempt != 2 || !errors.Is(e.Err, errBusy) || e.What == "" {
		t.Errorf("retry event %+v, want chunk 5 at offset %d, attempt 2", e, ps[5].Offset)
	}
}

// settleCounter is a Settler that counts both kinds of bytes.
type settleCounter struct{ added, settled int64 }

func (s *settleCounter) Add(n int64)     { s.added += n }
func (s *settleCounter) Settled(n int64) { s.settled += n }

// TestSettledBytesAreNotAdded: an upload to a fresh drive reports the
// chunks an earlier run did and the zero chunks it skips as settled, and
// only what it sent as added, so a rate shown from Add is the link's.
func TestSettledBytesAreNotAdded(t *testing.T) {
	const size = 12 * testChunk
	path, want := mixedImage(t, size)
	f, ps := plan(t, path, size)
	var sent, zeros int64
	for _, p := range ps[1:] {
		if chunker.IsZero(want[p.Offset:p.End()]) {
			zeros += p.Length
		} else {
			sent += p.Length
		}
	}
	prog := &settleCounter{}
	_, err := Upload(context.Background(), f, ps, newMemDrive(size), Options{SkipZero: true, Progress: prog,
		Done: DoneMap{0: chunker.Hash(want[:ps[0].Length])}})
	if err != nil {
		t.Fatal(err)
	}
	if prog.added != sent || prog.settled != zeros+ps[0].Length {
		t.Errorf("added %d settled %d; want %d sent and %d settled", prog.added, prog.settled, sent, zeros+ps[0].Length)
	}
}
