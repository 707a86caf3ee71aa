package cloudsigma

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// startServer runs an emulator on loopback for one test.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.JobDuration == 0 {
		cfg.JobDuration = -1
	}
	if cfg.Transition == 0 {
		// Each test here checks one behaviour of a ready drive;
		// TestDriveTransitions checks the transitional states.
		cfg.Transition = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// noRedirectAuth is a client that, like drivecp must, never sends
// credentials to a redirect target.
var noRedirectAuth = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
	req.Header.Del("Authorization")
	return nil
}}

type call struct {
	method, url string
	body        io.Reader
	header      map[string]string
	noAuth      bool
	user, pass  string
	client      *http.Client
	contentLen  int64 // when set (>0 or -1), overrides
}

func (c call) do(t testing.TB) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(c.method, c.url, c.body)
	if err != nil {
		t.Fatal(err)
	}
	if !c.noAuth {
		user, pass := DefaultUser, DefaultPassword
		if c.user != "" {
			user, pass = c.user, c.pass
		}
		req.SetBasicAuth(user, pass)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if c.contentLen != 0 {
		req.ContentLength = c.contentLen
	}
	client := c.client
	if client == nil {
		client = noRedirectAuth
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", c.method, c.url, err)
	}
	return resp, b
}

func expect(t testing.TB, c call, status int) []byte {
	t.Helper()
	resp, b := c.do(t)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %q", c.method, c.url, resp.StatusCode, status, firstBytes(b))
	}
	return b
}

func firstBytes(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(b)
}

func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func gz(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAuthAndRouting(t *testing.T) {
	s := startServer(t, Config{})
	base := s.URL()
	for _, path := range []string{"drives/list", "drives/info", "api/2.0/drives/", "api/2.0/initupload/", "nothing/here"} {
		for _, c := range []call{
			{method: "GET", url: base + path, noAuth: true},
			{method: "GET", url: base + path, user: DefaultUser, pass: "wrong"},
		} {
			resp, b := c.do(t)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("%s: %d %v", path, resp.StatusCode, resp.Header)
			}
			if strings.HasPrefix(path, "api/2.0") {
				var el wire.ErrorList
				if err := json.Unmarshal(b, &el); err != nil || len(el) != 1 || el[0].ErrorType != wire.ErrTypePermission {
					t.Fatalf("%s: v2 401 body %q", path, b)
				}
			} else if !strings.HasPrefix(string(b), "errors:") {
				t.Fatalf("%s: v1 401 body %q", path, b)
			}
		}
	}
	// Wrong methods: 405 with Allow; unknown paths 404.
	resp, b := call{method: "GET", url: base + "drives/create"}.do(t)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || !strings.HasPrefix(string(b), "errors:") {
		t.Fatalf("GET create: %d %v %q", resp.StatusCode, resp.Header, b)
	}
	resp, b = call{method: "DELETE", url: base + "api/2.0/initupload/"}.do(t)
	var el wire.ErrorList
	if resp.StatusCode != 405 || json.Unmarshal(b, &el) != nil {
		t.Fatalf("DELETE initupload: %d %q", resp.StatusCode, b)
	}
	expect(t, call{method: "GET", url: base + "drives/nothing/here/at/all"}, 404)
	b = expect(t, call{method: "GET", url: base + "api/2.0/nothing/"}, 404)
	if json.Unmarshal(b, &el) != nil || el[0].ErrorType != wire.ErrTypeNotExist {
		t.Fatalf("v2 404 body %q", b)
	}
	// OPTIONS lists the methods.
	b = expect(t, call{method: "OPTIONS", url: base + "api/2.0/drives/x/upload/"}, 200)
	if string(b) != "GET, POST" {
		t.Fatalf("OPTIONS: %q", b)
	}
}

