package api2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/httpclient"
)

const (
	xferUser   = "user@example.com"
	xferPass   = "s3cret"
	xferDrive  = "2b8e8a3c-0d1f-4c52-9a52-3f3a5e6b7c8d"
	xferSig    = "sig-0123456789"
	xferAPIPfx = "/api/2.0/"
)

// xferEnv is an API host and a storage host on separate listeners, and a
// client using the real shared HTTP client, which may send credentials to
// the API host only.
type xferEnv struct {
	c             *Client
	api, storage  *httptest.Server
	apiCalls      atomic.Int64
	storageCalls  atomic.Int64
	storageAuthed atomic.Int64 // storage requests that carried Authorization
}

func newXferEnv(t testing.TB, api, storage http.HandlerFunc) *xferEnv {
	t.Helper()
	e := &xferEnv{}
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.apiCalls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != xferUser || p != xferPass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		api(w, r)
	}))
	t.Cleanup(e.api.Close)
	e.storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.storageCalls.Add(1)
		if r.Header.Get("Authorization") != "" {
			e.storageAuthed.Add(1)
		}
		storage(w, r)
	}))
	t.Cleanup(e.storage.Close)
	t.Cleanup(func() {
		if n := e.storageAuthed.Load(); n != 0 {
			t.Errorf("the storage host received an Authorization header %d times", n)
		}
	})
	hc := httpclient.New(httpclient.Options{Username: xferUser, Password: xferPass,
		AuthHosts: []string{xferHost(e.api)}, HeaderTimeout: 5 * time.Second})
	c, err := New(hc, e.api.URL+xferAPIPfx, "")
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func xferHost(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// xferImage is deterministic test content.
func xferImage(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// xferServeSigned serves img when the query carries the signature, like a
// storage host behind a signed URL, with Range support.
func xferServeSigned(img []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sig") != xferSig {
			http.Error(w, "signature expired", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+xferDrive+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
	}
}

func xferRead(t *testing.T, rr *providers.RangeReader) []byte {
	t.Helper()
	defer rr.Body.Close()
	b, err := io.ReadAll(rr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDownloadRedirectNeverSendsCredentialsToStorage(t *testing.T) {
	img := xferImage(10000)
	var storageURL string
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != xferAPIPfx+"drives/"+xferDrive+"/download/" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, storageURL+"/blob/"+xferDrive+"?sig="+xferSig, http.StatusFound)
	}, xferServeSigned(img))
	storageURL = e.storage.URL
	ctx := t.Context()

	u, err := e.c.DownloadURL(ctx, xferDrive)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, e.storage.URL+"/blob/") {
		t.Fatalf("DownloadURL = %q, want the storage URL", u)
	}
	if n := e.storageCalls.Load(); n != 0 {
		t.Errorf("DownloadURL requested the storage URL %d times; it only needs the Location", n)
	}

	cases := []struct {
		off, length                 int64
		wantOff, wantLen, wantTotal int64
	}{
		{100, 50, 100, 50, 10000},
		{9990, 100, 9990, 10, 10000}, // past the end: the server shortens it
		{10, -1, 10, 9990, 10000},
		{0, -1, 0, 10000, 10000}, // no Range header: 200
	}
	for _, tc := range cases {
		rr, err := e.c.OpenRange(ctx, u, tc.off, tc.length)
		if err != nil {
			t.Fatalf("OpenRange(%d, %d): %v", tc.off, tc.length, err)
		}
		if rr.Offset != tc.wantOff || rr.Length != tc.wantLen || rr.Total != tc.wantTotal || rr.Name != xferDrive {
			t.Errorf("OpenRange(%d, %d) = off %d len %d total %d name %q", tc.off, tc.length, rr.Offset, rr.Length, rr.Total, rr.Name)
		}
		if got := xferRead(t, rr); !bytes.Equal(got, img[tc.wantOff:tc.wantOff+tc.wantLen]) {
			t.Errorf("OpenRange(%d, %d): wrong bytes", tc.off, tc.length)
		}
	}
	if e.apiCalls.Load() != 1 {
		t.Errorf("API calls = %d, want 1", e.apiCalls.Load())
	}
}

