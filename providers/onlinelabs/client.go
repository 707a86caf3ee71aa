package onlinelabs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// Client speaks the Online Labs compute API for one organization. It
// implements the drive (volume), drive editor, snapshot, image, job
// (task), server, server power and attach services. It never retries:
// the caller's wrappers do.
type Client struct {
	hc    *http.Client
	base  *url.URL
	token string
	org   string
}

// NewClient returns a client of the API at base (scheme and host, no
// path needed) that authenticates with token and creates objects in
// organization org. hc must not follow redirects (httpclient.New's does
// not), so the token never travels to another host.
func NewClient(hc *http.Client, base, token, org string) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: endpoint %q is not an http(s) URL", providers.ErrInvalid, base)
	}
	return &Client{hc: hc, base: u, token: token, org: org}, nil
}

// perPage is the page size lists ask for: the largest the API serves.
const perPage = 100

// do sends one request and decodes a 2xx answer's JSON into out (when not
// nil). Other answers become *providers.APIError carrying the API's type
// and message, with every field the API blamed.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, in, out any) (http.Header, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(op, resp, raw)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s: the API's answer is not the JSON expected: %w", op, err)
		}
	}
	return resp.Header, nil
}

// apiError turns an error answer into a *providers.APIError. The API's
// body is {"type", "message", "fields"}; a body that is not (a proxy's
// HTML page) leaves the status to speak. A message that quotes the token
// (the real API's 401 does) has it replaced.
func (c *Client) apiError(op string, resp *http.Response, raw []byte) error {
	var body struct {
		Type    string              `json:"type"`
		Message string              `json:"message"`
		Fields  map[string][]string `json:"fields"`
	}
	_ = json.Unmarshal(raw, &body)
	e := &providers.APIError{Op: op, Status: resp.StatusCode, Type: body.Type, Message: body.Message}
	if len(body.Fields) > 0 {
		var parts, names []string
		for _, k := range slices.Sorted(maps.Keys(body.Fields)) {
			names = append(names, k)
			parts = append(parts, k+": "+strings.Join(body.Fields[k], ", "))
		}
		e.Point = strings.Join(names, ", ")
		e.Message = strings.Join(parts, "; ")
	}
	if c.token != "" {
		e.Message = strings.ReplaceAll(e.Message, c.token, "REDACTED")
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}

// listAll fetches every page of a list whose objects are under key, and
// returns each object as the API sent it. It follows the Link header's
// rel="next" where the API sends one; without it, it asks for the next
// page until a short page or X-Total-Count says the list is complete.
func (c *Client) listAll(ctx context.Context, op, path, key string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	q := url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {"1"}}
	for pageNum := 1; ; pageNum++ {
		var body map[string]json.RawMessage
		h, err := c.do(ctx, op, http.MethodGet, path, q, nil, &body)
		if err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if raw, ok := body[key]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("%s: %q is not a list: %w", op, key, err)
			}
		}
		all = append(all, items...)
		if next, ok := nextLink(h.Get("Link")); ok {
			nu, err := url.Parse(next)
			if err != nil {
				return nil, fmt.Errorf("%s: bad Link header: %w", op, err)
			}
			// Only the query of the next link is used: the path stays the
			// list's and the host the API's, so the token goes nowhere else.
			q = nu.Query()
			if q.Get("page") == "" || len(items) == 0 {
				return all, nil
			}
			continue
		}
		total, terr := strconv.Atoi(h.Get("X-Total-Count"))
		if len(items) < perPage || (terr == nil && len(all) >= total) || h.Get("Link") != "" {
			return all, nil
		}
		q.Set("page", strconv.Itoa(pageNum+1))
	}
}

var linkNext = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?next"?`)

// nextLink returns the rel="next" target of an RFC 8288 Link header.
func nextLink(h string) (string, bool) {
	for _, part := range strings.Split(h, ",") {
		if m := linkNext.FindStringSubmatch(strings.TrimSpace(part)); m != nil {
			return m[1], true
		}
	}
	return "", false
}

// escape makes an ID safe as one path segment.
func escape(id string) string { return url.PathEscape(id) }
