package transfer

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/drivecp/drivecp/chunker"
)

// runPool calls fn for every piece with at most n running at once, each
// with its own buffer of bufSize bytes from a pool. Like rclone's multipart
// upload it takes the token and the buffer before starting the goroutine,
// so memory stays at n buffers whatever the number of pieces, and it stops
// starting work at the first failure, returning that failure.
func runPool(ctx context.Context, n int, bufSize int64, pieces []chunker.Piece, fn func(ctx context.Context, p chunker.Piece, buf []byte) error) error {
	g, gctx := errgroup.WithContext(ctx)
	sem := semaphore.NewWeighted(int64(n))
	bufs := chunker.NewBufferPool(int(bufSize))
	for _, p := range pieces {
		if err := sem.Acquire(gctx, 1); err != nil {
			break // gctx is done: a worker failed or the caller cancelled
		}
		buf := bufs.Get()
		g.Go(func() error {
			defer sem.Release(1)
			defer bufs.Put(buf)
			return fn(gctx, p, buf[:p.Length])
		})
	}
	err := g.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return err
}

// progressMux serialises Progress calls from the workers.
type progressMux struct {
	mu sync.Mutex
	p  Progress
}

func (m *progressMux) add(n int64) {
	if m.p == nil || n == 0 {
		return
	}
	m.mu.Lock()
	m.p.Add(n)
	m.mu.Unlock()
}

// maxLen returns the longest piece of a plan.
func maxLen(pieces []chunker.Piece) int64 {
	var m int64
	for _, p := range pieces {
		m = max(m, p.Length)
	}
	return m
}

// splitDone returns the pieces still to transfer and the bytes of those an
// earlier run finished (done), which count as progress at once. It sets
// sum's LogicalBytes and ChunksSkipped for the whole plan.
func splitDone(pieces []chunker.Piece, done map[int]uint64, sum *Summary) (todo []chunker.Piece, already int64) {
	todo = make([]chunker.Piece, 0, len(pieces))
	for _, p := range pieces {
		sum.LogicalBytes += p.Length
		if _, ok := done[p.Index]; ok {
			sum.ChunksSkipped++
			already += p.Length
			continue
		}
		todo = append(todo, p)
	}
	return todo, already
}