func TestDownloadRelativeLocations(t *testing.T) {
	img := xferImage(4096)
	var storageURL string
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case xferAPIPfx + "drives/" + xferDrive + "/download/":
			// Relative to the request: stays on the API host.
			w.Header().Set("Location", "../../../hop/"+xferDrive)
			w.WriteHeader(http.StatusTemporaryRedirect)
		case xferAPIPfx + "hop/" + xferDrive:
			http.Redirect(w, r, storageURL+"/a/b?sig="+xferSig, http.StatusSeeOther)
		default:
			http.NotFound(w, r)
		}
	}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a/b" {
			// The storage host moves the object once more, relatively.
			w.Header().Set("Location", "c?sig="+xferSig)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		if r.URL.Path != "/a/c" {
			http.NotFound(w, r)
			return
		}
		xferServeSigned(img)(w, r)
	})
	storageURL = e.storage.URL
	u, err := e.c.DownloadURL(t.Context(), xferDrive)
	if err != nil {
		t.Fatal(err)
	}
	if u != e.storage.URL+"/a/b?sig="+xferSig {
		t.Fatalf("DownloadURL = %q", u)
	}
	rr, err := e.c.OpenRange(t.Context(), u, 1000, 24)
	if err != nil {
		t.Fatal(err)
	}
	if got := xferRead(t, rr); rr.Offset != 1000 || !bytes.Equal(got, img[1000:1024]) {
		t.Fatalf("OpenRange after a relative redirect: offset %d, %d bytes", rr.Offset, len(got))
	}
}

func TestDownloadServedByTheAPIItself(t *testing.T) {
	img := xferImage(3000)
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != xferAPIPfx+"drives/"+xferDrive+"/download/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Disposition", `attachment; filename="`+xferDrive+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
	}, func(w http.ResponseWriter, r *http.Request) { t.Error("storage host contacted") })
	u, err := e.c.DownloadURL(t.Context(), xferDrive)
	if err != nil {
		t.Fatal(err)
	}
	if u != e.api.URL+xferAPIPfx+"drives/"+xferDrive+"/download/" {
		t.Fatalf("DownloadURL = %q, want the endpoint itself", u)
	}
	// The API host needs the credentials, which the shared client adds.
	rr, err := e.c.OpenRange(t.Context(), u, 2000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := xferRead(t, rr); !bytes.Equal(got, img[2000:]) || rr.Total != 3000 {
		t.Fatalf("OpenRange from the API host: %d bytes, total %d", len(got), rr.Total)
	}
}

func TestDownloadRedirectLoops(t *testing.T) {
	var storageURL string
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound) // to itself, for ever
	}, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		http.Redirect(w, r, fmt.Sprintf("%s/x?n=%d", storageURL, n+1), http.StatusFound)
	})
	storageURL = e.storage.URL
	_, err := e.c.DownloadURL(t.Context(), xferDrive)
	if !errors.Is(err, ErrRedirectLoop) || !errors.Is(err, providers.ErrNotCloudSigma) || providers.IsRetryable(err) {
		t.Fatalf("DownloadURL on a loop: %v", err)
	}
	if n := e.apiCalls.Load(); n != MaxRedirects+1 {
		t.Errorf("API requests = %d, want %d", n, MaxRedirects+1)
	}
	_, err = e.c.OpenRange(t.Context(), e.storage.URL+"/x?n=0", 0, 10)
	if !errors.Is(err, ErrRedirectLoop) {
		t.Fatalf("OpenRange on a loop: %v", err)
	}
	if n := e.storageCalls.Load(); n != MaxRedirects+1 {
		t.Errorf("storage requests = %d, want %d", n, MaxRedirects+1)
	}
}

func TestDownloadURLErrors(t *testing.T) {
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "nolocation"):
			w.WriteHeader(http.StatusFound)
		case strings.Contains(r.URL.Path, "busy"):
			writeJSON(w, 503, errList("concurrency", "", "try again"))
		default:
			writeJSON(w, 404, errList("notexist", "", "drive not found"))
		}
	}, func(w http.ResponseWriter, r *http.Request) {})
	ctx := t.Context()
	if _, err := e.c.DownloadURL(ctx, xferDrive); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("missing drive: %v", err)
	}
	if _, err := e.c.DownloadURL(ctx, "nolocation"); !errors.Is(err, providers.ErrNotCloudSigma) {
		t.Errorf("302 without Location: %v", err)
	}
	if _, err := e.c.DownloadURL(ctx, "busy"); !providers.IsRetryable(err) {
		t.Errorf("503: %v is not retryable", err)
	}
	if _, err := e.c.DownloadURL(ctx, "../x"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("bad uuid: %v", err)
	}
}

