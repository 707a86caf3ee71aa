package transfer

import (
	"context"

	"github.com/drivecp/drivecp/chunker"
)

// Readier is implemented by a sink whose destination may not exist yet.
// Upload reads and hashes pieces before Ready returns, and sends,
// acknowledges or settles none before it returns nil; an error from it
// ends the upload with that error. The wait is outside the retry and
// stall wrappers: it is neither a retry nor a stall.
type Readier interface {
	Ready(ctx context.Context) error
}

// waitReady waits until s is ready, at once for a sink that is not a
// Readier.
func waitReady(ctx context.Context, s Sink) error {
	if r, ok := s.(Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

// PendingSink is the Sink of an upload that starts while its destination
// is still being looked up or created: those requests take round trips in
// which the engine reads and hashes the first pieces, instead of starting
// only once they are over. Resolve or Fail it exactly once; until then
// Ready (and so every Put) waits.
type PendingSink struct {
	done chan struct{}
	sink Sink
	err  error
}

var (
	_ Sink          = (*PendingSink)(nil)
	_ StoredChecker = (*PendingSink)(nil)
	_ Readier       = (*PendingSink)(nil)
)

// NewPendingSink returns a sink that waits for Resolve or Fail.
func NewPendingSink() *PendingSink { return &PendingSink{done: make(chan struct{})} }

// Resolve makes sink the destination; the pieces waiting go to it.
func (s *PendingSink) Resolve(sink Sink) {
	s.sink = sink
	close(s.done)
}

// Fail ends the wait with err: the upload fails with it.
func (s *PendingSink) Fail(err error) {
	s.err = err
	close(s.done)
}

// Ready waits until the sink is resolved, failed, or ctx is done.
func (s *PendingSink) Ready(ctx context.Context) error {
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Put sends the piece to the resolved sink, once there is one.
func (s *PendingSink) Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error {
	if err := s.Ready(ctx); err != nil {
		return err
	}
	return s.sink.Put(ctx, p, body, gzipped)
}

// Stored asks the resolved sink whether it holds the piece; a sink that
// cannot tell holds nothing.
func (s *PendingSink) Stored(ctx context.Context, p chunker.Piece) (bool, error) {
	if err := s.Ready(ctx); err != nil {
		return false, err
	}
	sc, ok := s.sink.(StoredChecker)
	if !ok {
		return false, nil
	}
	return sc.Stored(ctx, p)
}