// TestV1Drives replays the API 1.0 manual's drive commands.
func TestV1Drives(t *testing.T) {
	s := startServer(t, Config{})
	base := s.URL()
	b := expect(t, call{method: "POST", url: base + "drives/create", body: strings.NewReader("name TEST_DRIVE\nsize 12M\n")}, 200)
	kv, err := wire.DecodeKV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := kv.Get("drive")
	if v, _ := kv.Get("size"); v != "12582912" {
		t.Fatalf("create: %q", b)
	}
	if v, _ := kv.Get("status"); v != "active" {
		t.Fatalf("create: %q", b)
	}
	expect(t, call{method: "POST", url: base + "drives/create", body: strings.NewReader("name x\n")}, 400)
	expect(t, call{method: "POST", url: base + "drives/create", body: strings.NewReader("name x\nsize 12Q\n")}, 400)
	expect(t, call{method: "POST", url: base + "drives/create", body: strings.NewReader("size 1M\n")}, 400)

	list := expect(t, call{method: "GET", url: base + "drives/list"}, 200)
	if strings.TrimSpace(string(list)) != id {
		t.Fatalf("list: %q", list)
	}
	expect(t, call{method: "GET", url: base + "drives/" + id + "/info"}, 200)
	expect(t, call{method: "GET", url: base + "drives/00000000-0000-0000-0000-000000000000/info"}, 404)

	// Gzip write at offset 4M, raw write at 0, read back.
	data := randomBytes(1<<20, 1)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write/4M", body: bytes.NewReader(gz(t, data)),
		header: map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"}}, 204)
	head := randomBytes(1000, 2)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write", body: bytes.NewReader(head)}, 204)
	got := expect(t, call{method: "GET", url: base + "drives/" + id + "/read/4M/1M"}, 200)
	if !bytes.Equal(got, data) {
		t.Fatal("gzip write read back differs")
	}
	got = expect(t, call{method: "POST", url: base + "drives/" + id + "/read/0/1000"}, 200)
	if !bytes.Equal(got, head) {
		t.Fatal("raw write read back differs")
	}
	// Reads: over 4 MiB refused; past the end truncated; from past the end refused.
	expect(t, call{method: "GET", url: base + "drives/" + id + "/read/0/4097k"}, 400)
	got = expect(t, call{method: "GET", url: base + "drives/" + id + "/read/11M/4M"}, 200)
	if len(got) != 1<<20 {
		t.Fatalf("truncated read: %d bytes", len(got))
	}
	expect(t, call{method: "GET", url: base + "drives/" + id + "/read/12M/1"}, 400)
	expect(t, call{method: "GET", url: base + "drives/" + id + "/read/x/1"}, 400)
	// Writes: past the end, bad offset, bad gzip, unknown encoding, chunked, no length.
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write/11M", body: bytes.NewReader(make([]byte, 1<<20+1))}, 400)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write/11M", body: bytes.NewReader(gz(t, make([]byte, 2<<20))),
		header: map[string]string{"Content-Encoding": "gzip"}}, 400)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write/13M", body: strings.NewReader("x")}, 400)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write/-1", body: strings.NewReader("x")}, 400)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write", body: strings.NewReader("not gzip"),
		header: map[string]string{"Content-Encoding": "gzip"}}, 400)
	truncated := gz(t, randomBytes(1<<20, 3))
	truncated = truncated[:len(truncated)-100]
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write", body: bytes.NewReader(truncated),
		header: map[string]string{"Content-Encoding": "gzip"}}, 400)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/write", body: strings.NewReader("x"),
		header: map[string]string{"Content-Encoding": "br"}}, 400)
	b = expect(t, call{method: "POST", url: base + "drives/" + id + "/write", body: io.MultiReader(strings.NewReader("x")), contentLen: -1}, 411)
	if !strings.Contains(string(b), "chunked") {
		t.Fatalf("chunked refusal: %q", b)
	}
	// A request with no Content-Length at all, sent by hand.
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(base, "/"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /drives/%s/write HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n",
		id, base64.StdEncoding.EncodeToString([]byte(DefaultUser+":"+DefaultPassword)))
	raw, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.HasPrefix(string(raw), "HTTP/1.1 411") || !strings.Contains(string(raw), "errors:Content-Length") {
		t.Fatalf("no Content-Length: %q", raw)
	}
	expect(t, call{method: "POST", url: base + "drives/00000000-0000-0000-0000-000000000000/write", body: strings.NewReader("x")}, 404)
	expect(t, call{method: "GET", url: base + "drives/" + id + "/write"}, 405)

	// Clone: smaller refused; equal size copies the data.
	expect(t, call{method: "POST", url: base + "drives/" + id + "/clone", body: strings.NewReader("name c\nsize 1M\n")}, 400)
	expect(t, call{method: "POST", url: base + "drives/" + id + "/clone", body: strings.NewReader("size 12M\n")}, 400)
	b = expect(t, call{method: "POST", url: base + "drives/" + id + "/clone", body: strings.NewReader("name c\nsize 16M\n")}, 200)
	ckv, _ := wire.DecodeKV(bytes.NewReader(b))
	cid, _ := ckv.Get("drive")
	if v, _ := ckv.Get("size"); v != strconv.Itoa(16<<20) {
		t.Fatalf("clone: %q", b)
	}
	if v, _ := ckv.Get("status"); v != "active" {
		t.Fatalf("clone status: %q", b)
	}
	got = expect(t, call{method: "GET", url: base + "drives/" + cid + "/read/4M/1M"}, 200)
	if !bytes.Equal(got, data) {
		t.Fatal("clone data differs")
	}
	all := expect(t, call{method: "GET", url: base + "drives/info"}, 200)
	objs, err := wire.DecodeKVList(bytes.NewReader(all))
	if err != nil || len(objs) != 2 {
		t.Fatalf("info all: %v %q", err, all)
	}
	expect(t, call{method: "POST", url: base + "drives/" + cid + "/destroy"}, 204)
	expect(t, call{method: "POST", url: base + "drives/" + cid + "/destroy"}, 404)
	expect(t, call{method: "GET", url: base + "drives/" + cid + "/destroy"}, 405)
}

