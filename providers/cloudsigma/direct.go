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
// lookup happens on first use: a chunked upload (which goes to the API
// host) and API 1.0 transfers never need it, and an upload's first chunk
// no longer waits a round trip for it. A lookup that fails fails the call
// that needed it, which the transfer retries like any of its requests; the
// next call asks again.
type directTransfers struct {
	resolve func(ctx context.Context) (*api2.Client, error)

	mu sync.Mutex // held across the lookup: callers need its answer anyway
	c  *api2.Client
}

var (
	_ providers.DirectUploader = (*directTransfers)(nil)
	_ providers.Downloader     = (*directTransfers)(nil)
)

// client returns the client of the resolved direct host, looking it up on
// the first call.
func (d *directTransfers) client(ctx context.Context) (*api2.Client, error) {
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
