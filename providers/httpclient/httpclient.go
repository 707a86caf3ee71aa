// Package httpclient builds the one HTTP client every provider shares:
// bounded timeouts, a keep-alive pool sized to the transfer concurrency, a
// User-Agent, credentials attached only to the API's own hosts (never to a
// redirect target elsewhere, never as Basic auth over plain HTTP to anything
// but loopback), and an optional trace with secrets redacted.
package httpclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrInsecureAuth is returned when a request would send credentials over
// plain HTTP to a host that is not a loopback address.
var ErrInsecureAuth = errors.New("refusing to send credentials over plain HTTP to a non-loopback host (use https)")

// Options configures New.
type Options struct {
	Version     string // for the User-Agent, drivecp/VERSION
	Username    string
	Password    string
	AuthHosts   []string // host[:port] values credentials may be sent to
	Concurrency int      // keep-alive connections per host (default 8)
	// ConnectTimeout bounds dialing; HeaderTimeout bounds the wait for
	// response headers once a request is written. Defaults 15 s and 60 s.
	ConnectTimeout time.Duration
	HeaderTimeout  time.Duration
	// Trace, when set, receives one line per request (method, URL without
	// query secrets, status, duration); the Authorization header never
	// appears in it.
	Trace io.Writer
}

// New returns a client that does not follow redirects: callers that expect
// one (downloads) follow it themselves so credentials never travel to the
// redirect target.
func New(o Options) *http.Client {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 60 * time.Second
	}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          o.Concurrency * 4,
		MaxIdleConnsPerHost:   o.Concurrency * 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// Bodies are gzip chunks or raw images: transparent decompression
		// would only hide what travelled on the wire.
		DisableCompression: true,
	}
	var rt http.RoundTripper = &authTransport{
		inner:     base,
		userAgent: "drivecp/" + o.Version,
		username:  o.Username,
		password:  o.Password,
		hosts:     normalizeHosts(o.AuthHosts),
	}
	if o.Trace != nil {
		rt = &traceTransport{inner: rt, w: o.Trace}
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func normalizeHosts(hosts []string) map[string]bool {
	m := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		m[strings.ToLower(h)] = true
	}
	return m
}

// authTransport adds the User-Agent everywhere and Basic auth only to
// requests for the configured hosts.
type authTransport struct {
	inner              http.RoundTripper
	userAgent          string
	username, password string
	hosts              map[string]bool
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	r.Header.Del("Authorization") // only this transport decides who gets credentials
	if t.username != "" && t.hosts[strings.ToLower(req.URL.Host)] {
		if req.URL.Scheme != "https" && !IsLoopback(req.URL.Hostname()) {
			closeBody(req)
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Host, ErrInsecureAuth)
		}
		r.SetBasicAuth(t.username, t.password)
	}
	return t.inner.RoundTrip(r)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// IsLoopback reports whether host (a name or an IP literal, without port)
// is a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// traceTransport writes one line per request; writes are serialised so
// parallel workers do not interleave lines.
type traceTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	w     io.Writer
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	status := "error: " + fmt.Sprint(err)
	if err == nil {
		status = resp.Status
	}
	t.mu.Lock()
	fmt.Fprintf(t.w, "drivecp: http: %s %s -> %s (%s, request %d bytes)\n",
		req.Method, Redact(req.URL), status, time.Since(start).Round(time.Millisecond), req.ContentLength)
	t.mu.Unlock()
	return resp, err
}

// Redact renders u without user info and with signature-like query values
// replaced, so traces and errors never show a secret.
func Redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			switch strings.ToLower(k) {
			case "sig", "signature", "token", "key", "expires", "x-amz-signature", "password":
				q.Set(k, "REDACTED")
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}
