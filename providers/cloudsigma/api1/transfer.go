package api1

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 1.0's offset I/O to the transfer engine.
var (
	_ providers.OffsetWriter = (*Client)(nil)
	_ providers.OffsetReader = (*Client)(nil)
)

// WriteAt posts body to drives/UUID/write/OFFSET with an exact
// Content-Length (API 1.0 refuses chunked transfer encoding). The body
// reports its progress on ctx as it is sent, so a stall watchdog sees a slow
// upload is alive.
func (c *Client) WriteAt(ctx context.Context, drive string, off int64, body []byte, gzipped bool) error {
	op := fmt.Sprintf("write drive %s at %d", drive, off)
	if off < 0 {
		return fmt.Errorf("%s: %w: negative offset", op, providers.ErrInvalid)
	}
	resp, err := c.do(ctx, request{op: op, method: http.MethodPost, body: body, data: true, gzip: gzipped,
		path: "drives/" + url.PathEscape(drive) + "/write/" + strconv.FormatInt(off, 10)})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// ReadAt fills dst from drives/UUID/read/OFFSET/SIZE. A short body is
// io.ErrUnexpectedEOF, so the caller's retry policy repeats it.
func (c *Client) ReadAt(ctx context.Context, drive string, off int64, dst []byte) error {
	op := fmt.Sprintf("read drive %s at %d", drive, off)
	if len(dst) > wire.V1MaxRead || off < 0 {
		return fmt.Errorf("%s: %w: %d bytes at %d is not a read API 1.0 allows (at most %d bytes)",
			op, providers.ErrInvalid, len(dst), off, wire.V1MaxRead)
	}
	resp, err := c.do(ctx, request{op: op, method: http.MethodGet, data: true,
		path: "drives/" + url.PathEscape(drive) + "/read/" + strconv.FormatInt(off, 10) + "/" + strconv.Itoa(len(dst))})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.ReadFull(providers.ProgressReader(ctx, resp.Body), dst)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%s: %w after %d of %d bytes", op, err, n, len(dst))
	}
	return nil
}

// MaxReadSize is the largest read API 1.0 allows in one request.
func (c *Client) MaxReadSize() int64 { return wire.V1MaxRead }
