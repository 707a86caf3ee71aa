package transfer

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// UploadDirect uploads size bytes of img in one request through up (API
// 2.0's direct upload) and returns the new drive's UUID. The body is
// streamed from img with the exact length, never held in memory; a failed
// attempt is repeated from the start under o's retry policy, the stall
// watchdog sees the body move, and o.Limiter paces it as it is read.
//
// o.Progress hears of bytes as the transport reads them from the image,
// never going backwards: after a failed attempt it stays put until the new
// attempt has passed the old one. A single request has no acknowledged
// part until it ends, and a bar frozen for the whole upload would help no
// one.
func UploadDirect(ctx context.Context, up providers.DirectUploader, name string, img io.ReaderAt, size int64, o Options) (string, Summary, error) {
	start := time.Now()
	var stats counters
	c := newCaller(&o, &stats)
	hw := &highWater{p: o.Progress}
	var id string
	err := c.do(ctx, "direct upload", -1, 0, func(ctx context.Context) error {
		body := &directBody{ctx: ctx, r: io.NewSectionReader(img, 0, size), c: c, stats: &stats, hw: hw}
		var err error
		id, err = up.UploadDirect(ctx, name, body, size)
		return err
	})
	sum := Summary{LogicalBytes: size, Chunks: 1}
	sum.finish(start, &stats)
	if err != nil {
		return "", sum, err
	}
	hw.reach(size)
	return id, sum, nil
}

// directBody is one attempt's request body: the image read in order,
// paced by the limiter, reporting progress to the stall watchdog and to the
// high-water mark.
type directBody struct {
	ctx   context.Context
	r     *io.SectionReader
	c     *caller
	stats *counters
	hw    *highWater
	off   int64
}

// Read implements io.Reader.
func (b *directBody) Read(p []byte) (int, error) {
	if err := b.c.wait(b.ctx, int64(len(p))); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	if n > 0 {
		b.off += int64(n)
		b.stats.wire.Add(int64(n))
		providers.ReportProgress(b.ctx)
		b.hw.reach(b.off)
	}
	return n, err
}

// highWater reports progress up to the furthest offset reached so far.
type highWater struct {
	mu   sync.Mutex
	p    Progress
	mark int64
}

func (h *highWater) reach(off int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.p != nil && off > h.mark {
		h.p.Add(off - h.mark)
	}
	h.mark = max(h.mark, off)
}
