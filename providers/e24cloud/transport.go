package e24cloud

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/drivecp/drivecp/providers/httpclient"
)

// newHTTPClient returns the client requests go through. The shared
// httpclient's transport removes every Authorization header it did not
// set itself (its credentials are Basic auth), which would strip the
// signature; so this cloud builds a small client of its own with the same
// rules: bounded timeouts, a pool sized to the concurrency, a User-Agent,
// no redirects followed (a signed request never reaches another host), and
// a --debug trace of method, URL, status and time only, never headers.
func newHTTPClient(version string, concurrency int, trace io.Writer) *http.Client {
	if concurrency <= 0 {
		concurrency = 8
	}
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	var rt http.RoundTripper = &uaTransport{ua: "drivecp/" + version, inner: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   concurrency * 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}}
	if trace != nil {
		rt = &traceTransport{inner: rt, w: trace}
	}
	return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

type uaTransport struct {
	ua    string
	inner http.RoundTripper
}

func (t *uaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.ua)
	return t.inner.RoundTrip(r)
}

type traceTransport struct {
	inner http.RoundTripper
	w     io.Writer
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	status := "error"
	if err == nil {
		status = resp.Status
	}
	fmt.Fprintf(t.w, "http: %s %s -> %s (%s)\n", req.Method, httpclient.Redact(req.URL), status,
		time.Since(start).Round(time.Millisecond))
	return resp, err
}
