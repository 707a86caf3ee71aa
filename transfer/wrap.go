package transfer

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/retry"
)

// RetryPolicy governs retries of one request: the one retry loop of
// drivecp, providers/retry. Its Logger and OnRetry are set per transfer
// from Options.
type RetryPolicy = retry.Policy

// counters are the statistics the wrappers and the pool share.
type counters struct {
	wire    atomic.Int64
	retries atomic.Int64
	zeros   atomic.Int64 // bytes of zero chunks not sent or not written
	skipped atomic.Int64 // chunks skipped during the run (the server had them)
}

// caller runs provider requests with the bandwidth limit, the stall timeout
// and retries: the single place the wrappers are assembled.
type caller struct {
	retry   RetryPolicy
	stall   time.Duration
	limiter *rate.Limiter
	logger  *log.Logger
	onRetry func(RetryEvent)
	budget  Budget
	stats   *counters
}

// RetryEvent is one repeated request of a transfer, for Options.OnRetry.
type RetryEvent struct {
	retry.Retry
	// Offset is the image offset of the chunk the request carries, -1 for
	// a request that carries none.
	Offset int64
}

func newCaller(o *Options, stats *counters) *caller {
	return &caller{retry: o.Retry.WithDefaults(), stall: o.StallTimeout, limiter: o.Limiter, logger: o.Logger,
		onRetry: o.OnRetry, budget: o.Budget, stats: stats}
}

// do runs fn until it succeeds, fails with an error that is not retryable,
// or runs out of attempts or time. wire is the bytes one attempt moves: it
// is paced by the limiter before each attempt and counted as wire bytes;
// offset is where in the image they are (-1: nowhere), for OnRetry.
func (c *caller) do(ctx context.Context, what string, offset, wire int64, fn func(ctx context.Context) error) error {
	p := c.retry
	p.Logger = c.logger
	p.OnRetry = func(r retry.Retry) {
		c.stats.retries.Add(1)
		if c.onRetry != nil {
			c.onRetry(RetryEvent{Retry: r, Offset: offset})
		}
	}
	attempts := 0
	return p.Do(ctx, what, func(ctx context.Context) error {
		if attempts++; attempts > 1 {
			// A retry queues for room again under an adaptive gate.
			if err := rejoin(ctx); err != nil {
				return err
			}
		}
		if err := c.wait(ctx, wire); err != nil {
			return err
		}
		err := c.attempt(ctx, fn)
		c.stats.wire.Add(wire)
		return err
	})
}

// wait takes n bytes from the limiter in bursts it can grant.
func (c *caller) wait(ctx context.Context, n int64) error {
	if c.limiter == nil || c.limiter.Limit() == rate.Inf {
		return nil
	}
	burst := int64(c.limiter.Burst())
	for n > 0 {
		k := min(n, burst)
		if err := c.limiter.WaitN(ctx, int(k)); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
		n -= k
	}
	return nil
}

// attempt runs fn once under the stall watchdog: when nothing calls
// KeepAlive on fn's context for the stall timeout, fn's context is cancelled
// and the attempt fails with providers.ErrStalled. A sink or source that
// does not report progress (providers.ReportProgress, ProgressReader) gets the stall
// timeout as a bound on its whole request.
func (c *caller) attempt(ctx context.Context, fn func(ctx context.Context) error) error {
	if c.budget != nil {
		if err := c.budget.Acquire(ctx, 1); err != nil {
			return context.Cause(ctx)
		}
		defer c.budget.Release(1)
	}
	if c.stall <= 0 {
		return fn(ctx)
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(c.stall, func() { cancel(providers.ErrStalled) })
	defer timer.Stop()
	err := fn(providers.WithProgressSignal(actx, func() { timer.Reset(c.stall) }))
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), providers.ErrStalled) {
		return fmt.Errorf("%w: no progress for %s", providers.ErrStalled, c.stall)
	}
	return err
}

// wrappedSink is a Sink behind the caller.
type wrappedSink struct {
	s Sink
	c *caller
}

func (w wrappedSink) Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error {
	return w.c.do(ctx, fmt.Sprintf("chunk %d at offset %d", p.Index, p.Offset), p.Offset, int64(len(body)), func(ctx context.Context) error {
		return w.s.Put(ctx, p, body, gzipped)
	})
}

func (w wrappedSink) Stored(ctx context.Context, p chunker.Piece) (bool, error) {
	sc, ok := w.s.(StoredChecker)
	if !ok {
		return false, nil
	}
	var stored bool
	err := w.c.do(ctx, fmt.Sprintf("check of chunk %d", p.Index), p.Offset, 0, func(ctx context.Context) error {
		var err error
		stored, err = sc.Stored(ctx, p)
		return err
	})
	return stored, err
}

// wrappedSource is a Source behind the caller.
type wrappedSource struct {
	s Source
	c *caller
}

func (w wrappedSource) ReadPiece(ctx context.Context, p chunker.Piece, dst []byte) error {
	return w.c.do(ctx, fmt.Sprintf("read of %d bytes at offset %d", p.Length, p.Offset), p.Offset, p.Length, func(ctx context.Context) error {
		return w.s.ReadPiece(ctx, p, dst)
	})
}

func (w wrappedSource) MaxPiece() int64 { return w.s.MaxPiece() }

// wrapSink puts s behind retries, the stall watchdog, the bandwidth limit
// and logging as o configures them, counting into stats. Upload, Download
// and Verify reach the provider only through these wrappers.
func wrapSink(s Sink, o *Options, stats *counters) wrappedSink {
	return wrappedSink{s: s, c: newCaller(o, stats)}
}

func wrapSource(s Source, o *Options, stats *counters) wrappedSource {
	return wrappedSource{s: s, c: newCaller(o, stats)}
}

// Do runs fn with the retry, stall and logging policy of o: for one-off
// requests outside the pool (creating the drive, API 2.0's direct upload
// retried from the start). wire is the bytes one attempt moves, paced by
// o.Limiter.
func Do(ctx context.Context, o Options, what string, wire int64, fn func(ctx context.Context) error) error {
	return newCaller(&o, &counters{}).do(ctx, what, -1, wire, fn)
}
