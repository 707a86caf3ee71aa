package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drivecp/drivecp/chunker"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// The end-to-end tests of API 2.0 transfers (the default API): chunked and
// single uploads, ranged and single-stream downloads, run as the built
// binary against the emulator with faults, without Range and with signed
// URLs that expire mid-download, and against fake servers for what the
// emulator cannot misbehave at.

// v2Image is the test image: 28 MiB of random, text-like and zero regions
// and a 4 MiB hole, 32 MiB in all, so chunks (4 MiB) mix every kind.
func v2Image(t *testing.T) string {
	t.Helper()
	return writeMixedImage(t, 28<<20, 4<<20)
}

// logCounter counts emulator log lines containing each of a few strings.
type logCounter struct {
	mu     sync.Mutex
	subs   []string
	counts map[string]int
}

func newLogCounter(subs ...string) *logCounter {
	return &logCounter{subs: subs, counts: map[string]int{}}
}

func (l *logCounter) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.subs {
		if strings.Contains(line, s) {
			l.counts[s]++
		}
	}
}

func (l *logCounter) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[s]
}

// upload2 runs `drivecp upload` (API 2.0 by default) and returns the UUID.
func upload2(t *testing.T, env []string, img string, extra ...string) string {
	t.Helper()
	stdout, stderr, code := runCLI(t, env, append([]string{"upload", img, "-c", "8"}, extra...)...)
	if code != 0 {
		t.Fatalf("upload %v: exit %d\n%s", extra, code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if !xferUUID.MatchString(id) {
		t.Fatalf("upload printed %q, want a UUID", stdout)
	}
	if !strings.Contains(stderr, "uploaded") {
		t.Errorf("upload summary missing: %s", stderr)
	}
	return id
}

// download2 runs `drivecp download ID -o FILE` and returns FILE and stderr.
func download2(t *testing.T, env []string, id string, extra ...string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "back.img")
	_, stderr, code := runCLI(t, env, append([]string{"download", id, "-o", out, "-c", "8"}, extra...)...)
	if code != 0 {
		t.Fatalf("download %v: exit %d\n%s", extra, code, stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("downloaded file has mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(out + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.part left behind", out)
	}
	return out, stderr
}

// assertNoStorageAuth checks that no credentials reached the storage
// listener, whatever the redirects and retries.
func assertNoStorageAuth(t *testing.T, srv *emulator.Server) {
	t.Helper()
	if n := srv.StorageAuthHeaders(); n != 0 {
		t.Errorf("the storage listener received %d Authorization headers", n)
	}
}

func TestE2EV2RoundTrips(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{})
	img := v2Image(t)

	// Chunked upload, verified through ranges; ranged and single-stream
	// downloads, verified too.
	id := upload2(t, env, img, "--verify")
	out, stderr := download2(t, env, id, "--verify")
	sameFiles(t, img, out)
	if !strings.Contains(stderr, "zero chunks skipped") || !strings.Contains(stderr, "identical") {
		t.Errorf("download summary: %s", stderr)
	}
	out, _ = download2(t, env, id, "--single", "--verify")
	sameFiles(t, img, out)

	// The single direct upload: the API grows a drive below its minimum
	// size, so the download holds the image followed by zeros.
	sid := upload2(t, env, img, "--single", "--verify", "--name", "one-request")
	d, err := srv.Store().GetDrive(sid)
	if err != nil || d.Name != "one-request" || d.Status != "unmounted" {
		t.Errorf("single-upload drive %+v, %v: want it renamed and unmounted", d, err)
	}
	out, _ = download2(t, env, sid)
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile(img)
	if len(got) != int(emulator.MinDriveSize) || !bytes.Equal(got[:len(want)], want) || !chunker.IsZero(got[len(want):]) {
		t.Errorf("single upload round trip: %d bytes back, prefix equal %v", len(got), bytes.Equal(got[:min(len(got), len(want))], want))
	}
	assertNoStorageAuth(t, srv)
}

func TestE2EV2Faults(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{FailRate: 0.1, ResetRate: 0.03, Seed: 42})
	img := v2Image(t)
	id := upload2(t, env, img, "--verify")
	out, _ := download2(t, env, id, "--verify")
	sameFiles(t, img, out)
	out, _ = download2(t, env, id, "--single")
	sameFiles(t, img, out)
	upload2(t, env, img, "--single", "--verify")
	assertNoStorageAuth(t, srv)
}

