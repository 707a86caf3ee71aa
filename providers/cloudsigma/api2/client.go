// Package api2 is a client of CloudSigma's API 2.0: JSON resources (drives,
// snapshots, library drives, jobs) and the direct transfer endpoints.
package api2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// Client talks to one API 2.0 endpoint. It is safe for concurrent use. It
// never retries: see package providers for the error contract.
type Client struct {
	http   *http.Client
	base   *url.URL // .../api/2.0/
	direct *url.URL // direct transfer host, .../api/2.0/
}

// New returns a client for the API at base (e.g.
// https://zrh.cloudsigma.com/api/2.0/) whose direct transfers go to direct
// (e.g. https://direct.zrh.cloudsigma.com/api/2.0/; empty: same as base).
// hc must attach credentials for both hosts (see package httpclient).
func New(hc *http.Client, base, direct string) (*Client, error) {
	b, err := parseBase(base)
	if err != nil {
		return nil, err
	}
	d := b
	if direct != "" {
		if d, err = parseBase(direct); err != nil {
			return nil, err
		}
	}
	return &Client{http: hc, base: b, direct: d}, nil
}

func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: API 2.0 endpoint %q is not an http(s) URL", providers.ErrInvalid, s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// BaseURL returns the API endpoint the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// DirectURL returns the direct transfer endpoint.
func (c *Client) DirectURL() string { return c.direct.String() }

// SetDirectURL replaces the direct transfer endpoint, e.g. with the
// upload_url that GET /locations/ reports.
func (c *Client) SetDirectURL(direct string) error {
	d, err := parseBase(direct)
	if err != nil {
		return err
	}
	c.direct = d
	return nil
}

// request is one API call. path is relative to the base (or the direct
// host) and keeps its trailing slash, which the API requires.
type request struct {
	op     string
	method string
	path   string
	query  url.Values
	body   any // marshalled as JSON when not nil
	direct bool
}

// do sends r and returns the response when its status is 2xx; any other
// status becomes an *providers.APIError from the JSON error list.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	base := c.base
	if r.direct {
		base = c.direct
	}
	u := *base
	u.Path = base.Path + strings.TrimPrefix(r.path, "/")
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	var length int64
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.op, err)
		}
		body, length = bytes.NewReader(b), int64(len(b))
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	req.ContentLength = length
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(r.op, req)
}

// send performs req and turns a non-2xx answer into an error.
func (c *Client) send(op string, req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(op, resp)
}

// doJSON sends r and decodes the JSON answer into out (when not nil).
func (c *Client) doJSON(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %w: %v", r.op, providers.ErrNotCloudSigma, err)
		}
		// The connection failed while the body arrived (a reset, a
		// truncated body): a transport error, which a retry may cure.
		return fmt.Errorf("%s: reading the answer: %w", r.op, err)
	}
	return nil
}

func decodeError(op string, resp *http.Response) error {
	e := &providers.APIError{Op: op, Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var list wire.ErrorList
	if err := json.Unmarshal(body, &list); err == nil && len(list) > 0 {
		e.Type = list[0].ErrorType
		if list[0].ErrorPoint != nil {
			e.Point = *list[0].ErrorPoint
		}
		msgs := make([]string, 0, len(list))
		for _, it := range list {
			msgs = append(msgs, it.ErrorMessage)
		}
		e.Message = strings.Join(msgs, "; ")
		return e
	}
	if resp.StatusCode != http.StatusUnauthorized {
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

// GetDrive returns one drive.
func (c *Client) GetDrive(ctx context.Context, uuid string) (providers.Drive, error) {
	// An empty UUID would ask for drives//, which is not one drive.
	if err := checkID("get drive", uuid); err != nil {
		return providers.Drive{}, err
	}
	var d wire.Drive
	err := c.doJSON(ctx, request{op: "get drive " + uuid, method: http.MethodGet,
		path: "drives/" + url.PathEscape(uuid) + "/"}, &d)
	if err != nil {
		return providers.Drive{}, err
	}
	return DriveFromWire(d), nil
}

// DriveFromWire converts an API 2.0 drive into the neutral type, keeping the
// API object for --json output.
func DriveFromWire(d wire.Drive) providers.Drive {
	out := providers.Drive{
		UUID: d.UUID, Name: d.Name, Size: d.Size, Status: d.Status, State: wire.DriveState(d.Status), Media: d.Media,
		StorageType: d.StorageType, Meta: d.Meta, Raw: d,
	}
	for _, t := range d.Tags {
		out.Tags = append(out.Tags, t.UUID)
	}
	for _, j := range d.Jobs {
		out.Jobs = append(out.Jobs, j.UUID)
	}
	return out
}
