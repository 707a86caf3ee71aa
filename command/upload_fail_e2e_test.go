package command

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestE2ESingleUploadFailureExitsNonZero: a direct upload the server
// refuses must fail the command, not print an empty UUID and exit 0 (a
// shadowed err once lost the failure).
func TestE2ESingleUploadFailureExitsNonZero(t *testing.T) {
	img := writeMixedImage(t, 1<<20, 0)
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `[{"error_type":"validation","error_message":"refused"}]`, http.StatusBadRequest)
	}))
	defer direct.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/2.0/locations/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"meta":{"limit":0,"offset":0,"total_count":1},"objects":[{"id":"zrh","api_endpoint":%q,"upload_url":%q}]}`,
			"http://"+r.Host+"/api/2.0/", direct.URL)
	})
	api := httptest.NewServer(mux)
	defer api.Close()
	env := []string{"CLOUDSIGMA_ENDPOINT=" + api.URL, "CLOUDSIGMA_USERNAME=u@example.com", "CLOUDSIGMA_PASSWORD=p"}
	stdout, stderr, code := runCLI(t, env, "upload", img, "--single", "--retries", "1")
	if code == 0 || strings.TrimSpace(stdout) != "" {
		t.Fatalf("refused single upload: exit %d, stdout %q, want a failure and no UUID\n%s", code, stdout, stderr)
	}
	assertOneErrorLine(t, stderr)
}

// TestE2EUploadFIFORefused: a named pipe with no writer must be refused at
// once (exit 2, one line), not block in open where signals cannot end it.
func TestE2EUploadFIFORefused(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.img")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	env := emulatorEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := runCLIContext(t, ctx, env, "upload", fifo)
	if ctx.Err() != nil {
		t.Fatal("upload of a FIFO with no writer hung")
	}
	if r.code != ExitUsage || !strings.Contains(r.stderr, "not a regular file") || r.stdout != "" {
		t.Fatalf("FIFO upload: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
}

// TestE2ESingleUploadNotesMinimumSize: a --single upload below the cloud's
// minimum drive size says that the drive became larger than the image.
func TestE2ESingleUploadNotesMinimumSize(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	img := writeMixedImage(t, 2<<20, 0)
	stdout, stderr, code := runCLI(t, env, "upload", img, "--single")
	if code != 0 || strings.TrimSpace(stdout) == "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "minimum drive size") || !strings.Contains(stderr, strings.TrimSpace(stdout)) {
		t.Errorf("no note about the grown drive: %s", stderr)
	}
	_, stderr, _ = runCLI(t, env, "upload", img, "--single", "-q")
	if strings.Contains(stderr, "minimum") {
		t.Errorf("-q still notes: %s", stderr)
	}
}

// TestE2EUploadFailingBeforeAnyWorkLeavesNoCheckpoint: an upload that
// fails before it created a drive or sent a chunk (a --drive that does not
// exist, a wrong password) leaves no checkpoint, so the next command is not
// held to the failed one's options; one that got as far as a drive keeps it.
func TestE2EUploadFailingBeforeAnyWorkLeavesNoCheckpoint(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, emulator.Config{})
	img := writeMixedImage(t, 1<<20, 0)
	const missing = "00000000-0000-4000-8000-000000000000"
	for _, api := range []string{"v2", "v1"} {
		_, stderr, code := runCLI(t, env, "upload", img, "--api", api, "--drive", missing, "-q")
		if code != ExitNotFound {
			t.Errorf("--api %s --drive %s: exit %d, want %d\n%s", api, missing, code, ExitNotFound, stderr)
		}
		assertOneErrorLine(t, stderr)
		if c := savedCheckpoint(t); c != nil {
			t.Errorf("--api %s: a checkpoint remains after a failed drive lookup: %+v", api, c.Key)
		}
	}
	wrong := append(slices.Clone(env), "CLOUDSIGMA_PASSWORD=wrong")
	if _, stderr, code := runCLI(t, wrong, "upload", img, "-q"); code != ExitAuth {
		t.Errorf("wrong password: exit %d, want %d\n%s", code, ExitAuth, stderr)
	}
	if c := savedCheckpoint(t); c != nil {
		t.Errorf("a checkpoint remains after a refused password: %+v", c.Key)
	}
	// And then a different command of the same image runs: nothing holds it.
	if _, stderr, code := runCLI(t, env, "upload", img, "--single", "-q"); code != 0 {
		t.Errorf("--single after the failures: exit %d\n%s", code, stderr)
	}
}