func TestOpenRangeAnswers(t *testing.T) {
	img := xferImage(1000)
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden) // the API refusing is a permission answer
	}, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wrongstart":
			w.Header().Set("Content-Range", "bytes 5-9/1000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(img[5:10])
		case "/toolong":
			w.Header().Set("Content-Range", "bytes 0-99/1000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(img[:100])
		case "/garbled":
			w.Header().Set("Content-Range", "octets 0-4/1000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(img[:5])
		case "/unknowntotal":
			w.Header().Set("Content-Range", "bytes 0-4/*")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(img[:5])
		case "/ignored":
			_, _ = w.Write(img) // 200, whatever the Range
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/utf8name":
			w.Header().Set("Content-Disposition", `attachment; filename="plain.img"; filename*=UTF-8''%E2%82%AC%20rates.img`)
			_, _ = w.Write(img)
		case "/evilname":
			w.Header().Set("Content-Disposition", `attachment; filename="../../etc/passwd"`)
			_, _ = w.Write(img)
		default:
			xferServeSigned(img)(w, r)
		}
	})
	ctx := t.Context()
	s := e.storage.URL

	for _, path := range []string{"/wrongstart", "/toolong", "/garbled"} {
		if _, err := e.c.OpenRange(ctx, s+path, 0, 5); !errors.Is(err, providers.ErrNotCloudSigma) {
			t.Errorf("%s: %v, want ErrNotCloudSigma", path, err)
		}
	}
	rr, err := e.c.OpenRange(ctx, s+"/unknowntotal", 0, 5)
	if err != nil || rr.Total != -1 || rr.Length != 5 {
		t.Errorf("/unknowntotal: %+v, %v", rr, err)
	} else {
		rr.Body.Close()
	}

	rr, err = e.c.OpenRange(ctx, s+"/ignored", 500, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := xferRead(t, rr); rr.Offset != 0 || rr.Length != 1000 || rr.Total != 1000 || !bytes.Equal(got, img) {
		t.Errorf("ignored range reported as off %d len %d total %d", rr.Offset, rr.Length, rr.Total)
	}

	for _, path := range []string{"/?sig=stale", "/gone", "/unauthorized"} {
		_, err := e.c.OpenRange(ctx, s+path, 0, 10)
		var apiErr *providers.APIError
		if !errors.Is(err, providers.ErrExpired) || !errors.As(err, &apiErr) {
			t.Errorf("%s: %v, want ErrExpired wrapping an APIError", path, err)
		}
	}
	// The same refusal from the API's own host is about the credentials.
	_, err = e.c.OpenRange(ctx, e.api.URL+xferAPIPfx+"drives/x/download/", 0, 10)
	if errors.Is(err, providers.ErrExpired) || !errors.Is(err, providers.ErrPermission) {
		t.Errorf("403 from the API host: %v", err)
	}

	if _, err := e.c.OpenRange(ctx, s+"/?sig="+xferSig, 5000, 10); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("416: %v, want ErrInvalid", err)
	}
	_, err = e.c.OpenRange(ctx, s+"/busy", 0, 10)
	if d, ok := providers.RetryAfter(err); !providers.IsRetryable(err) || !ok || d != 3*time.Second {
		t.Errorf("503: %v (retry after %v)", err, d)
	}
	if _, err := e.c.OpenRange(ctx, s+"/nocontent", 0, 10); !errors.Is(err, providers.ErrNotCloudSigma) {
		t.Errorf("204: %v", err)
	}

	rr, err = e.c.OpenRange(ctx, s+"/utf8name", 0, -1)
	if err != nil || rr.Name != "€ rates.img" {
		t.Errorf("filename*: %+v, %v", rr, err)
	} else {
		rr.Body.Close()
	}
	rr, err = e.c.OpenRange(ctx, s+"/evilname", 0, -1)
	if err != nil || rr.Name != "../../etc/passwd" {
		t.Errorf("Name must come unsanitised: %+v, %v", rr, err)
	} else {
		rr.Body.Close()
	}

	for _, bad := range []struct {
		u           string
		off, length int64
	}{{"ftp://x/y", 0, 1}, {"/relative", 0, 1}, {s, -1, 1}, {s, 0, 0}} {
		if _, err := e.c.OpenRange(ctx, bad.u, bad.off, bad.length); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("OpenRange(%q, %d, %d): %v", bad.u, bad.off, bad.length, err)
		}
	}
}