func TestE2EV2NoRange(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{NoRange: true})
	img := v2Image(t)
	id := upload2(t, env, img, "--verify")
	out, stderr := download2(t, env, id, "--verify")
	sameFiles(t, img, out)
	if !strings.Contains(stderr, "ignores Range") {
		t.Errorf("no note of the fallback to one stream: %s", stderr)
	}
	assertNoStorageAuth(t, srv)
}

func TestE2EV2URLExpiresMidDownload(t *testing.T) {
	logs := newLogCounter("download/ 302", "storage GET")
	// The emulator signs expiry times in whole seconds, so a 300 ms URL
	// lives at most 1.3 s. 256 KiB chunks make segments of 16 chunks
	// (4 MiB), 6 of them for 4 workers: at 2 MiB/s per connection the
	// second round of requests starts after 2 s, with the URL expired.
	srv, env := startEmulator(t, emulator.Config{URLExpiry: 300 * time.Millisecond, Latency: 20 * time.Millisecond,
		ConnBandwidth: 2 << 20, ResetRate: 0.05, Seed: 5, Logf: logs.logf})
	img := writeMixedImage(t, 20<<20, 4<<20)
	id := upload2(t, env, img)
	before := logs.count("download/ 302")
	out, _ := download2(t, env, id, "-c", "4", "--chunk-size", "256K")
	sameFiles(t, img, out)
	if n := logs.count("download/ 302") - before; n < 2 {
		t.Errorf("%d download URLs asked for: the expired URL was not replaced", n)
	}
	assertNoStorageAuth(t, srv)
}

func TestE2EV2ContinueDrive(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{})
	img := v2Image(t)
	fi, _ := os.Stat(img)
	// A drive an interrupted upload started, of the image's size.
	d, err := srv.Store().InitUpload("interrupted", fi.Size(), "disk")
	if err != nil {
		t.Fatal(err)
	}
	id := upload2(t, env, img, "--drive", d.UUID)
	if id != d.UUID {
		t.Errorf("upload --drive printed %s, want %s", id, d.UUID)
	}
	out, _ := download2(t, env, id)
	sameFiles(t, img, out)

	other, err := srv.Store().InitUpload("other size", fi.Size()+1, "disk")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"finished drive", []string{"upload", img, "--drive", d.UUID}, 2, "not uploading"},
		{"size mismatch", []string{"upload", img, "--drive", other.UUID}, 2, "was started for"},
		{"unknown drive upload", []string{"upload", img, "--drive", "00000000-0000-4000-8000-000000000000"}, 4, "does not exist"},
		{"unknown drive download", []string{"download", "00000000-0000-4000-8000-000000000000", "-O"}, 4, "does not exist"},
		{"single and drive", []string{"upload", img, "--single", "--drive", other.UUID}, 2, "--single"},
		{"o and O", []string{"download", d.UUID, "-O", "-o", "x"}, 2, "exclude"},
		{"no output", []string{"download", d.UUID}, 2, "-O"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, env, tc.args...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, tc.code, stdout, stderr, tc.want)
			}
			assertOneErrorLine(t, stderr)
		})
	}
}

