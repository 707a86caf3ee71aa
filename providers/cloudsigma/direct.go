package cloudsigma

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/api2"
)

// directTransfers are API 2.0's transfers through the direct host (one-
// request uploads, downloads), whose host `GET /locations/` names. The
// lookup starts when the cloud is opened but nothing waits for it until a
// call needs the host: a chunked upload (which goes to the API host) and
// API 1.0 transfers never do, and a download asks it beside its drive
// lookup. A lookup that fails fails the call that needed it, which the
// transfer retries like any of its requests; each such call asks again.
type directTransfers struct {
	resolve func(ctx context.Context) (*api2.Client, error)
	early   chan struct{} // closed when the lookup started by lookAhead ended

	mu sync.Mutex // held across a lookup: callers need its answer anyway
	c  *api2.Client
}

var (
	_ providers.DirectUploader = (*directTransfers)(nil)
	_ providers.Downloader     = (*directTransfers)(nil)
)

// newDirectTransfers returns the direct transfers of resolve's host, whose
// lookup starts at once on ctx.
func newDirectTransfers(ctx context.Context, resolve func(ctx context.Context) (*api2.Client, error)) *directTransfers {
	d := &directTransfers{resolve: resolve, early: make(chan struct{})}
	go d.lookAhead(ctx)
	return d
}

// lookAhead looks the host up before anyone asks; a failure is left for
// the first call to meet again, under its transfer's retries.
func (d *directTransfers) lookAhead(ctx context.Context) {
	defer close(d.early)
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, err := d.resolve(ctx); err == nil {
		d.c = c
	}
}

// client returns the client of the resolved direct host, looking it up
// again when the early lookup failed.
func (d *directTransfers) client(ctx context.Context) (*api2.Client, error) {
	select {
	case <-d.early:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		return d.c, nil
	}
	c, err := d.resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("find the direct transfer host: %w", err)
	}
	d.c = c
	return c, nil
}

// UploadDirect implements providers.DirectUploader.
func (d *directTransfers) UploadDirect(ctx context.Context, name string, body io.Reader, size int64) (string, error) {
	c, err := d.client(ctx)
	if err != nil {
		return "", err
	}
	return c.UploadDirect(ctx, name, body, size)
}

// DownloadURL implements providers.Downloader.
func (d *directTransfers) DownloadURL(ctx context.Context, drive string) (string, error) {
	c, err := d.client(ctx)
	if err != nil {
		return "", err
	}
	return c.DownloadURL(ctx, drive)
}

// OpenRange implements providers.Downloader.
func (d *directTransfers) OpenRange(ctx context.Context, url string, off, length int64) (*providers.RangeReader, error) {
	c, err := d.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.OpenRange(ctx, url, off, length)
}