func TestOpenRangeRequestsExactRanges(t *testing.T) {
	ranges := make(chan string, 3)
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {}, func(w http.ResponseWriter, r *http.Request) {
		ranges <- r.Header.Get("Range")
		w.WriteHeader(http.StatusGone)
	})
	for _, c := range []struct{ off, length int64 }{{0, -1}, {7, -1}, {4 << 20, 4 << 20}} {
		_, _ = e.c.OpenRange(t.Context(), e.storage.URL, c.off, c.length)
	}
	want := []string{"", "bytes=7-", "bytes=4194304-8388607"}
	for i, w := range want {
		if got := <-ranges; got != w {
			t.Errorf("request %d: Range %q, want %q", i, got, w)
		}
	}
}

func TestTransportErrorsHideSignatures(t *testing.T) {
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {}, func(w http.ResponseWriter, r *http.Request) {})
	dead := e.storage.URL
	e.storage.Close()
	_, err := e.c.OpenRange(t.Context(), dead+"/blob?sig=topsecret", 0, 10)
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("error %v shows the signature", err)
	}
	if !providers.IsRetryable(err) {
		t.Errorf("connection refused should be retryable: %v", err)
	}
}

func TestInitUpload(t *testing.T) {
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Objects []map[string]any `json:"objects"`
		}
		if r.Method != http.MethodPost || r.URL.Path != xferAPIPfx+"initupload/" ||
			json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Objects) != 1 {
			writeJSON(w, 400, errList("validation", "", "bad request"))
			return
		}
		o := body.Objects[0]
		if o["media"] != "disk" || o["name"] == "" {
			writeJSON(w, 400, errList("validation", "media", "bad"))
			return
		}
		if o["name"] == "taken" {
			writeJSON(w, 400, errList("validation", "name", "nope"))
			return
		}
		writeJSON(w, 201, map[string]any{"objects": []any{
			seedDrive(xferDrive, o["name"].(string), int64(o["size"].(float64)), "uploading")}})
	}, func(w http.ResponseWriter, r *http.Request) {})
	d, err := e.c.InitUpload(t.Context(), "web.img", 12345678)
	if err != nil {
		t.Fatal(err)
	}
	if d.UUID != xferDrive || d.Status != "uploading" || d.Size != 12345678 || d.Name != "web.img" {
		t.Errorf("InitUpload = %+v", d)
	}
	if _, err := e.c.InitUpload(t.Context(), "taken", 1); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("validation error: %v", err)
	}
	if _, err := e.c.InitUpload(t.Context(), "x", 0); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("size 0: %v", err)
	}
}

func xferChunk(n int) providers.UploadChunk {
	return providers.UploadChunk{Number: n, ChunkSize: 1000, TotalSize: 3500, Identifier: "3500-disk img", Filename: "disk img"}
}

func TestChunkStored(t *testing.T) {
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != xferAPIPfx+"drives/"+xferDrive+"/upload/" ||
			q.Get("resumableChunkSize") != "1000" || q.Get("resumableTotalSize") != "3500" ||
			q.Get("resumableFilename") != "disk img" {
			t.Errorf("unexpected test request %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if q.Get("resumableIdentifier") != "3500-disk img" {
			writeJSON(w, 500, errList("backend", "", "boom"))
			return
		}
		switch q.Get("resumableChunkNumber") {
		case "1":
			w.WriteHeader(http.StatusOK)
		case "2":
			w.WriteHeader(http.StatusNoContent) // 2xx: stored, as CloudSigma's client reads it
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}, func(w http.ResponseWriter, r *http.Request) {})
	ctx := t.Context()
	for n, want := range map[int]bool{1: true, 2: true, 3: false} {
		got, err := e.c.ChunkStored(ctx, xferDrive, xferChunk(n))
		if err != nil || got != want {
			t.Errorf("ChunkStored(%d) = %v, %v; want %v", n, got, err, want)
		}
	}
	boom := xferChunk(1)
	boom.Identifier = "boom"
	if _, err := e.c.ChunkStored(ctx, xferDrive, boom); err == nil || !providers.IsRetryable(err) {
		t.Errorf("500: %v", err)
	}
	if _, err := e.c.ChunkStored(ctx, xferDrive, xferChunk(4)); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("chunk 4 of 3: %v", err)
	}

	// Refused credentials are an error, not "not stored".
	hc := httpclient.New(httpclient.Options{Username: xferUser, Password: "wrong", AuthHosts: []string{xferHost(e.api)}})
	bad, err := New(hc, e.api.URL+xferAPIPfx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.ChunkStored(ctx, xferDrive, xferChunk(1)); !errors.Is(err, providers.ErrAuth) {
		t.Errorf("401: %v", err)
	}
}

