package transfer

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/chunker"
)

// runPool calls fn for every piece that pre does not settle, with at most
// as many running at once as g lets in, each with its own buffer of
// bufSize bytes from a pool.
// Like rclone's multipart upload it takes the token and the buffer before
// starting the goroutine, so memory stays at n buffers whatever the number
// of pieces, and it stops starting work at the first failure, returning
// that failure. pre runs on the calling goroutine, in plan order, with the
// pool's context (done once a worker failed); a piece
// it settles (done earlier, a hole with nothing to send) costs no token,
// buffer or goroutine, which keeps a mostly empty 10 TiB plan cheap.
func runPool(ctx context.Context, gt gate, bufSize int64, pieces []chunker.Piece, pre func(ctx context.Context, p chunker.Piece) bool, fn func(ctx context.Context, p chunker.Piece, buf []byte) error) error {
	g, gctx := errgroup.WithContext(ctx)
	bufs := chunker.NewBufferPool(int(bufSize))
	for i, p := range pieces {
		if pre != nil && pre(gctx, p) {
			if i%4096 == 0 && gctx.Err() != nil {
				break
			}
			continue
		}
		if err := gt.acquire(gctx); err != nil {
			break // gctx is done: a worker failed or the caller cancelled
		}
		buf := bufs.Get()
		goWithSlot(g, gctx, gt, p, func() { bufs.Put(buf) }, func(ctx context.Context) error {
			return fn(ctx, p, buf[:p.Length])
		})
	}
	return waitPool(ctx, g)
}

// goWithSlot runs work for piece p on g with the gate token the caller
// just acquired: work's context carries the slot, which counts p's bytes
// as moved when work succeeds; release (returning the piece's buffer) runs
// before the token goes back.
func goWithSlot(g *errgroup.Group, gctx context.Context, gt gate, p chunker.Piece, release func(), work func(ctx context.Context) error) {
	s := &slot{g: gt, held: true}
	g.Go(func() error {
		var moved int64
		defer func() { s.done(moved) }()
		defer release()
		err := work(withSlot(gctx, s))
		if err == nil {
			moved = p.Length
		}
		return err
	})
}

// waitPool waits for the pool's workers and returns the first failure, or
// the caller's cancellation when the pool stopped early because of it.
func waitPool(ctx context.Context, g *errgroup.Group) error {
	err := g.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return err
}

// runPoolAhead is runPool for work in two steps, reading a piece and then
// sending it: the next piece is read while the pieces that hold the gate's
// tokens are in flight, so the token freed by a finished request goes to a
// piece whose bytes are ready and the link does not wait for the disk. Only
// that one piece is read ahead (the dispatcher starts its read, then waits
// for a token), so memory is one buffer more than runPool's. send runs
// with the piece's token, read without one; a failed read fails the pool.
func runPoolAhead[T any](ctx context.Context, gt gate, bufSize int64, pieces []chunker.Piece,
	pre func(ctx context.Context, p chunker.Piece) bool,
	read func(ctx context.Context, p chunker.Piece, buf []byte) (T, error),
	send func(ctx context.Context, p chunker.Piece, v T) error) error {
	type readResult struct {
		v   T
		err error
	}
	g, gctx := errgroup.WithContext(ctx)
	bufs := chunker.NewBufferPool(int(bufSize))
	for i, p := range pieces {
		if pre != nil && pre(gctx, p) {
			if i%4096 == 0 && gctx.Err() != nil {
				break
			}
			continue
		}
		if gctx.Err() != nil {
			break // a worker failed: read nothing more
		}
		buf := bufs.Get()
		readDone := make(chan readResult, 1)
		go func() {
			v, err := read(gctx, p, buf[:p.Length])
			readDone <- readResult{v, err}
		}()
		if err := gt.acquire(gctx); err != nil {
			<-readDone // the buffer is the reader's until it returns
			bufs.Put(buf)
			break // gctx is done: a worker failed or the caller cancelled
		}
		goWithSlot(g, gctx, gt, p, func() { bufs.Put(buf) }, func(ctx context.Context) error {
			r := <-readDone
			if r.err != nil {
				return r.err
			}
			return send(ctx, p, r.v)
		})
	}
	return waitPool(ctx, g)
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

// settle reports bytes settled without moving (see Settler): to Settled
// where the Progress has it, else to Add.
func (m *progressMux) settle(n int64) {
	s, ok := m.p.(Settler)
	if !ok {
		m.add(n)
		return
	}
	if n == 0 {
		return
	}
	m.mu.Lock()
	s.Settled(n)
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

// countDone sets sum's LogicalBytes and ChunksSkipped for the whole plan
// and returns the bytes of the pieces an earlier run finished (done), which
// count as progress at once.
func countDone(pieces []chunker.Piece, done DoneSet, sum *Summary) (already int64) {
	for _, p := range pieces {
		sum.LogicalBytes += p.Length
		if isDone(done, p.Index) {
			sum.ChunksSkipped++
			already += p.Length
		}
	}
	return already
}
