package command

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// End-to-end tests of what a download does with hostile or mistaken input
// and with a failing network: each runs the built binary against the
// emulator and checks the exit code, the one error line and what is left
// on disk.

// startFlakyEmulator serves a started emulator through a proxy that
// answers the first n requests matching fail with 503 (the API's
// "concurrency error", which a client retries), and n more after each call
// of the returned reset; everything else reaches the emulator. Downloads
// over API 2.0 are redirected to the emulator's own storage host, outside
// the proxy.
func startFlakyEmulator(t *testing.T, fail func(*http.Request) bool, n int64) (srv *emulator.Server, env []string, reset func()) {
	t.Helper()
	srv, _ = startEmulator(t, emulator.Config{})
	var failed atomic.Int64
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail(r) && failed.Add(1) <= n {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`[{"error_type": "concurrency", "error_message": "injected", "error_point": null}]`))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c := srv.Config()
	env = []string{"CLOUDSIGMA_ENDPOINT=" + ts.URL + "/", "CLOUDSIGMA_USERNAME=" + c.User, "CLOUDSIGMA_PASSWORD=" + c.Password}
	return srv, env, func() { failed.Store(0) }
}

// TestE2ELookupsHonourRetries: the requests before a transfer (the drive
// lookup of either API) follow --retries and --retry-time; without them
// they stay short, so an unreachable endpoint still fails within seconds.
// (API 2.0's location lookup is part of the transfer that needs the direct
// host, under the transfer's policy.)
func TestE2ELookupsHonourRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, api string
		fail      func(r *http.Request, id string) bool
	}{
		{"drive lookup v2", "v2", func(r *http.Request, id string) bool {
			return r.Method == http.MethodGet && r.URL.Path == "/api/2.0/drives/"+id+"/"
		}},
		{"drive lookup v1", "v1", func(r *http.Request, _ string) bool { return strings.HasSuffix(r.URL.Path, "/info") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var drive atomic.Pointer[string]
			srv, env, reset := startFlakyEmulator(t, func(r *http.Request) bool {
				id := drive.Load()
				return id != nil && tc.fail(r, *id)
			}, 5)
			id := putDrive(t, srv, writeResumeImage(t, 1<<20+10, 1))
			drive.Store(&id)
			dir := t.TempDir()
			_, stderr, code := runCLI(t, env, "download", id, "--api", tc.api, "-o", filepath.Join(dir, "short.img"), "-q")
			if code != ExitFailure || !strings.Contains(stderr, "gave up after 4 attempts") {
				t.Errorf("default policy: exit %d, want %d after 4 attempts\n%s", code, ExitFailure, stderr)
			}
			reset()
			out := filepath.Join(dir, "long.img")
			_, stderr, code = runCLI(t, env, "download", id, "--api", tc.api, "-o", out, "-q", "--retries", "20", "--retry-time", "2m")
			if code != 0 {
				t.Fatalf("--retries 20 --retry-time 2m: exit %d\n%s", code, stderr)
			}
			if fi, err := os.Stat(out); err != nil || fi.Size() != 1<<20+10 {
				t.Errorf("downloaded file: %v %v", fi, err)
			}
		})
	}
}

