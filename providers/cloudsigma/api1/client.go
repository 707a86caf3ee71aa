// Package api1 is a client of CloudSigma's API 1.0: text/plain key-value
// bodies, drives written and read at byte offsets.
package api1

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// Client talks to one API 1.0 endpoint. It is safe for concurrent use. It
// never retries: see package providers for the error contract.
type Client struct {
	http *http.Client
	base *url.URL // ends in "/"
}

// New returns a client for the API at base (e.g. https://api.zrh.cloudsigma.com/).
// hc must attach credentials for base's host (see package httpclient).
func New(hc *http.Client, base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: API 1.0 endpoint %q is not an http(s) URL", providers.ErrInvalid, base)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &Client{http: hc, base: u}, nil
}

// BaseURL returns the endpoint the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// request is one API call.
type request struct {
	op     string // for errors: "create drive"
	method string
	path   string // relative to base, no leading slash
	body   []byte
	// data marks drive bytes (reads and writes): sent and asked for as
	// application/octet-stream, the body's progress reported on ctx.
	data bool
	gzip bool // the body is one gzip member (Content-Encoding: gzip)
}

// do sends r and returns the response when its status is 2xx; any other
// status becomes an *providers.APIError built from the `errors` lines.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	u := c.base.JoinPath(r.path)
	var body io.Reader = bytes.NewReader(r.body)
	if r.data {
		body = providers.ProgressReader(ctx, body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	// API 1.0 does not support chunked transfer encoding: always send a length.
	req.ContentLength = int64(len(r.body))
	if len(r.body) == 0 {
		// Else the transport takes a wrapped empty body for one of
		// unknown length and would send a POST chunked.
		req.Body = http.NoBody
	}
	if r.data {
		req.Header.Set("Content-Type", "application/octet-stream")
	} else {
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Accept", "text/plain")
	}
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(r.op, resp)
}

// doKV sends r and decodes a key-value body.
func (c *Client) doKV(ctx context.Context, r request) ([]wire.KV, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Read first, decode second: a connection that fails while the body
	// arrives (a reset, a truncated body) is a transport error a retry may
	// cure, not an answer in the wrong language.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKVBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", r.op, err)
	}
	if len(body) > maxKVBody {
		return nil, fmt.Errorf("%s: %w: the answer is over %d bytes", r.op, providers.ErrNotCloudSigma, maxKVBody)
	}
	objs, err := wire.DecodeKVList(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", r.op, providers.ErrNotCloudSigma, err)
	}
	return objs, nil
}

// maxKVBody bounds a key-value answer: the list of every drive of an
// account with thousands of them is a few MiB.
const maxKVBody = 64 << 20

func decodeError(op string, resp *http.Response) error {
	e := &providers.APIError{Op: op, Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if objs, err := wire.DecodeKVList(bytes.NewReader(body)); err == nil {
		var msgs []string
		for _, o := range objs {
			for _, p := range o {
				key, field, _ := strings.Cut(p.Key, ":")
				if key == wire.V1ErrorKey {
					if e.Point == "" {
						e.Point = field
					}
					msgs = append(msgs, p.Value)
				}
			}
		}
		e.Message = strings.Join(msgs, "; ")
	}
	if e.Message == "" && resp.StatusCode != http.StatusUnauthorized {
		e.Message = firstLine(string(body))
	}
	return e
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