func TestPutChunkMultipart(t *testing.T) {
	img := xferImage(3500)
	type seen struct {
		fields   map[string]string
		filename string
		ctype    string
		data     []byte
	}
	got := make(chan seen, 4)
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != xferAPIPfx+"drives/"+xferDrive+"/upload/" {
			http.NotFound(w, r)
			return
		}
		if len(r.TransferEncoding) != 0 || r.ContentLength <= 0 {
			t.Errorf("Transfer-Encoding %v, Content-Length %d", r.TransferEncoding, r.ContentLength)
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil || int64(len(raw)) != r.ContentLength {
			t.Errorf("body of %d bytes, Content-Length %d, %v", len(raw), r.ContentLength, err)
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Errorf("ParseMultipartForm: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s := seen{fields: map[string]string{}}
		for k, v := range r.MultipartForm.Value {
			s.fields[k] = v[0]
		}
		fh := r.MultipartForm.File["file"]
		if len(fh) != 1 {
			t.Errorf("file parts: %d", len(fh))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.filename, s.ctype = fh[0].Filename, fh[0].Header.Get("Content-Type")
		f, _ := fh[0].Open()
		s.data, _ = io.ReadAll(f)
		f.Close()
		got <- s
		if s.fields["resumableChunkNumber"] == "2" {
			writeJSON(w, 503, errList("concurrency", "", "busy"))
			return
		}
		w.WriteHeader(http.StatusOK)
	}, func(w http.ResponseWriter, r *http.Request) {})
	ctx := t.Context()

	c3 := xferChunk(3) // the last chunk carries the remainder: 1500 bytes
	c3.Filename = "we\"ird\\name\n.img"
	if err := e.c.PutChunk(ctx, xferDrive, c3, img[2000:]); err != nil {
		t.Fatal(err)
	}
	s := <-got
	want := map[string]string{"resumableChunkNumber": "3", "resumableChunkSize": "1000", "resumableTotalSize": "3500",
		"resumableIdentifier": "3500-disk img", "resumableFilename": c3.Filename}
	for k, v := range want {
		if s.fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, s.fields[k], v)
		}
	}
	if len(s.fields) != len(want) || s.ctype != "application/octet-stream" || !bytes.Equal(s.data, img[2000:]) {
		t.Errorf("fields %v, part type %q, %d bytes", s.fields, s.ctype, len(s.data))
	}
	if s.filename == "" || strings.ContainsAny(s.filename, "\r\n") {
		t.Errorf("part file name %q", s.filename)
	}

	err := e.c.PutChunk(ctx, xferDrive, xferChunk(2), img[1000:2000])
	if !providers.IsRetryable(err) {
		t.Errorf("503: %v", err)
	}
	<-got
	if err := e.c.PutChunk(ctx, xferDrive, xferChunk(1), img[:999]); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("short chunk: %v", err)
	}
	if err := e.c.PutChunk(ctx, xferDrive, xferChunk(3), img[2000:3000]); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("last chunk without its remainder: %v", err)
	}
}

