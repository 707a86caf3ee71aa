package api2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/drivecp/drivecp/internal/safename"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 2.0's transfers: chunked and direct uploads, and
// downloads through redirects.
var (
	_ providers.ResumableUploader = (*Client)(nil)
	_ providers.DirectUploader    = (*Client)(nil)
	_ providers.Downloader        = (*Client)(nil)
)

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
	if safe, err := safename.FileName(name); err == nil {
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