// TestE2EDownloadRefusesBadTargets: a malformed drive UUID is refused
// before any request (exit 2, like other malformed ones, not the server's
// 404), and so is an output that is not a regular file, --force or not:
// renaming over a FIFO or device node replaced the node.
func TestE2EDownloadRefusesBadTargets(t *testing.T) {
	t.Parallel()
	srv, env := startEmulator(t, emulator.Config{})
	id := putDrive(t, srv, writeResumeImage(t, 1<<20, 2))
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	type target struct {
		name, path string
		mode       os.FileMode
	}
	targets := []target{{"fifo", fifo, os.ModeNamedPipe}}
	// A device node needs privileges; /dev/null's numbers are harmless.
	dev := filepath.Join(dir, "null")
	if err := mknodNull(dev); err == nil {
		targets = append(targets, target{"device", dev, os.ModeDevice | os.ModeCharDevice})
	} else {
		t.Logf("no device node test: mknod: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	targets = append(targets, target{"link to fifo", link, os.ModeSymlink})

	for _, api := range []string{"v1", "v2"} {
		for _, bad := range []string{"ü-drive", "drive\x01", "two words"} {
			_, stderr, code := runCLI(t, env, "download", bad, "--api", api, "-o", filepath.Join(dir, "x.img"))
			if code != ExitUsage || !strings.Contains(stderr, "is not a") {
				t.Errorf("%s download %q: exit %d, want %d\n%s", api, bad, code, ExitUsage, stderr)
			}
			assertOneErrorLine(t, stderr)
		}
		for _, tg := range targets {
			_, stderr, code := runCLI(t, env, "download", id, "--api", api, "-o", tg.path, "--force")
			if code != ExitUsage || !strings.Contains(stderr, "not a regular file") {
				t.Errorf("%s download -o %s --force: exit %d, want %d\n%s", api, tg.name, code, ExitUsage, stderr)
			}
			fi, err := os.Lstat(tg.path)
			if err != nil || fi.Mode().Type() != tg.mode.Type() {
				t.Errorf("%s: %s is now %v (%v), want it untouched", api, tg.name, fi.Mode(), err)
			}
		}
	}
	if _, stderr, code := runCLI(t, env, "drive", "info", "ü-drive"); code != ExitUsage {
		t.Errorf("drive info of a non-ASCII UUID: exit %d, want %d\n%s", code, ExitUsage, stderr)
	}
}

// TestE2EDownloadHangup: SIGHUP (the terminal went away) stops a download
// like SIGINT and SIGTERM: progress saved, a line that says so, exit 5,
// and the rerun continues.
func TestE2EDownloadHangup(t *testing.T) {
	t.Parallel()
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 16<<20+777, 5)
	id := putDrive(t, srv, img)
	out := filepath.Join(t.TempDir(), "back.img")
	args := []string{"download", id, "-o", out, "--api", "v1", "-c", "2", "--chunk-size", "1M"}
	p := startAndWaitCheckpoint(t, env, args...)
	interruptWith(t, p, syscall.SIGHUP)
	_, stderr, code := runCLI(t, env, args...)
	if code != 0 || resumedChunks(stderr) == 0 {
		t.Fatalf("rerun after SIGHUP: exit %d\n%s", code, stderr)
	}
	sameFiles(t, img, out)
}

// TestE2EConcurrentDownloadsOneOutput: a second download into a file
// another is writing, of the same drive or another (their checkpoints
// differ), is refused with one line and exit 2, and leaves the first's
// FILE.part, checkpoint and result intact.
func TestE2EConcurrentDownloadsOneOutput(t *testing.T) {
	t.Parallel()
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	imgA := writeResumeImage(t, 16<<20+333, 7)
	imgB := writeResumeImage(t, 12<<20+5, 8)
	a, b := putDrive(t, srv, imgA), putDrive(t, srv, imgB)
	out := filepath.Join(t.TempDir(), "x.img")
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			common := []string{"--api", api, "-c", "2", "--chunk-size", "1M"}
			p := startAndWaitCheckpoint(t, env, append([]string{"download", a, "-o", out}, common...)...)
			for _, second := range [][]string{
				append([]string{"download", b, "-o", out}, common...),
				append([]string{"download", b, "-o", out, "--force", "--restart"}, common...),
				append([]string{"download", a, "-o", out, "--force"}, common...),
			} {
				_, stderr, code := runCLI(t, env, second...)
				if code != ExitUsage || !strings.Contains(stderr, "another drivecp is") {
					t.Errorf("%v while another download writes %s: exit %d, want %d\n%s", second, out, code, ExitUsage, stderr)
				}
				assertOneErrorLine(t, stderr)
			}
			if code := p.wait(t, time.Minute); code != 0 {
				t.Fatalf("first download: exit %d\n%s", code, p.stderr)
			}
			sameFiles(t, imgA, out)
			if c := savedCheckpoint(t); c != nil {
				t.Errorf("checkpoint left behind: %s", c.ID())
			}
			if err := os.Remove(out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestE2EDownloadBadOutputFolder: an output folder that does not exist (or
// cannot be written) is bad input, found before any state is created: one
// line, exit 2, no checkpoint, no hint to resume.
func TestE2EDownloadBadOutputFolder(t *testing.T) {
	t.Parallel()
	srv, env := startEmulator(t, emulator.Config{})
	id := putDrive(t, srv, writeResumeImage(t, 1<<20, 3))
	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "nope", "x.img")}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, filepath.Join(ro, "x.img"))
	}
	for _, api := range []string{"v1", "v2"} {
		for _, out := range outs {
			_, stderr, code := runCLI(t, env, "download", id, "--api", api, "-o", out)
			if code != ExitUsage || !strings.Contains(stderr, "cannot write "+out) || strings.Contains(stderr, "resume") {
				t.Errorf("%s -o %s: exit %d, want %d\n%s", api, out, code, ExitUsage, stderr)
			}
			assertOneErrorLine(t, stderr)
			if c := savedCheckpoint(t); c != nil {
				t.Errorf("%s -o %s left checkpoint %s", api, out, c.ID())
			}
		}
	}
}