func TestUploadDirect(t *testing.T) {
	const size = 3<<20 + 17
	img := xferImage(size)
	var lastPath atomic.Value
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastPath.Store(r.URL.Path)
		if u, p, ok := r.BasicAuth(); !ok || u != xferUser || p != xferPass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, xferAPIPfx+"drives/upload/") ||
			r.Header.Get("Content-Type") != "application/octet-stream" {
			http.NotFound(w, r)
			return
		}
		if len(r.TransferEncoding) != 0 {
			t.Errorf("Transfer-Encoding %v", r.TransferEncoding)
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client gave up mid-body
		}
		if int64(len(b)) != r.ContentLength {
			t.Errorf("read %d bytes of Content-Length %d", len(b), r.ContentLength)
		}
		switch {
		case r.ContentLength == 0:
			_, _ = io.WriteString(w, "not a uuid at all\n")
		case r.ContentLength == 5:
			_, _ = io.WriteString(w, `{"objects":[{"uuid":"`+xferDrive+`","name":"x","size":5}]}`)
		case !bytes.Equal(b, img):
			w.WriteHeader(http.StatusBadRequest)
		default:
			_, _ = io.WriteString(w, "  "+xferDrive+"\r\n")
		}
	}))
	defer direct.Close()
	hc := httpclient.New(httpclient.Options{Username: xferUser, Password: xferPass, AuthHosts: []string{xferHost(direct)}})
	c, err := New(hc, "http://127.0.0.1:1/api/2.0/", direct.URL+xferAPIPfx)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// A reader that is neither a bytes.Reader nor a file: the request must
	// still carry the exact length, and not chunked encoding.
	body := struct{ io.Reader }{bytes.NewReader(img)}
	id, err := c.UploadDirect(ctx, "../my disk.img", body, size)
	if err != nil || id != xferDrive {
		t.Fatalf("UploadDirect = %q, %v", id, err)
	}
	if p := lastPath.Load(); p != xferAPIPfx+"drives/upload/my disk.img" {
		t.Errorf("path %v", p)
	}
	if _, err := c.UploadDirect(ctx, "", http.NoBody, 0); !errors.Is(err, providers.ErrNotCloudSigma) {
		t.Errorf("non-UUID answer: %v", err)
	}
	if p := lastPath.Load(); p != xferAPIPfx+"drives/upload/" {
		t.Errorf("path without a name: %v", p)
	}
	if id, err := c.UploadDirect(ctx, "x", strings.NewReader("12345"), 5); err != nil || id != xferDrive {
		t.Errorf("JSON answer: %q, %v", id, err)
	}
	if _, err := c.UploadDirect(ctx, "x", strings.NewReader("short"), 10); err == nil {
		t.Error("a body shorter than size was accepted")
	}
	if _, err := c.UploadDirect(ctx, "x", nil, 10); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("nil body: %v", err)
	}
}

func TestXferParseUUIDAnswer(t *testing.T) {
	for in, ok := range map[string]bool{
		xferDrive:                               true,
		strings.ToUpper(xferDrive):              true,
		`"` + xferDrive + `"`:                   true,
		`{"uuid":"` + xferDrive + `"}`:          true,
		"":                                      false,
		"<html>OK</html>":                       false,
		xferDrive + "0":                         false,
		strings.ReplaceAll(xferDrive, "-", "_"): false,
		"2b8e8a3c-0d1f-4c52-9a52-3f3a5e6b7c8g":  false,
	} {
		if _, got := xferParseUUIDAnswer([]byte(in)); got != ok {
			t.Errorf("xferParseUUIDAnswer(%q) = %v, want %v", in, got, ok)
		}
	}
}

