package providers

import (
	"context"
	"io"
)

// Providers that stream a body report the bytes as they move, so that a
// caller watching for stalls (the transfer engine's per-attempt watchdog)
// can tell a slow request from a dead one. The signal travels in the
// context: a provider calls ReportProgress or wraps its body with
// ProgressReader; without a watcher both cost nothing.

type progressKey struct{}

// WithProgressSignal returns a context under which ReportProgress calls fn.
func WithProgressSignal(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// ReportProgress tells whoever watches ctx that the request made progress.
func ReportProgress(ctx context.Context) {
	if fn, ok := ctx.Value(progressKey{}).(func()); ok {
		fn()
	}
}

// ProgressReader wraps r so that every read that returns bytes reports
// progress on ctx.
func ProgressReader(ctx context.Context, r io.Reader) io.Reader {
	if _, ok := ctx.Value(progressKey{}).(func()); !ok {
		return r
	}
	return &progressReader{ctx: ctx, r: r}
}

type progressReader struct {
	ctx context.Context
	r   io.Reader
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		ReportProgress(p.ctx)
	}
	return n, err
}
