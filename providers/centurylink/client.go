package centurylink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// Options configure a Client.
type Options struct {
	// Endpoint is the API's base URL, https://api.ctl.io by default.
	Endpoint           string
	Username, Password string
	// Account is the account alias; empty takes the one the login returns.
	Account string
	// Location is the data center; empty takes the login's.
	Location    string
	Version     string
	Concurrency int
	Trace       io.Writer
}

// Client talks to CenturyLink Cloud API v2. It logs in at its first
// request, once per run, and again once when the API refuses the bearer
// token later in the run (tokens expire); it never retries otherwise.
type Client struct {
	hc        *http.Client
	base      string // scheme://host[:port], no path
	user      string
	pass      string
	ua        string
	trace     io.Writer
	traceMu   sync.Mutex
	wantAlias string
	wantLoc   string
	parallel  int // requests a listing sends at once

	mu    sync.Mutex // guards the session
	token string
	alias string
	loc   string

	pendMu sync.Mutex
	// disksPending and snapsPending hold, by upper-case server name, the
	// operation of a disk change or snapshot this client started and has
	// not yet seen finish: the API shows neither in the server's details.
	disksPending map[string]string
	snapsPending map[string]string
}

// New checks o and returns a client; it sends no request. Errors match
// providers.ErrInvalid.
func New(o Options) (*Client, error) {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: endpoint %q is not an http(s) URL", providers.ErrInvalid, o.Endpoint)
	}
	if u.Scheme == "http" && !httpclient.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: endpoint %s: %v", providers.ErrInvalid, u.Host, httpclient.ErrInsecureAuth)
	}
	if o.Username == "" || o.Password == "" {
		return nil, fmt.Errorf("%w: no credentials", providers.ErrInvalid)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.Concurrency
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &Client{
		hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			// The bearer token must never travel to another host: a
			// redirect is answered to the caller as it is.
			return http.ErrUseLastResponse
		}},
		base: u.Scheme + "://" + u.Host, user: o.Username, pass: o.Password,
		ua: "drivecp/" + o.Version, trace: o.Trace,
		wantAlias: o.Account, wantLoc: o.Location, parallel: min(o.Concurrency, 4),
		disksPending: map[string]string{}, snapsPending: map[string]string{},
	}, nil
}

// Host names the endpoint (host[:port]) for messages.
func (c *Client) Host() string { u, _ := url.Parse(c.base); return u.Host }

// session logs in if no token is held and returns the token, the account
// alias and the data center.
func (c *Client) session(ctx context.Context) (token, alias, loc string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" {
		if err := c.login(ctx); err != nil {
			return "", "", "", err
		}
	}
	return c.token, c.alias, c.loc, nil
}

// relogin replaces stale, the token the API just refused, unless another
// request has replaced it already.
func (c *Client) relogin(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == stale {
		c.token = ""
		if err := c.login(ctx); err != nil {
			return "", err
		}
	}
	return c.token, nil
}

// login runs under c.mu.
func (c *Client) login(ctx context.Context) error {
	body, _ := json.Marshal(loginRequest{Username: c.user, Password: c.pass})
	resp, err := c.send(ctx, http.MethodPost, "/v2/authentication/login", body, "")
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		apiErr := readError("login", resp)
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			// The API answers a wrong username or password with 400.
			return &authError{apiErr}
		}
		return apiErr
	}
	var lr loginResponse
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil || lr.BearerToken == "" {
		return fmt.Errorf("login: the answer has no bearer token (is %s a CenturyLink API?)", c.Host())
	}
	c.token, c.alias, c.loc = lr.BearerToken, c.wantAlias, c.wantLoc
	if c.alias == "" {
		c.alias = lr.AccountAlias
	}
	if c.loc == "" {
		c.loc = lr.LocationAlias
	}
	return nil
}

// authError is a refused login: it matches providers.ErrAuth only, whatever
// status code the API chose for it.
type authError struct{ err *providers.APIError }

func (e *authError) Error() string        { return e.err.Error() }
func (e *authError) Is(target error) bool { return target == providers.ErrAuth }

// do sends one API request with the bearer token and decodes a 2xx answer
// into out (when not nil). A 401 logs in again once and repeats the
// request with the new token. Other failures are *providers.APIError.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("%s: %w", op, err)
		}
	}
	token, _, _, err := c.session(ctx)
	if err != nil {
		return 0, err
	}
	resp, err := c.send(ctx, method, path, body, token)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		drain(resp)
		if token, err = c.relogin(ctx, token); err != nil {
			return 0, err
		}
		if resp, err = c.send(ctx, method, path, body, token); err != nil {
			return 0, fmt.Errorf("%s: %w", op, err)
		}
	}
	defer drain(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, readError(op, resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: unreadable answer: %w", op, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, token string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if c.trace != nil {
		// The line names method, URL and status only: the token travels in
		// a header and the password in a body, neither of which is shown.
		status := "error: " + fmt.Sprint(err)
		if err == nil {
			status = resp.Status
		}
		c.traceMu.Lock()
		fmt.Fprintf(c.trace, "drivecp: http: %s %s -> %s (%s, request %d bytes)\n",
			method, httpclient.Redact(req.URL), status, time.Since(start).Round(time.Millisecond), len(body))
		c.traceMu.Unlock()
	}
	return resp, err
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
}

// readError turns a failed answer into an APIError carrying the API's
// message and, for invalid requests, what it said of each field.
func readError(op string, resp *http.Response) *providers.APIError {
	e := &providers.APIError{Op: op, Status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var b apiErrorBody
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if json.Unmarshal(raw, &b) == nil && b.Message != "" {
		e.Message = b.Message
		fields := make([]string, 0, len(b.ModelState))
		for f := range b.ModelState {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			e.Message += " " + strings.TrimPrefix(f, "body.") + ": " + strings.Join(b.ModelState[f], " ")
		}
	} else if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Message = "redirected to " + resp.Header.Get("Location") + "; not followed"
	}
	return e
}

// path builds an API path from the account-scoped prefix and escaped
// segments; it logs in first when needed, for the alias.
func (c *Client) path(ctx context.Context, prefix string, segs ...string) (string, error) {
	_, alias, _, err := c.session(ctx)
	if err != nil {
		return "", err
	}
	p := prefix + "/" + url.PathEscape(alias)
	for _, s := range segs {
		p += "/" + url.PathEscape(s)
	}
	return p, nil
}

// location returns the data center in use.
func (c *Client) location(ctx context.Context) (string, error) {
	_, _, loc, err := c.session(ctx)
	return loc, err
}

// opID returns the operation ID of a status link, or an error when the
// answer has none.
func opID(op string, l link) (string, error) {
	if l.ID != "" {
		return l.ID, nil
	}
	if i := strings.LastIndex(l.Href, "/status/"); i >= 0 {
		return l.Href[i+len("/status/"):], nil
	}
	return "", fmt.Errorf("%s: the answer names no operation", op)
}
