package api2

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/providers"
)

// MaxRedirects is how many redirects one download request follows before
// giving up with ErrRedirectLoop.
const MaxRedirects = 10

// ErrRedirectLoop is returned when a download keeps redirecting. It matches
// providers.ErrNotCloudSigma: the endpoint does not behave like the API, and
// repeating the request will not help.
var ErrRedirectLoop = fmt.Errorf("redirect loop (more than %d redirects): %w", MaxRedirects, providers.ErrNotCloudSigma)

// xferDrainLimit is how much of an unwanted body (a redirect's, a probe's)
// is read before closing it, so a short one leaves the connection reusable
// and a long one is cut off.
const xferDrainLimit = 64 << 10

// DownloadURL asks the API where to download drive from (`GET
// {direct}/drives/{uuid}/download/`). Redirects within the API's own hosts
// are followed; the first target elsewhere (the storage host's signed URL)
// is returned without being requested. If the API serves the image itself,
// the download URL is returned: the shared client attaches credentials to it
// because it is an API host. Only a byte of the image is asked for, so
// probing an endpoint that answers with the image costs nothing.
func (c *Client) DownloadURL(ctx context.Context, drive string) (string, error) {
	op := "download drive " + drive
	if err := checkID(op, drive); err != nil {
		return "", err
	}
	u, err := url.Parse(c.xferURL(c.direct, "drives/"+drive+"/download/"))
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	for redirects := 0; ; redirects++ {
		resp, err := c.xferGet(ctx, u, "bytes=0-0")
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		if resp.StatusCode/100 == 2 {
			xferDiscard(resp.Body)
			return u.String(), nil
		}
		if !xferIsRedirect(resp.StatusCode) {
			err := decodeError(op, resp)
			resp.Body.Close()
			return "", err
		}
		next, err := xferLocation(op, resp)
		if err != nil {
			return "", err
		}
		if !c.xferIsAPIHost(next) {
			return next.String(), nil
		}
		if redirects >= MaxRedirects {
			return "", fmt.Errorf("%s: %w", op, ErrRedirectLoop)
		}
		u = next
	}
}

// OpenRange requests length bytes at off (length < 0: to the end) from a
// transfer URL, following redirects (credentials go only where the shared
// client allows: the API's hosts).
//
//   - 206: Content-Range must start at off and not extend past the request;
//     Offset, Length and Total come from it.
//   - 200: the server ignored the range (or none was asked): Offset is 0 and
//     Length and Total are the Content-Length (-1 when unknown).
//   - 401, 403 or 410 from a host that is not the API's: the signed URL
//     expired or was refused; the error matches providers.ErrExpired (and
//     the APIError's own kinds). Ask DownloadURL for a fresh one.
//   - 416 matches providers.ErrInvalid.
//
// Name is the file name of Content-Disposition, unsanitised: pass it through
// safename.FileName before using it.
func (c *Client) OpenRange(ctx context.Context, rawURL string, off, length int64) (*providers.RangeReader, error) {
	op := "download range"
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%s: %w: not an http(s) URL", op, providers.ErrInvalid)
	}
	if off < 0 || length == 0 {
		return nil, fmt.Errorf("%s: %w: offset %d, length %d", op, providers.ErrInvalid, off, length)
	}
	rangeHdr := ""
	switch {
	case length > 0:
		rangeHdr = fmt.Sprintf("bytes=%d-%d", off, off+length-1)
	case off > 0:
		rangeHdr = fmt.Sprintf("bytes=%d-", off)
	}
	if rangeHdr != "" {
		op += " " + strings.TrimPrefix(rangeHdr, "bytes=")
	}
	op += " from " + u.Host

	for redirects := 0; ; redirects++ {
		resp, err := c.xferGet(ctx, u, rangeHdr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		switch {
		case resp.StatusCode == http.StatusPartialContent:
			return xferPartial(op, resp, off, length)
		case resp.StatusCode == http.StatusOK:
			return &providers.RangeReader{Body: resp.Body, Offset: 0, Length: resp.ContentLength,
				Total: resp.ContentLength, Name: xferDispositionName(resp)}, nil
		case xferIsRedirect(resp.StatusCode):
			next, err := xferLocation(op, resp)
			if err != nil {
				return nil, err
			}
			if redirects >= MaxRedirects {
				return nil, fmt.Errorf("%s: %w", op, ErrRedirectLoop)
			}
			u = next
			continue
		case resp.StatusCode/100 == 2:
			xferDiscard(resp.Body)
			return nil, fmt.Errorf("%s: %w: unexpected status %s", op, providers.ErrNotCloudSigma, resp.Status)
		}
		apiErr := decodeError(op, resp)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return nil, fmt.Errorf("%w: %w", providers.ErrInvalid, apiErr)
		case !c.xferIsAPIHost(u) && (resp.StatusCode == http.StatusUnauthorized ||
			resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusGone):
			return nil, fmt.Errorf("%w: %w", providers.ErrExpired, apiErr)
		}
		return nil, apiErr
	}
}

// xferPartial checks a 206 answer against the requested range.
func xferPartial(op string, resp *http.Response, off, length int64) (*providers.RangeReader, error) {
	first, last, total, ok := xferParseContentRange(resp.Header.Get("Content-Range"))
	bad := ""
	switch {
	case !ok:
		bad = fmt.Sprintf("unreadable Content-Range %q", resp.Header.Get("Content-Range"))
	case first != off:
		bad = fmt.Sprintf("Content-Range starts at %d, asked for %d", first, off)
	case length > 0 && last > off+length-1:
		bad = fmt.Sprintf("Content-Range ends at %d, asked for up to %d", last, off+length-1)
	case resp.ContentLength >= 0 && resp.ContentLength != last-first+1:
		bad = fmt.Sprintf("Content-Length %d does not match Content-Range %d-%d", resp.ContentLength, first, last)
	}
	if bad != "" {
		xferDiscard(resp.Body)
		return nil, fmt.Errorf("%s: %w: %s", op, providers.ErrNotCloudSigma, bad)
	}
	return &providers.RangeReader{Body: resp.Body, Offset: first, Length: last - first + 1,
		Total: total, Name: xferDispositionName(resp)}, nil
}

// xferParseContentRange parses `bytes FIRST-LAST/TOTAL` (TOTAL may be `*`,
// returned as -1).
func xferParseContentRange(s string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	last, err2 = strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	total = -1
	if size = strings.TrimSpace(size); size != "*" {
		total, err3 = strconv.ParseInt(size, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || (total >= 0 && last >= total) {
		return 0, 0, 0, false
	}
	return first, last, total, true
}

// xferDispositionName returns the file name of a Content-Disposition header
// (filename*, RFC 5987, wins over filename), or "" when there is none.
func xferDispositionName(resp *http.Response) string {
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}