// TestE2EDownloadDriveDeleted: a drive deleted mid-download fails the run
// as not found (exit 4) with a hint to discard the checkpoint, not to
// resume; the rerun's lookup finds no drive and names the checkpoint to
// discard too. (API 1.0 reads each chunk in its own request, so the
// emulator lets the drive go between two; over API 2.0 the drive is
// deleted after an interruption, which tests the rerun.)
func TestE2EDownloadDriveDeleted(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 2 << 20})
			id := putDrive(t, srv, writeResumeImage(t, 24<<20, 4))
			out := filepath.Join(t.TempDir(), "x.img")
			// One request at a time leaves gaps in which the emulator,
			// which refuses to delete a drive being read, lets it go.
			args := []string{"download", id, "-o", out, "--api", api, "-c", "1", "--chunk-size", "1M", "--retries", "2"}
			p := startAndWaitCheckpoint(t, env, args...)
			c := savedCheckpoint(t)
			rm := "drivecp checkpoint rm " + c.ID()
			if api == "v2" {
				interrupt(t, p)
			}
			deadline := time.Now().Add(20 * time.Second)
			for err := srv.Store().DeleteDrive(id); err != nil; err = srv.Store().DeleteDrive(id) {
				if time.Now().After(deadline) {
					t.Fatalf("cannot delete the drive: %v", err)
				}
				time.Sleep(time.Millisecond) // busy while a request reads it
			}
			if api == "v1" {
				if code := p.wait(t, time.Minute); code != ExitNotFound || !strings.Contains(p.stderr.String(), rm) ||
					strings.Contains(p.stderr.String(), "run the same command again") {
					t.Errorf("drive deleted mid-download: exit %d, want %d and a hint to discard the checkpoint\n%s", code, ExitNotFound, p.stderr)
				}
			}
			_, stderr, code := runCLI(t, env, args...)
			if code != ExitNotFound || !strings.Contains(stderr, rm) {
				t.Errorf("rerun: exit %d, want %d and a hint to discard the checkpoint\n%s", code, ExitNotFound, stderr)
			}
			assertOneErrorLine(t, stderr)
		})
	}
}

// TestE2ELostNetworkExits5: when the server goes away mid-transfer and the
// retries run out, the progress is saved and the exit code is 5, as README
// promises for an interruption the same command continues; for uploads
// and downloads alike.
func TestE2ELostNetworkExits5(t *testing.T) {
	t.Parallel()
	img := writeResumeImage(t, 24<<20, 6)
	for _, tc := range []struct{ name, api string }{{"download v1", "v1"}, {"download v2", "v2"}, {"upload v1", "v1"}, {"upload v2", "v2"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 2 << 20})
			args := []string{"upload", img}
			if strings.HasPrefix(tc.name, "download") {
				args = []string{"download", putDrive(t, srv, img), "-o", filepath.Join(t.TempDir(), "x.img")}
			}
			args = append(args, "--api", tc.api, "-c", "2", "--chunk-size", "1M", "--retries", "2", "--retry-time", "2s")
			p := startAndWaitCheckpoint(t, env, args...)
			_ = srv.Close()
			code := p.wait(t, time.Minute)
			if code != ExitInterrupted || !strings.Contains(p.stderr.String(), "run the same command again") {
				t.Errorf("server gone: exit %d, want %d\n%s", code, ExitInterrupted, p.stderr)
			}
			if c := savedCheckpoint(t); c == nil || c.DoneCount() == 0 {
				t.Errorf("no progress saved: %+v", c)
			}
		})
	}
}
