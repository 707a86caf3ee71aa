package api1

import (
	"bytes"
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
	u := c.base.JoinPath("drives", url.PathEscape(drive), "write", strconv.FormatInt(off, 10))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(),
		providers.ProgressReader(ctx, bytes.NewReader(body)))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(op, resp)
	}
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
	u := c.base.JoinPath("drives", url.PathEscape(drive), "read", strconv.FormatInt(off, 10), strconv.Itoa(len(dst)))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(op, resp)
	}
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
