package e24cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// Client speaks e24cloud's API v2 for one account. It implements the drive
// (storage volume), drive editor (resize), image (disk image), server and
// server deletion services. It never retries: the caller's wrappers do.
type Client struct {
	hc     *http.Client
	base   *url.URL
	key    string
	secret string
	now    func() time.Time
}

// NewClient returns a client of the API at base (for example
// https://eu-poland-1poznan.api.e24cloud.com) that signs requests with
// key and secret. hc must not follow redirects (httpclient.New's does not).
func NewClient(hc *http.Client, base, key, secret string) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: endpoint %q is not an http(s) URL", providers.ErrInvalid, base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/v2")
	return &Client{hc: hc, base: u, key: key, secret: secret, now: time.Now}, nil
}

// errorBody is the answer of a refused request. The seed documents only
// successes; drivecp assumes the same envelope with success false and an
// "error" object holding a code and a message (see the package doc).
type errorBody struct {
	Success bool `json:"success"`
	Error   struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends one signed request to path (below /v2) and decodes a 2xx
// answer's JSON into out (when not nil).
func (c *Client) do(ctx context.Context, op, method, path string, in, out any) error {
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + "/v2" + path
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	date := c.now().UTC().Format(http.TimeFormat)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(DateHeader, date)
	req.Header.Set("Authorization", c.key+":"+Signature(c.secret, method, req.URL.Host, date, req.URL.EscapedPath(), body))
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var eb errorBody
		_ = json.Unmarshal(raw, &eb)
		msg := eb.Error.Message
		if c.secret != "" {
			msg = strings.ReplaceAll(msg, c.secret, "REDACTED")
		}
		return &providers.APIError{Op: op, Status: resp.StatusCode, Message: msg}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: the API's answer is not the JSON expected: %w", op, err)
		}
	}
	return nil
}

// flexID is an identifier the API sends as a string in one place and as
// a number in another (the seed's create answer has "id": $vm_id
// unquoted, its lists "id": "$vm_id").
type flexID string

// UnmarshalJSON accepts a JSON string or number.
func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id %s is neither a string nor a number", b)
	}
	*f = flexID(n.String())
	return nil
}

// escape makes an ID safe as one path segment.
func escape(id string) string { return url.PathEscape(id) }
