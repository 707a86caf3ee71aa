package command

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/session"
)

// checkpointTap is the stdout of an in-process run: when the command prints
// its result it copies the checkpoint files as they are at that moment,
// which is what a SIGKILL just before the result got out would leave.
type checkpointTap struct {
	t     *testing.T
	dir   string
	mu    sync.Mutex
	out   bytes.Buffer
	files map[string][]byte // checkpoint files at the first write
}

func (w *checkpointTap) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.files == nil {
		w.files = map[string][]byte{}
		entries, err := os.ReadDir(w.dir)
		if err != nil {
			w.t.Errorf("state folder when the result is printed: %v", err)
		}
		for _, e := range entries {
			// The snapshot and the journal of finished chunks beside it.
			if strings.HasSuffix(e.Name(), ".checkpoint") || strings.HasSuffix(e.Name(), ".journal") {
				b, err := os.ReadFile(filepath.Join(w.dir, e.Name()))
				if err != nil {
					w.t.Error(err)
				}
				w.files[e.Name()] = b
			}
		}
	}
	return w.out.Write(p)
}

// runInProcess runs drivecp's app in this process with args and returns
// its exit code and stderr.
func runInProcess(t *testing.T, stdout *checkpointTap, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	app := NewApp(strings.NewReader(""), stdout, &stderr)
	err := app.RunContext(context.Background(), ReorderArgs(app, append([]string{"drivecp"}, args...)))
	return Report(&stderr, err), stderr.String()
}

// TestUploadV2KilledBeforeUUID covers the window between the end of an
// API 2.0 chunked upload and the printing of its drive's UUID: the
// checkpoint must still be on disk then, so that a run killed in that
// window leaves a rerun that prints the same drive instead of uploading
// into a new one.
func TestUploadV2KilledBeforeUUID(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an upload")
	}
	srv, env := startEmulator(t, emulator.Config{})
	for _, kv := range append(env, baseEnv(t)...) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	img := writeResumeImage(t, 6<<20+1234, 11)
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"upload", img, "--api", "v2", "-c", "2", "--chunk-size", "1M", "--quiet"}

	tap := &checkpointTap{t: t, dir: stateDir(t)}
	code, stderr := runInProcess(t, tap, args...)
	if code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, stderr)
	}
	drive := strings.TrimSpace(tap.out.String())
	if !bytes.Equal(driveBytes(t, srv, drive, int64(len(want))), want) {
		t.Fatal("uploaded drive differs from the image")
	}
	if c := savedCheckpoint(t); c != nil {
		t.Fatalf("checkpoint %s left after success", c.ID())
	}
	// What a kill just before the UUID got out would have left.
	if n := countSuffix(tap.files, ".checkpoint"); n != 1 {
		t.Fatalf("%d checkpoints on disk when the UUID was printed, want 1 (a run killed then would upload again into a new drive)", n)
	}
	for name, b := range tap.files {
		if err := os.WriteFile(filepath.Join(stateDir(t), name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := savedCheckpoint(t)
	if c == nil || !c.Complete() || c.Extra[session.ExtraDrive] != drive {
		t.Fatalf("checkpoint at the time of printing: %+v, want complete and naming drive %s", c, drive)
	}

	// The rerun finds everything done and prints the same drive.
	rerun := &checkpointTap{t: t, dir: stateDir(t)}
	code, stderr = runInProcess(t, rerun, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if got := strings.TrimSpace(rerun.out.String()); got != drive {
		t.Errorf("rerun printed drive %q, want %s", got, drive)
	}
	if n := len(srv.Store().ListDrives()); n != 1 {
		t.Errorf("%d drives after the rerun, want 1", n)
	}
	if !bytes.Equal(driveBytes(t, srv, drive, int64(len(want))), want) {
		t.Error("drive differs from the image after the rerun")
	}
	if c := savedCheckpoint(t); c != nil {
		t.Errorf("checkpoint %s left after the rerun", c.ID())
	}
}

// countSuffix counts the names in files ending in suffix.
func countSuffix(files map[string][]byte, suffix string) int {
	n := 0
	for name := range files {
		if strings.HasSuffix(name, suffix) {
			n++
		}
	}
	return n
}
