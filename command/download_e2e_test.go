package command

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/emulator"
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

// TestE2ELookupsHonourRetries: the requests before a transfer (API 2.0's
// location lookup, API 1.0's drive lookup) follow --retries and
// --retry-time; without them they stay short, so an unreachable endpoint
// still fails within seconds.
func TestE2ELookupsHonourRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, api string
		fail      func(*http.Request) bool
	}{
		{"location lookup v2", "v2", func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/locations/") }},
		{"drive lookup v1", "v1", func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/info") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env, reset := startFlakyEmulator(t, tc.fail, 5)
			id := putDrive(t, srv, writeResumeImage(t, 1<<20+10, 1))
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
