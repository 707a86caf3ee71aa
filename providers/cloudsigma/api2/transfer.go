package api2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// The client offers API 2.0's transfers: chunked and direct uploads, and
// downloads through redirects.
var (
	_ providers.ResumableUploader = (*Client)(nil)
	_ providers.DirectUploader    = (*Client)(nil)
	_ providers.Downloader        = (*Client)(nil)
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

// initUploadDef is the body of `POST /initupload/`.
type initUploadDef struct {
	Name  string `json:"name"`
	Media string `json:"media"`
	Size  int64  `json:"size"`
}

// InitUpload creates a drive of size bytes for a chunked, resumable upload
// (`POST /initupload/`). The drive comes back in status `uploading`; the
// caller checks its size and status.
func (c *Client) InitUpload(ctx context.Context, name string, size int64) (providers.Drive, error) {
	const op = "init upload"
	if size <= 0 {
		return providers.Drive{}, fmt.Errorf("%s: %w: size %d is not positive", op, providers.ErrInvalid, size)
	}
	var raw json.RawMessage
	err := c.doJSON(ctx, request{op: op, method: http.MethodPost, path: "initupload/",
		body: wire.List[initUploadDef]{Objects: []initUploadDef{{Name: name, Media: "disk", Size: size}}}}, &raw)
	if err != nil {
		return providers.Drive{}, err
	}
	return decodeDrive(op, raw)
}

// ChunkStored asks whether chunk ch of drive is already stored (the
// resumable protocol's test GET). Every 2xx answer means stored, as
// CloudSigma's own client reads it; 404 means not stored. A 404 for a drive
// that does not exist also reads as "not stored": the PutChunk that follows
// reports it. Any other answer is an error.
func (c *Client) ChunkStored(ctx context.Context, drive string, ch providers.UploadChunk) (bool, error) {
	op := fmt.Sprintf("test chunk %d of drive %s", ch.Number, drive)
	if err := checkID(op, drive); err != nil {
		return false, err
	}
	if err := xferCheckChunk(op, ch, -1); err != nil {
		return false, err
	}
	resp, err := c.do(ctx, request{op: op, method: http.MethodGet,
		path: "drives/" + drive + "/upload/", query: xferChunkValues(ch)})
	if err != nil {
		var apiErr *providers.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return false, nil
		}
		return false, err
	}
	xferDiscard(resp.Body)
	return true, nil
}

// PutChunk stores data as chunk ch of drive: a multipart/form-data POST with
// the protocol's five fields and a `file` part. The body is streamed from
// data with an exact Content-Length; data is never copied.
func (c *Client) PutChunk(ctx context.Context, drive string, ch providers.UploadChunk, data []byte) error {
	op := fmt.Sprintf("upload chunk %d of drive %s", ch.Number, drive)
	if err := checkID(op, drive); err != nil {
		return err
	}
	if err := xferCheckChunk(op, ch, int64(len(data))); err != nil {
		return err
	}
	contentType, head, tail, err := xferMultipart(ch)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	body := func() *xferBody { return &xferBody{parts: [3][]byte{head, data, tail}} }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.xferURL(c.base, "drives/"+drive+"/upload/"), body())
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.ContentLength = int64(len(head) + len(data) + len(tail))
	// Lets the transport resend the body when a reused connection turns out
	// to be dead before anything was written; that is not a retry of ours.
	req.GetBody = func() (io.ReadCloser, error) { return body(), nil }
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := c.xferSend(op, req)
	if err != nil {
		return err
	}
	xferDiscard(resp.Body)
	return nil
}

