package command

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// drivesNamed returns the UUIDs of the emulator's drives called name.
func drivesNamed(t *testing.T, srv *emulator.Server, name string) []string {
	t.Helper()
	var ids []string
	for _, d := range srv.Store().ListDrives() {
		if d.Name == name {
			ids = append(ids, d.UUID)
		}
	}
	return ids
}

// TestE2ELostCreateAnswer: the answer to the drive creation is lost after
// the server made the drive, so the retry makes a second one. The upload
// succeeds into the second and names the first on stderr.
func TestE2ELostCreateAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ api, path string }{{"v1", "/drives/create"}, {"v2", "/api/2.0/initupload/"}} {
		t.Run(tc.api, func(t *testing.T) {
			t.Parallel()
			srv, env := startLossyEmulator(t, func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == tc.path }, nil)
			img := writeMixedImage(t, 6<<20, 2<<20)
			stdout, stderr, code := runCLI(t, env, "upload", img, "--api", tc.api, "--name", "web", "-q")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			kept := strings.TrimSpace(stdout)
			ids := drivesNamed(t, srv, "web")
			if len(ids) != 2 {
				t.Fatalf("drives named web: %v", ids)
			}
			stray := ids[0]
			if stray == kept {
				stray = ids[1]
			}
			want := "drivecp: warning: drive " + stray + " (web, 8 MiB) is probably left over from a drive creation whose answer was lost; " +
				"if so, delete it: drivecp drive delete --api " + tc.api + " " + stray + "\n"
			if stderr != want {
				t.Fatalf("stderr:\n%s\nwant:\n%s", stderr, want)
			}
			if got := driveBytes(t, srv, kept, 8<<20); !sameBytesAsFile(t, got, img) {
				t.Fatal("the kept drive does not hold the image")
			}
		})
	}
}

// TestE2EKilledAfterCreate: the run dies after the server made its drive and
// before the answer reached it, so its checkpoint names no drive; the next
// run makes another drive and names the first.
func TestE2EKilledAfterCreate(t *testing.T) {
	t.Parallel()
	created := make(chan struct{})
	release := make(chan struct{})
	srv, env := startLossyEmulator(t, func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == "/drives/create" },
		func() { close(created); <-release })
	img := writeMixedImage(t, 6<<20, 2<<20)
	args := []string{"upload", img, "--api", "v1", "--name", "db"}
	p := startCLI(t, env, args...)
	select {
	case <-created:
	case <-time.After(time.Minute):
		t.Fatalf("no drive creation\n%s", p.stderr)
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t, time.Minute)
	close(release)
	first := drivesNamed(t, srv, "db")
	if len(first) != 1 {
		t.Fatalf("drives after the kill: %v", first)
	}

	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if kept := strings.TrimSpace(stdout); kept == first[0] || len(drivesNamed(t, srv, "db")) != 2 {
		t.Fatalf("rerun wrote %s; drives %v", kept, drivesNamed(t, srv, "db"))
	}
	if !strings.Contains(stderr, "drivecp: warning: drive "+first[0]+" (db, 8 MiB) is probably left over") {
		t.Fatalf("rerun does not name the first drive:\n%s", stderr)
	}
	if cp := savedCheckpoint(t); cp != nil {
		t.Fatalf("checkpoint left after success: %+v", cp.Extra)
	}
}

// sameBytesAsFile reports whether got equals the file at path.
func sameBytesAsFile(t *testing.T, got []byte, path string) bool {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(got) == string(want)
}

// TestE2ELostLastChunkAnswer: the answer to the chunk that completes an
// API 2.0 chunked upload is lost; the retry of that chunk finds the upload
// finished and the upload still succeeds, into the one drive.
func TestE2ELostLastChunkAnswer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	chunks := 0
	srv, env := startLossyEmulator(t, func(r *http.Request) bool {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/upload/") {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		chunks++
		return chunks == 3 // the last of 3 chunks, sent one at a time
	}, nil)
	img := writeMixedImage(t, 12<<20, 0)
	stdout, stderr, code := runCLI(t, env, "upload", img, "--api", "v2", "-c", "1", "--name", "last", "-q")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	ids := drivesNamed(t, srv, "last")
	if len(ids) != 1 || ids[0] != strings.TrimSpace(stdout) {
		t.Fatalf("drives named last: %v, stdout %q", ids, stdout)
	}
	if !sameBytesAsFile(t, driveBytes(t, srv, ids[0], 12<<20), img) {
		t.Fatal("the drive does not hold the image")
	}
}
