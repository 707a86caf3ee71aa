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