// runCLIIn runs the binary in dir, like runCLI.
func runCLIIn(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(baseEnv(t), env...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running drivecp %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// fakeV2API is an API 2.0 endpoint answering just what a download asks:
// locations (404: keep the direct host), one drive, and its download,
// redirected as download says.
func fakeV2API(t *testing.T, id string, size int64, download http.HandlerFunc) []string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/2.0/locations/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `[{"error_type":"notexist","error_message":"no locations here","error_point":null}]`)
	})
	mux.HandleFunc("/api/2.0/drives/"+id+"/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"uuid":%q,"name":"fake","size":%d,"status":"unmounted","media":"disk"}`, id, size)
	})
	mux.HandleFunc("/api/2.0/drives/"+id+"/download/", download)
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	return []string{"CLOUDSIGMA_ENDPOINT=" + api.URL, "CLOUDSIGMA_USERNAME=u@example.com", "CLOUDSIGMA_PASSWORD=p"}
}

func TestE2EV2HostileServers(t *testing.T) {
	const id = "11111111-2222-4333-8444-555555555555"
	data := bytes.Repeat([]byte("drivecp\n"), 1<<17) // 1 MiB
	var storageAuth atomic.Int64
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			storageAuth.Add(1)
		}
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusFound)
			return
		}
		w.Header().Set("Content-Disposition", `attachment; filename="../../etc/passwd"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer storage.Close()

	t.Run("content-disposition escapes", func(t *testing.T) {
		env := fakeV2API(t, id, int64(len(data)), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, storage.URL+"/dl/"+id+"?sig=s3cret", http.StatusFound)
		})
		root := t.TempDir()
		cwd := filepath.Join(root, "a", "b")
		if err := os.MkdirAll(cwd, 0o700); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runCLIIn(t, cwd, env, "download", id, "-O", "--verify")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got, err := os.ReadFile(filepath.Join(cwd, "passwd"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("the file was not saved as ./passwd: %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "etc")); !errors.Is(err, os.ErrNotExist) {
			t.Error("the download escaped the current folder")
		}
		if strings.Contains(stderr, "s3cret") {
			t.Errorf("the signature leaked into the output: %s", stderr)
		}
		if storageAuth.Load() != 0 {
			t.Errorf("%d requests with credentials reached the storage host", storageAuth.Load())
		}
	})

	for _, tc := range []struct {
		name     string
		download http.HandlerFunc
	}{
		{"api redirect loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) }},
		{"storage redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, storage.URL+"/loop", http.StatusFound)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeV2API(t, id, int64(len(data)), tc.download)
			out := filepath.Join(t.TempDir(), "x.img")
			_, stderr, code := runCLI(t, env, "download", id, "-o", out)
			if code != ExitFailure || !strings.Contains(stderr, "redirect loop") {
				t.Errorf("exit %d, stderr %q: want 1 and a redirect loop", code, stderr)
			}
			assertOneErrorLine(t, stderr)
		})
	}

	t.Run("not cloudsigma", func(t *testing.T) {
		html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Welcome to nginx!</body></html>")
		}))
		defer html.Close()
		env := []string{"CLOUDSIGMA_ENDPOINT=" + html.URL, "CLOUDSIGMA_USERNAME=u@example.com", "CLOUDSIGMA_PASSWORD=p"}
		img := writeMixedImage(t, 1<<20, 0)
		for _, args := range [][]string{
			{"upload", img},
			{"upload", img, "--single"},
			{"download", id, "-o", filepath.Join(t.TempDir(), "x.img")},
		} {
			_, stderr, code := runCLI(t, env, args...)
			if code != ExitFailure || !strings.Contains(stderr, "CloudSigma") {
				t.Errorf("%v: exit %d, stderr %q: want 1 and a clear error", args, code, stderr)
			}
			assertOneErrorLine(t, stderr)
		}
	})
}

func TestE2EDemoV2Rows(t *testing.T) {
	stdout, stderr, code := runCLI(t, nil, "demo", "--size", "24M", "-c", "4")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"upload (API 2.0 chunked)", "download (API 2.0 ranged)", "upload (API 2.0 single)", "download (API 2.0 single stream)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestE2EV2SingleUploadToResolvedDirectHost(t *testing.T) {
	const id = "99999999-8888-4777-8666-555555555555"
	img := writeMixedImage(t, 3<<20, 1<<20)
	want, _ := os.ReadFile(img)
	var (
		mu       sync.Mutex
		got      []byte
		authSeen bool
	)
	// The direct host /locations/ names is not the API's host: the shared
	// client must be allowed to send it the credentials.
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "u@example.com" || pass != "p" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/api/2.0/drives/upload/") || r.ContentLength != int64(len(want)) {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(r.Body)
		mu.Lock()
		got, authSeen = body.Bytes(), true
		mu.Unlock()
		fmt.Fprint(w, id)
	}))
	defer direct.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/2.0/locations/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"meta":{"limit":0,"offset":0,"total_count":1},"objects":[{"id":"zrh","api_endpoint":%q,"upload_url":%q}]}`,
			"http://"+r.Host+"/api/2.0/", direct.URL)
	})
	mux.HandleFunc("/api/2.0/drives/"+id+"/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"uuid":%q,"name":"uploaded","size":%d,"status":"unmounted","media":"disk"}`, id, len(want))
	})
	api := httptest.NewServer(mux)
	defer api.Close()
	env := []string{"CLOUDSIGMA_ENDPOINT=" + api.URL, "CLOUDSIGMA_USERNAME=u@example.com", "CLOUDSIGMA_PASSWORD=p"}
	stdout, stderr, code := runCLI(t, env, "upload", img, "--single")
	if code != 0 || strings.TrimSpace(stdout) != id {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if !authSeen || !bytes.Equal(got, want) {
		t.Errorf("direct host: authenticated %v, image equal %v", authSeen, bytes.Equal(got, want))
	}
}