func TestResolveDirect(t *testing.T) {
	var answer func(w http.ResponseWriter)
	e := newXferEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != xferAPIPfx+"locations/" {
			http.NotFound(w, r)
			return
		}
		answer(w)
	}, func(w http.ResponseWriter, r *http.Request) {})
	ctx := t.Context()
	apiHost := xferHost(e.api)
	locs := func(objs ...map[string]string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"meta": map[string]int{"total_count": len(objs)}, "objects": objs})
		}
	}
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   string
		err    error
	}{
		{"matching entry, bare host", locs(
			map[string]string{"id": "SJC", "api_endpoint": "https://sjc.cloudsigma.com/api/2.0/", "upload_url": "https://direct.sjc.cloudsigma.com/"},
			map[string]string{"id": "EMU", "api_endpoint": "http://" + apiHost + "/api/2.0/", "upload_url": "127.0.0.1:9999"},
		), "http://127.0.0.1:9999/api/2.0/", nil},
		{"only entry, host with slash", locs(
			map[string]string{"id": "ZRH", "api_endpoint": "https://zrh.cloudsigma.com/api/2.0/", "upload_url": "https://direct.zrh.cloudsigma.com/"},
		), "https://direct.zrh.cloudsigma.com/api/2.0/", nil},
		{"full URL kept", locs(
			map[string]string{"id": "EMU", "api_endpoint": apiHost, "upload_url": "http://127.0.0.1:9998/api/2.0"},
		), "http://127.0.0.1:9998/api/2.0/", nil},
		{"no match among several", locs(
			map[string]string{"id": "A", "api_endpoint": "https://a.example/", "upload_url": "https://direct.a.example/"},
			map[string]string{"id": "B", "api_endpoint": "https://b.example/", "upload_url": "https://direct.b.example/"},
		), "", nil},
		{"no upload_url", locs(map[string]string{"id": "EMU", "api_endpoint": apiHost}), "", nil},
		{"listing missing", func(w http.ResponseWriter) { w.WriteHeader(404) }, "", nil},
		{"refused", func(w http.ResponseWriter) { writeJSON(w, 403, errList("permission", "", "no")) }, "", providers.ErrPermission},
		{"bad upload_url", locs(map[string]string{"id": "EMU", "api_endpoint": apiHost, "upload_url": "ftp://x/"}), "", providers.ErrNotCloudSigma},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.c.SetDirectURL(e.api.URL + xferAPIPfx); err != nil {
				t.Fatal(err)
			}
			answer = tc.answer
			err := e.c.ResolveDirect(ctx)
			if (tc.err == nil && err != nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Fatalf("ResolveDirect: %v, want %v", err, tc.err)
			}
			want := tc.want
			if want == "" {
				want = e.api.URL + xferAPIPfx
			}
			if got := e.c.DirectURL(); got != want {
				t.Errorf("DirectURL = %q, want %q", got, want)
			}
		})
	}
}

// BenchmarkPutChunk measures what one 4 MiB chunk upload allocates: the
// chunk itself must not be copied, so B/op stays far below 4 MiB.
func BenchmarkPutChunk(b *testing.B) {
	const chunk = 4 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	hc := httpclient.New(httpclient.Options{Username: xferUser, Password: xferPass, AuthHosts: []string{xferHost(srv)}})
	c, err := New(hc, srv.URL+xferAPIPfx, "")
	if err != nil {
		b.Fatal(err)
	}
	data := xferImage(chunk)
	ch := providers.UploadChunk{Number: 1, ChunkSize: chunk, TotalSize: 10 * chunk, Identifier: "id", Filename: "disk.img"}
	b.SetBytes(chunk)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.PutChunk(b.Context(), xferDrive, ch, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadDirect measures a streamed 64 MiB direct upload: its
// allocations must not grow with the image.
func BenchmarkUploadDirect(b *testing.B) {
	const size = 64 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, xferDrive)
	}))
	defer srv.Close()
	hc := httpclient.New(httpclient.Options{Username: xferUser, Password: xferPass, AuthHosts: []string{xferHost(srv)}})
	c, err := New(hc, srv.URL+xferAPIPfx, "")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		body := io.LimitReader(xferZeros{}, size)
		if _, err := c.UploadDirect(b.Context(), "disk.img", body, size); err != nil {
			b.Fatal(err)
		}
	}
}

// xferZeros is an endless reader of zeros that allocates nothing.
type xferZeros struct{}

func (xferZeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestXferBody(t *testing.T) {
	head, data, tail := []byte("head-"), xferImage(100), []byte("-tail")
	want := append(append(append([]byte{}, head...), data...), tail...)
	if err := iotest.TestReader(&xferBody{parts: [3][]byte{head, data, tail}}, want); err != nil {
		t.Fatal(err)
	}
	// WriteTo after a partial Read sends exactly the rest.
	b := &xferBody{parts: [3][]byte{head, data, tail}}
	first := make([]byte, 7)
	if _, err := io.ReadFull(b, first); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	if n, err := b.WriteTo(&rest); err != nil || n != int64(len(want)-7) {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	if got := append(first, rest.Bytes()...); !bytes.Equal(got, want) {
		t.Fatal("Read then WriteTo lost or repeated bytes")
	}
	if n, err := b.Read(first); n != 0 || err != io.EOF {
		t.Fatalf("Read after the end = %d, %v", n, err)
	}
}