// TestV1Busy checks the 409 of a drive in a clone job.
func TestV1Busy(t *testing.T) {
	s := startServer(t, Config{JobDuration: time.Hour})
	d, err := s.Store().CreateDrive(wire.Drive{Name: "a", Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := s.Store().CloneDrive(t.Context(), d.UUID, CloneSpec{})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, call{method: "POST", url: s.URL() + "drives/" + d.UUID + "/write", body: strings.NewReader("x")}, 409)
	expect(t, call{method: "POST", url: s.URL() + "drives/" + c.UUID + "/destroy"}, 409)
	expect(t, call{method: "GET", url: s.URL() + "drives/" + c.UUID + "/read/0/1"}, 409)
}

// TestDirectUploadDownload replays the API 2.0 manual's curl commands of
// the direct upload and download.
func TestDirectUploadDownload(t *testing.T) {
	s := startServer(t, Config{})
	img := randomBytes(3<<20+17, 3)
	// curl --request POST --user ... -H 'Content-Type: application/octet-stream' --upload-file img .../drives/upload/
	b := expect(t, call{method: "POST", url: s.URL() + "api/2.0/drives/upload/ubuntu.img", body: bytes.NewReader(img),
		header: map[string]string{"Content-Type": "application/octet-stream"}}, 200)
	id := string(b)
	d, err := s.Store().GetDrive(id)
	if err != nil {
		t.Fatalf("uploaded %q: %v", b, err)
	}
	if d.Size != MinDriveSize || d.Status != wire.StatusUnmounted {
		t.Fatalf("uploaded drive: %+v", d)
	}
	// curl --location --remote-name --remote-header-name --user ... .../drives/UUID/download/
	// (here with a Range, so the 512 MiB the drive was grown to stay on the server).
	resp, got := call{method: "GET", url: s.URL() + "api/2.0/drives/" + id + "/download/",
		header: map[string]string{"Range": fmt.Sprintf("bytes=0-%d", len(img)-1)}}.do(t)
	if resp.StatusCode != 206 || !bytes.Equal(got, img) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(got))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="`+id+`"`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes 0-%d/%d", len(img)-1, MinDriveSize) {
		t.Fatalf("Content-Range %q", cr)
	}
	if resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if n := s.StorageAuthHeaders(); n != 0 {
		t.Fatalf("storage listener saw %d Authorization headers", n)
	}
	// A client that forwards credentials on redirect is caught.
	call{method: "HEAD", url: s.URL() + "api/2.0/drives/" + id + "/download/", client: http.DefaultClient}.do(t)
	if s.StorageAuthHeaders() == 0 {
		t.Fatal("Authorization header on the storage listener not counted")
	}

	// Errors: no length, chunked, empty, unknown drive, wrong method.
	expect(t, call{method: "POST", url: s.URL() + "api/2.0/drives/upload/", body: io.MultiReader(strings.NewReader("x")), contentLen: -1}, 411)
	expect(t, call{method: "POST", url: s.URL() + "api/2.0/drives/upload/", body: http.NoBody}, 400)
	expect(t, call{method: "GET", url: s.URL() + "api/2.0/drives/upload/"}, 405)
	expect(t, call{method: "GET", url: s.URL() + "api/2.0/drives/00000000-0000-0000-0000-000000000000/download/"}, 404)
}

func TestSignedURLs(t *testing.T) {
	s := startServer(t, Config{URLExpiry: time.Nanosecond})
	d, _ := s.Store().CreateDrive(wire.Drive{Name: "a", Size: 1 << 20})
	resp, _ := call{method: "GET", url: s.URL() + "api/2.0/drives/" + d.UUID + "/download/", client: noFollow}.do(t)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), s.StorageURL()+"dl/") {
		t.Fatalf("Location %q (storage %s)", loc, s.StorageURL())
	}
	q := loc.Query()
	bad := *loc
	q2 := url.Values{"expires": {q.Get("expires")}, "sig": {strings.Repeat("0", 64)}}
	bad.RawQuery = q2.Encode()
	expect(t, call{method: "GET", url: bad.String(), noAuth: true}, 403)
	// Expired a second ago, correctly signed.
	exp := time.Now().Unix() - 1
	q3 := url.Values{"expires": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(d.UUID, exp)}}
	bad.RawQuery = q3.Encode()
	expect(t, call{method: "GET", url: bad.String(), noAuth: true}, 403)
	// Signed for another drive.
	exp = time.Now().Unix() + 60
	q4 := url.Values{"expires": {strconv.FormatInt(exp, 10)}, "sig": {s.sign("other", exp)}}
	bad.RawQuery = q4.Encode()
	expect(t, call{method: "GET", url: bad.String(), noAuth: true}, 403)
	q4.Set("sig", s.sign(d.UUID, exp))
	bad.RawQuery = q4.Encode()
	expect(t, call{method: "GET", url: bad.String(), noAuth: true}, 200)
	// The tiny expiry really expires.
	time.Sleep(time.Until(time.Unix(time.Now().Unix()+1, 1e6)))
	expect(t, call{method: "GET", url: loc.String(), noAuth: true}, 403)
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestRangeAndNoRange(t *testing.T) {
	for _, noRange := range []bool{false, true} {
		s := startServer(t, Config{NoRange: noRange})
		d, _ := s.Store().CreateDrive(wire.Drive{Name: "a", Size: 1 << 20})
		data := randomBytes(1<<20, 4)
		writeAt(t, s.Store(), d.UUID, data, 0)
		resp, got := call{method: "GET", url: s.URL() + "api/2.0/drives/" + d.UUID + "/download/",
			header: map[string]string{"Range": "bytes=1000-1999"}}.do(t)
		if noRange {
			if resp.StatusCode != 200 || !bytes.Equal(got, data) || resp.Header.Get("Accept-Ranges") != "" {
				t.Fatalf("NoRange: %d %d %v", resp.StatusCode, len(got), resp.Header)
			}
			continue
		}
		if resp.StatusCode != 206 || !bytes.Equal(got, data[1000:2000]) || resp.Header.Get("Content-Range") != "bytes 1000-1999/1048576" {
			t.Fatalf("Range: %d %d %v", resp.StatusCode, len(got), resp.Header)
		}
		resp, got = call{method: "GET", url: s.URL() + "api/2.0/drives/" + d.UUID + "/download/"}.do(t)
		if resp.StatusCode != 200 || !bytes.Equal(got, data) || resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Fatalf("full: %d %d %v", resp.StatusCode, len(got), resp.Header)
		}
	}
}

// chunkForm builds a resumable chunk POST body.
func chunkForm(t testing.TB, k int, cs, total int64, data []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range [][2]string{
		{wire.ResumableChunkNumber, strconv.Itoa(k)},
		{wire.ResumableChunkSize, strconv.FormatInt(cs, 10)},
		{wire.ResumableTotalSize, strconv.FormatInt(total, 10)},
		{wire.ResumableIdentifier, "id-" + strconv.FormatInt(total, 10)},
		{wire.ResumableFilename, "disk.img"},
	} {
		_ = mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile(wire.ResumableFilePart, "disk.img")
	_, _ = fw.Write(data)
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

func TestChunkedUpload(t *testing.T) {
	s := startServer(t, Config{})
	const cs = 1 << 20
	img := randomBytes(3*cs+cs/2, 5) // 3 chunks, the last 1.5 MiB
	total := int64(len(img))
	b := expect(t, call{method: "POST", url: s.URL() + "api/2.0/initupload/",
		body:   strings.NewReader(fmt.Sprintf(`{"objects":[{"name":"disk.img","media":"disk","size":%d}]}`, total)),
		header: map[string]string{"Content-Type": "application/json"}}, 201)
	var created wire.List[wire.Drive]
	if err := json.Unmarshal(b, &created); err != nil || len(created.Objects) != 1 || created.Objects[0].Status != wire.StatusUploading {
		t.Fatalf("initupload: %v %q", err, b)
	}
	id := created.Objects[0].UUID
	up := s.URL() + "api/2.0/drives/" + id + "/upload/"
	test := func(k int) string {
		return fmt.Sprintf("%s?resumableChunkNumber=%d&resumableChunkSize=%d&resumableTotalSize=%d&resumableIdentifier=x&resumableFilename=disk.img", up, k, cs, total)
	}
	chunk := func(k int) []byte {
		if k == 3 {
			return img[2*cs:]
		}
		return img[(k-1)*cs : k*cs]
	}
	post := func(k int, data []byte, status int) {
		body, ct := chunkForm(t, k, cs, total, data)
		expect(t, call{method: "POST", url: up, body: body, header: map[string]string{"Content-Type": ct}}, status)
	}
	expect(t, call{method: "GET", url: test(1)}, 404)
	post(1, chunk(1), 200)
	expect(t, call{method: "GET", url: test(1)}, 200)
	expect(t, call{method: "GET", url: test(2)}, 404)
	post(2, chunk(2)[:100], 400) // short chunk
	post(4, chunk(2), 400)       // past the last chunk
	post(3, chunk(3)[:cs], 400)  // the last chunk carries the remainder
	post(2, chunk(2), 200)       // resume
	post(2, chunk(2), 200)       // retried
	expect(t, call{method: "GET", url: test(0)}, 400)
	if d, _ := s.Store().GetDrive(id); d.Status != wire.StatusUploading {
		t.Fatalf("status before the last chunk: %s", d.Status)
	}
	post(3, chunk(3), 201)
	if d, _ := s.Store().GetDrive(id); d.Status != wire.StatusUnmounted || d.Size != total {
		t.Fatalf("after upload: %+v", d)
	}
	got := expect(t, call{method: "GET", url: s.URL() + "api/2.0/drives/" + id + "/download/"}, 200)
	if !bytes.Equal(got, img) {
		t.Fatal("downloaded image differs")
	}
	expect(t, call{method: "POST", url: up, body: strings.NewReader("x"), header: map[string]string{"Content-Type": "text/plain"}}, 400)
	expect(t, call{method: "POST", url: s.URL() + "api/2.0/initupload/", body: strings.NewReader(`{"objects":[]}`)}, 400)
	expect(t, call{method: "POST", url: s.URL() + "api/2.0/initupload/", body: strings.NewReader(`{"name":"x","size":-5}`)}, 400)
	expect(t, call{method: "GET", url: strings.Replace(test(1), id, "00000000-0000-0000-0000-000000000000", 1)}, 404)
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	s1, err := New(Config{DataDir: dir, Transition: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Start(); err != nil {
		t.Fatal(err)
	}
	b := expect(t, call{method: "POST", url: s1.URL() + "drives/create", body: strings.NewReader("name keep\nsize 1G\n")}, 200)
	kv, _ := wire.DecodeKV(bytes.NewReader(b))
	id, _ := kv.Get("drive")
	data := randomBytes(1<<20, 6)
	expect(t, call{method: "POST", url: s1.URL() + "drives/" + id + "/write/1G", body: bytes.NewReader(nil)}, 204)
	expect(t, call{method: "POST", url: s1.URL() + "drives/" + id + "/write/512M", body: bytes.NewReader(gz(t, data)),
		header: map[string]string{"Content-Encoding": "gzip"}}, 204)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, Config{DataDir: dir})
	got := expect(t, call{method: "GET", url: s2.URL() + "drives/" + id + "/read/512M/1M"}, 200)
	if !bytes.Equal(got, data) {
		t.Fatal("data lost across restart")
	}
	b = expect(t, call{method: "GET", url: s2.URL() + "drives/" + id + "/info"}, 200)
	if !strings.Contains(string(b), "name keep\n") {
		t.Fatalf("metadata lost: %q", b)
	}
	if alloc := allocated(t, s2.Store().drivePath(id, ".img")); alloc > 8<<20 {
		t.Fatalf("1 GiB drive allocates %d bytes", alloc)
	}
}

func TestConcurrentV1Writers(t *testing.T) {
	s := startServer(t, Config{})
	d, _ := s.Store().CreateDrive(wire.Drive{Name: "c", Size: 32 << 20})
	const block = 64 << 10
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 32; i += 8 {
				p := randomBytes(block, byte(i))
				url := fmt.Sprintf("%sdrives/%s/write/%d", s.URL(), d.UUID, i*block)
				body, hdr := io.Reader(bytes.NewReader(p)), map[string]string{}
				if i%2 == 0 {
					body, hdr = bytes.NewReader(gz(t, p)), map[string]string{"Content-Encoding": "gzip"}
				}
				req, _ := http.NewRequest("POST", url, body)
				req.SetBasicAuth(DefaultUser, DefaultPassword)
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 204 {
					t.Errorf("write %d: %d", i, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	for i := range 32 {
		got := expect(t, call{method: "GET", url: fmt.Sprintf("%sdrives/%s/read/%d/%d", s.URL(), d.UUID, i*block, block)}, 200)
		if !bytes.Equal(got, randomBytes(block, byte(i))) {
			t.Fatalf("block %d differs", i)
		}
	}
}

// faultRun returns the outcome of n sequential requests: a status code, or
// -1 for a dropped connection.
func faultRun(t *testing.T, cfg Config, n int) []int {
	s := startServer(t, cfg)
	client := &http.Transport{DisableKeepAlives: true}
	defer client.CloseIdleConnections()
	var out []int
	for range n {
		req, _ := http.NewRequest("GET", s.URL()+"api/2.0/drives/x/upload/?resumableChunkNumber=1&resumableChunkSize=1&resumableTotalSize=1", nil)
		req.SetBasicAuth(DefaultUser, DefaultPassword)
		resp, err := client.RoundTrip(req)
		if err != nil {
			out = append(out, -1)
			continue
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			out = append(out, -1)
			continue
		}
		out = append(out, resp.StatusCode)
	}
	return out
}

func TestFaultsDeterministic(t *testing.T) {
	cfg := Config{FailRate: 0.3, ResetRate: 0.2, Seed: 42}
	a, b := faultRun(t, cfg, 60), faultRun(t, cfg, 60)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	count := map[int]int{}
	for _, c := range a {
		count[c]++
	}
	if count[503] == 0 || count[-1] == 0 || count[404] == 0 {
		t.Fatalf("outcomes %v", count)
	}
	cfg.Seed = 43
	if c := faultRun(t, cfg, 60); fmt.Sprint(c) == fmt.Sprint(a) {
		t.Fatal("another seed gave the same faults")
	}
	// 503s carry the concurrency error type (API 2.0).
	s := startServer(t, Config{FailRate: 1})
	resp, body := call{method: "GET", url: s.URL() + "api/2.0/drives/x/download/"}.do(t)
	var el wire.ErrorList
	if resp.StatusCode != 503 || json.Unmarshal(body, &el) != nil || el[0].ErrorType != wire.ErrTypeConcurrency {
		t.Fatalf("injected failure: %d %q", resp.StatusCode, body)
	}
	expect(t, call{method: "GET", url: s.URL() + "drives/list"}, 503)
}

func TestResetMidDownload(t *testing.T) {
	s := startServer(t, Config{ResetRate: 1, Seed: 1})
	d, _ := s.Store().CreateDrive(wire.Drive{Name: "a", Size: 4 << 20})
	exp := time.Now().Unix() + 60
	u := fmt.Sprintf("%sdl/%s?expires=%d&sig=%s", s.StorageURL(), d.UUID, exp, s.sign(d.UUID, exp))
	for range 4 {
		resp, err := http.Get(u)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("download survived a reset rate of 1")
		}
	}
}

func TestConnBandwidth(t *testing.T) {
	s := startServer(t, Config{ConnBandwidth: 1 << 20})
	d, _ := s.Store().CreateDrive(wire.Drive{Name: "a", Size: 512 << 10})
	start := time.Now()
	got := expect(t, call{method: "GET", url: s.URL() + "api/2.0/drives/" + d.UUID + "/download/"}, 200)
	if len(got) != 512<<10 {
		t.Fatalf("%d bytes", len(got))
	}
	// 512 KiB at 1 MiB/s, less the first burst: well over 0.3 s.
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("shaped download took %v", el)
	}
}

func TestHandlerAlone(t *testing.T) {
	// Handler and StorageHandler used without Start, as under httptest.
	s, err := New(Config{DataDir: t.TempDir(), Transition: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL() != "" || s.StorageURL() != "" {
		t.Fatal("URLs before Start")
	}
	d, _ := s.Store().CreateDrive(wire.Drive{Name: "a", Size: 1 << 20})
	rec := httptest.NewRecorder()
	req, _ := http.NewRequest("GET", "/api/2.0/drives/"+d.UUID+"/download/", nil)
	req.SetBasicAuth(DefaultUser, DefaultPassword)
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 302 || !strings.HasPrefix(rec.Header().Get("Location"), "/dl/") {
		t.Fatalf("redirect %d %v", rec.Code, rec.Header())
	}
	rec2 := httptest.NewRecorder()
	req2, _ := http.NewRequest("GET", rec.Header().Get("Location"), nil)
	s.Handler().ServeHTTP(rec2, req2)
	if rec2.Code != 200 || rec2.Body.Len() != 1<<20 {
		t.Fatalf("download %d %d", rec2.Code, rec2.Body.Len())
	}
}