// UploadDirect uploads a whole image in one request (`POST
// {direct}/drives/upload/NAME`) and returns the new drive's UUID. body is
// streamed, never buffered, with Content-Length size, which sets the drive's
// size. The name travels in the path, which the API accepts and ignores;
// rename the drive afterwards to set its name.
func (c *Client) UploadDirect(ctx context.Context, name string, body io.Reader, size int64) (string, error) {
	const op = "direct upload"
	if size < 0 || (body == nil && size > 0) {
		return "", fmt.Errorf("%s: %w: no body of %d bytes", op, providers.ErrInvalid, size)
	}
	path := "drives/upload/"
	if safe, err := SafeFileName(name); err == nil {
		path += safe // unescaped: the URL's String escapes it
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.xferURL(c.direct, path), nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	// Set by hand: NewRequest would turn an unknown reader into a chunked
	// body, which the API does not accept, and a zero length with a body
	// into "unknown length".
	req.ContentLength = size
	req.Body = http.NoBody
	if size > 0 {
		// NopCloser because the caller owns body; the transport looks
		// through it, so an *os.File can still go out with sendfile.
		req.Body = io.NopCloser(body)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.xferSend(op, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return "", fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	id, ok := xferParseUUIDAnswer(text)
	if !ok {
		return "", fmt.Errorf("%s: %w: answer %q is not a drive UUID", op, providers.ErrNotCloudSigma, firstLine(string(text)))
	}
	return id, nil
}

// xferParseUUIDAnswer accepts the direct upload's answer as plain text, as
// the manual documents it, and also as a JSON string or a JSON drive (or
// list of one), which cost nothing to understand.
func xferParseUUIDAnswer(b []byte) (string, bool) {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		var str string
		if json.Unmarshal([]byte(s), &str) == nil {
			s = strings.TrimSpace(str)
		}
	} else if strings.HasPrefix(s, "{") {
		if d, err := decodeOne[wire.Drive]("", json.RawMessage(s)); err == nil {
			s = d.UUID
		}
	}
	return s, xferIsUUID(s)
}

// xferIsUUID reports whether s is a UUID in the canonical 8-4-4-4-12
// hexadecimal form.
func xferIsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

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
// SafeFileName before using it.
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

// xferCheckChunk rejects chunk descriptions the protocol cannot express and,
// when dataLen >= 0, data that is not exactly the chunk's length: every
// chunk is ChunkSize bytes but the last, which carries the remainder.
func xferCheckChunk(op string, ch providers.UploadChunk, dataLen int64) error {
	bad := ""
	switch {
	case ch.ChunkSize <= 0 || ch.TotalSize <= 0:
		bad = fmt.Sprintf("chunk size %d, total size %d", ch.ChunkSize, ch.TotalSize)
	case ch.Number < 1 || ch.Number > wire.ResumableChunkCount(ch.TotalSize, ch.ChunkSize):
		bad = fmt.Sprintf("chunk number %d is outside 1..%d", ch.Number, wire.ResumableChunkCount(ch.TotalSize, ch.ChunkSize))
	case ch.Identifier == "" || ch.Filename == "":
		bad = "empty identifier or file name"
	}
	if bad == "" && dataLen >= 0 {
		want := ch.ChunkSize
		if ch.Number == wire.ResumableChunkCount(ch.TotalSize, ch.ChunkSize) {
			want = ch.TotalSize - int64(ch.Number-1)*ch.ChunkSize
		}
		if dataLen != want {
			bad = fmt.Sprintf("chunk %d holds %d bytes, the protocol wants %d", ch.Number, dataLen, want)
		}
	}
	if bad != "" {
		return fmt.Errorf("%s: %w: %s", op, providers.ErrInvalid, bad)
	}
	return nil
}

// xferChunkFields are the protocol's five fields for ch, in the order
// resumable.js sends them.
func xferChunkFields(ch providers.UploadChunk) [5][2]string {
	return [5][2]string{
		{wire.ResumableChunkNumber, strconv.Itoa(ch.Number)},
		{wire.ResumableChunkSize, strconv.FormatInt(ch.ChunkSize, 10)},
		{wire.ResumableTotalSize, strconv.FormatInt(ch.TotalSize, 10)},
		{wire.ResumableIdentifier, ch.Identifier},
		{wire.ResumableFilename, ch.Filename},
	}
}

// xferChunkValues returns the fields as a query.
func xferChunkValues(ch providers.UploadChunk) url.Values {
	q := url.Values{}
	for _, f := range xferChunkFields(ch) {
		q.Set(f[0], f[1])
	}
	return q
}

// xferBody is a request body made of byte slices sent in turn without
// copying them together. Its WriteTo hands each slice straight to the
// connection; io.MultiReader's would allocate a 32 KiB buffer per request.
type xferBody struct {
	parts [3][]byte
	i     int // the part being read
	off   int // how much of it was read
}

// Read implements io.Reader.
func (b *xferBody) Read(p []byte) (int, error) {
	for b.i < len(b.parts) {
		if b.off < len(b.parts[b.i]) {
			n := copy(p, b.parts[b.i][b.off:])
			b.off += n
			return n, nil
		}
		b.i, b.off = b.i+1, 0
	}
	return 0, io.EOF
}

// WriteTo implements io.WriterTo.
func (b *xferBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for ; b.i < len(b.parts); b.i, b.off = b.i+1, 0 {
		if rest := b.parts[b.i][b.off:]; len(rest) > 0 {
			n, err := w.Write(rest)
			b.off += n
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// Close implements io.Closer; there is nothing to release.
func (b *xferBody) Close() error { return nil }

// xferMultipart renders everything of a chunk's multipart body except the
// chunk bytes: head (the fields and the file part's header) goes before
// them, tail (the closing boundary) after. The standard writer produces
// both, so the encoding is exactly what it would write around the data.
func xferMultipart(ch providers.UploadChunk) (contentType string, head, tail []byte, err error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range xferChunkFields(ch) {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return "", nil, nil, err
		}
	}
	// The writer escapes quotes and line breaks in the name; other control
	// characters would still break the header line.
	partName := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, ch.Filename)
	if _, err := mw.CreateFormFile(wire.ResumableFilePart, partName); err != nil {
		return "", nil, nil, err
	}
	n := buf.Len()
	if err := mw.Close(); err != nil {
		return "", nil, nil, err
	}
	b := buf.Bytes()
	return mw.FormDataContentType(), b[:n:n], b[n:], nil
}