func TestE2EV2Ext4Image(t *testing.T) {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	// A 40 MiB ext4 image made from a folder of text and random files.
	src := t.TempDir()
	for i := range 12 {
		data := bytes.Repeat([]byte(fmt.Sprintf("file %d of the ext4 test image\n", i)), 20000+i*1000)
		if i%3 == 0 {
			data = make([]byte, 700<<10)
			for j := range data {
				data[j] = byte(j*7 + i*13 + j>>9)
			}
		}
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d", i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	if out, err := exec.Command(mkfs, "-q", "-F", "-d", src, img, "40M").CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4 -d failed (too old?): %v\n%s", err, out)
	}
	srv, env := startEmulator(t, emulator.Config{FailRate: 0.1, ResetRate: 0.03, Seed: 9})
	id := upload2(t, env, img, "--verify")
	out, _ := download2(t, env, id)
	sameFiles(t, img, out)
	out, _ = download2(t, env, id, "--single")
	sameFiles(t, img, out)
	assertNoStorageAuth(t, srv)
}

// TestE2ESparseNoteV2: an API 2.0 upload of a mostly sparse image says that
// API 1.0 would skip the holes, unless --quiet; a dense image gets no note.
func TestE2ESparseNoteV2(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, emulator.Config{})
	sparse := writeMixedImage(t, 4<<20, 12<<20)
	dense := writeMixedImage(t, 8<<20, 0)
	const note = "drivecp: note: 12 MiB of this 16 MiB image are holes, which an API 2.0 upload must send as zeros; --api v1 skips them (and gzips the rest)\n"
	for _, tc := range []struct {
		img  string
		args []string
		want bool
	}{
		{sparse, nil, true},
		{sparse, []string{"--single"}, true},
		{sparse, []string{"-q"}, false},
		{dense, nil, false},
	} {
		args := append([]string{"upload", tc.img, "--api", "v2"}, tc.args...)
		_, stderr, code := runCLI(t, env, args...)
		if code != 0 || strings.Contains(stderr, note) != tc.want || strings.Count(stderr, note) > 1 {
			t.Errorf("%v: exit %d, note wanted %v, stderr:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}
