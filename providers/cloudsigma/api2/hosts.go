package api2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// Redirect and host policy of API 2.0's transfers: which host is the direct
// transfer host, which hosts may receive credentials, and how a redirect is
// followed without handing them to a storage host.

// ResolveDirect points the client's direct transfers at the upload_url that
// `GET /locations/` reports for the client's own location: the entry whose
// api_endpoint has the API's host, or the only entry. An upload_url that is
// just a host gets the /api/2.0/ path. When the listing is not there (404),
// or names no matching location or no upload_url, the current direct URL is
// kept. Call it before the client is shared between goroutines. The shared
// HTTP client must be allowed to send credentials to the resulting host.
func (c *Client) ResolveDirect(ctx context.Context) error {
	const op = "list locations"
	locs, err := listAll[wire.Location](ctx, c, op, "locations/", nil)
	if err != nil {
		if errors.Is(err, providers.ErrNotFound) {
			return nil
		}
		return err
	}
	var pick *wire.Location
	for i := range locs {
		if xferEndpointHost(locs[i].APIEndpoint, c.base.Scheme) == xferCanonicalHost(c.base) {
			pick = &locs[i]
			break
		}
	}
	if pick == nil && len(locs) == 1 {
		pick = &locs[0]
	}
	if pick == nil || strings.TrimSpace(pick.UploadURL) == "" {
		return nil
	}
	direct, err := xferNormaliseDirect(pick.UploadURL, c.base.Scheme)
	if err != nil {
		return fmt.Errorf("%s: %w: upload_url %q: %v", op, providers.ErrNotCloudSigma, pick.UploadURL, err)
	}
	if err := c.SetDirectURL(direct); err != nil {
		return fmt.Errorf("%s: %w: upload_url %q: %v", op, providers.ErrNotCloudSigma, pick.UploadURL, err)
	}
	return nil
}

// xferNormaliseDirect turns an upload_url ("direct.zrh.cloudsigma.com",
// "https://direct.zrh.cloudsigma.com/", or a full API URL) into the direct
// API base, defaulting the scheme to the API's.
func xferNormaliseDirect(s, scheme string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", errors.New("not an http(s) URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api/2.0/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// xferEndpointHost returns the canonical host of an api_endpoint, which may
// be a URL or a bare host.
func xferEndpointHost(s, scheme string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return xferCanonicalHost(u)
}

// xferCanonicalHost lower-cases u's host and drops the scheme's default
// port, so "Host:443" and "host" compare equal over https.
func xferCanonicalHost(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}

// xferIsAPIHost reports whether u is on the API's or the direct endpoint's
// host: there a refusal is an authentication answer, elsewhere (a storage
// host with a signed URL) it means the URL expired.
func (c *Client) xferIsAPIHost(u *url.URL) bool {
	h := xferCanonicalHost(u)
	return h == xferCanonicalHost(c.base) || h == xferCanonicalHost(c.direct)
}

// xferURL returns base + path, path keeping its trailing slash.
func (c *Client) xferURL(base *url.URL, path string) string {
	u := *base
	u.Path = base.Path + strings.TrimPrefix(path, "/")
	u.RawQuery = ""
	return u.String()
}

// xferGet sends one GET without following redirects (the shared client
// never does). The caller owns the response body.
func (c *Client) xferGet(ctx context.Context, u *url.URL, rangeHdr string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, xferTransportError(err)
	}
	return resp, nil
}

// xferSend performs req and turns a non-2xx answer into an *APIError, like
// send, with transport errors passed through xferTransportError.
func (c *Client) xferSend(op string, req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, xferTransportError(err))
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(op, resp)
}

// xferIsRedirect reports whether status is a redirect with a Location.
func xferIsRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// xferLocation resolves a redirect's Location against the request URL and
// closes the response.
func xferLocation(op string, resp *http.Response) (*url.URL, error) {
	xferDiscard(resp.Body)
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%s: %w: %s without a Location", op, providers.ErrNotCloudSigma, resp.Status)
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: unreadable Location: %v", op, providers.ErrNotCloudSigma, err)
	}
	next := resp.Request.URL.ResolveReference(ref)
	next.Fragment, next.RawFragment = "", ""
	if next.Scheme != "http" && next.Scheme != "https" {
		return nil, fmt.Errorf("%s: %w: redirect to a %q URL", op, providers.ErrNotCloudSigma, next.Scheme)
	}
	return next, nil
}

// xferTransportError keeps a transport failure classifiable (a *url.Error
// is a net.Error, which providers.IsRetryable counts as retryable) but
// removes the URL's query from its text: a signed URL's signature must not
// end up in messages. A refusal to send credentials over plain HTTP is a
// configuration error, not a network one: repeating it cannot succeed.
func xferTransportError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if errors.Is(ue.Err, httpclient.ErrInsecureAuth) {
		return fmt.Errorf("%w: %w", providers.ErrInvalid, ue.Err)
	}
	if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
		u.RawQuery = ""
		ue.URL = u.String() + "?…"
	}
	return err
}

// xferDiscard reads what is left of a small body and closes it.
func xferDiscard(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, xferDrainLimit)
	_ = body.Close()
}
