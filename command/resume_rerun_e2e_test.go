package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
)

// changeDoneChunks writes 15 bytes into the middle of one chunk the
// checkpoint c holds with a hash and, when it has one, into one it holds
// as zeros (neither the first nor the last chunk, which the source
// fingerprint already covers), then puts the image's modification time
// back, so that only reading the chunks again can notice. It returns the
// indexes it changed.
func changeDoneChunks(t *testing.T, img string, c *resume.Checkpoint, chunk int64) []int {
	t.Helper()
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	hashed, zero := -1, -1
	for i := 1; i < c.Total-1; i++ {
		if _, ok := c.IsDone(i); !ok {
			continue
		}
		if c.IsZero(i) {
			if zero < 0 {
				zero = i
			}
		} else if hashed < 0 {
			hashed = i
		}
	}
	if hashed < 0 {
		t.Fatalf("no done chunk with data between the first and the last: %d of %d done", c.DoneCount(), c.Total)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	changed := []int{}
	for _, i := range []int{hashed, zero} {
		if i < 0 {
			continue
		}
		if _, err := f.WriteAt([]byte("fifteen bytes!!"), int64(i)*chunk+chunk/2); err != nil {
			t.Fatal(err)
		}
		changed = append(changed, i)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(img, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	return changed
}

// waitDone waits until the test's checkpoint holds at least n chunks, so
// that zero chunks are among them.
func waitDone(t *testing.T, n int) {
	t.Helper()
	waitCheckpoint(t, func(c *resume.Checkpoint) bool { return c.DoneCount() >= n })
}

// waitCheckpoint waits until the test's checkpoint satisfies ok.
func waitCheckpoint(t *testing.T, ok func(c *resume.Checkpoint) bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c := savedCheckpoint(t); c != nil && ok(c) {
			return
		}
	}
	t.Fatal("no such checkpoint saved within 30s")
}

// downloadSame downloads drive through the binary and fails unless it is
// byte-identical to img.
func downloadSame(t *testing.T, env []string, drive, img string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "back.img")
	if _, stderr, code := runCLI(t, env, "download", drive, "--api", "v1", "-o", out); code != 0 {
		t.Fatalf("download %s: exit %d\n%s", drive, code, stderr)
	}
	a, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > len(a) {
		b = b[:len(a)]
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("drive %s differs from %s", drive, img)
	}
}

// TestE2EResumeRechecksDoneChunksV1: a chunk an interrupted API 1.0 upload
// sent, changed afterwards with the modification time put back, is found
// by hashing the done chunks again and sent again: the drive ends up as
// the changed image, and stderr says chunks changed.
func TestE2EResumeRechecksDoneChunksV1(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 24<<20+5000, 7)
	args := []string{"upload", img, "--api", "v1", "-c", "2", "--chunk-size", "1M"}
	p := startAndWaitCheckpoint(t, env, args...)
	waitDone(t, 6)
	interrupt(t, p)
	c := savedCheckpoint(t)
	changed := changeDoneChunks(t, img, c, 1<<20)

	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "changed") {
		t.Errorf("rerun does not say that chunks %v changed:\n%s", changed, stderr)
	}
	t.Logf("chunks %v changed; rerun:\n%s", changed, stderr)
	drive := strings.TrimSpace(stdout)
	if drive != c.Extra[session.ExtraDrive] {
		t.Errorf("rerun wrote drive %s, the checkpoint named %s", drive, c.Extra[session.ExtraDrive])
	}
	downloadSame(t, env, drive, img)
}

// TestE2EResumeRechecksDoneChunksV2: an API 2.0 chunked upload cannot
// replace a chunk the server holds, so a changed done chunk refuses the
// rerun (exit 2, hint --restart), and --restart then uploads the changed
// image whole.
func TestE2EResumeRechecksDoneChunksV2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 24<<20+5000, 8)
	args := []string{"upload", img, "-c", "2", "--chunk-size", "1M"}
	p := startAndWaitCheckpoint(t, env, args...)
	waitDone(t, 6)
	interrupt(t, p)
	c := savedCheckpoint(t)
	changeDoneChunks(t, img, c, 1<<20)

	stdout, stderr, code := runCLI(t, env, args...)
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "changed") || !strings.Contains(stderr, "--restart") {
		t.Fatalf("rerun after a done chunk changed: exit %d, want %d and a hint to --restart\nstdout %q\n%s", code, ExitUsage, stdout, stderr)
	}
	if n := strings.Count(stderr, "drivecp: error: "); n != 1 {
		t.Errorf("%d error lines, want 1:\n%s", n, stderr)
	}
	t.Logf("refused rerun:\n%s", stderr)

	// -q or not, --restart names the drive it leaves half-written.
	stdout, stderr, code = runCLI(t, env, append(args, "--restart", "-q")...)
	if code != 0 {
		t.Fatalf("--restart: exit %d\n%s", code, stderr)
	}
	if first := c.Extra[session.ExtraDrive]; !strings.Contains(stderr, "warning: drive "+first) {
		t.Errorf("--restart -q does not name drive %s, which the interrupted run left:\n%s", first, stderr)
	}
	downloadSame(t, env, strings.TrimSpace(stdout), img)
}

// refused runs args and expects exit 2 with a hint to --restart and the
// words of want on stderr, nothing on stdout, and no drive made.
func refused(t *testing.T, srv *emulator.Server, env []string, want string, args ...string) {
	t.Helper()
	drives := len(srv.Store().ListDrives())
	stdout, stderr, code := runCLI(t, env, args...)
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "--restart") || !strings.Contains(stderr, want) {
		t.Errorf("%v: exit %d, want %d with %q and a hint to --restart\nstdout %q\n%s", args[2:], code, ExitUsage, want, stdout, stderr)
	}
	if n := strings.Count(stderr, "drivecp: error: "); n != 1 {
		t.Errorf("%v: %d error lines, want 1:\n%s", args[2:], n, stderr)
	}
	t.Logf("%v:\n%s", args[2:], stderr)
	if n := len(srv.Store().ListDrives()); n != drives {
		t.Errorf("%v: %d drives, was %d", args[2:], n, drives)
	}
}

// TestE2EResumeRefusesContradictingOptions: a rerun whose --name, --api,
// --chunk-size or --drive contradicts the interrupted run's checkpoint
// stops with exit 2 and a hint to --restart, rather than carrying on
// into the interrupted run's drive or starting another beside it; the
// same command (without --name too) continues, and --restart with another
// --api discards the other run's checkpoint and names its drive, -q or not.
func TestE2EResumeRefusesContradictingOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 24<<20+5000, 9)
	base := []string{"upload", img, "-c", "2"}
	v1 := append(base[:len(base):len(base)], "--api", "v1", "--chunk-size", "1M")
	p := startAndWaitCheckpoint(t, env, append(v1, "--name", "A")...)
	interrupt(t, p)
	c := savedCheckpoint(t)
	first := c.Extra[session.ExtraDrive]

	refused(t, srv, env, "--name", append(v1, "--name", "B")...)
	refused(t, srv, env, "chunks", "upload", img, "-c", "2", "--api", "v1", "--chunk-size", "2M")
	refused(t, srv, env, "--api v1", append(base, "--chunk-size", "1M")...)
	refused(t, srv, env, "--api v1", append(base, "--api", "v2", "--chunk-size", "1M", "--name", "A")...)
	refused(t, srv, env, "drive", append(v1, "--drive", putDrive(t, srv, img))...)
	refused(t, srv, env, "--api v1", "upload", img, "--single", "--name", "A")

	// --restart with another --api discards the API 1.0 checkpoint and,
	// even with -q, names the drive it leaves half-written.
	p = startCLI(t, env, append(base, "--chunk-size", "1M", "--restart", "-q")...)
	waitCheckpoint(t, func(c *resume.Checkpoint) bool { return c.Key.API == resume.APIv2 && c.DoneCount() > 0 })
	interrupt(t, p)
	if !strings.Contains(p.stderr.String(), "warning: drive "+first) {
		t.Errorf("--restart -q does not name drive %s, which the interrupted run left:\n%s", first, p.stderr)
	}
	if c = savedCheckpoint(t); c == nil || c.Key.API != resume.APIv2 {
		t.Fatalf("after --restart with --api v2: checkpoint %+v", c)
	}
	// The same command without --name is the same command.
	stdout, stderr, code := runCLI(t, env, append(base, "--chunk-size", "1M")...)
	if code != 0 || strings.TrimSpace(stdout) != c.Extra[session.ExtraDrive] {
		t.Fatalf("rerun without --name: exit %d, drive %q, want %s\n%s", code, stdout, c.Extra[session.ExtraDrive], stderr)
	}

	// An upload into --drive: a rerun without it would write elsewhere.
	target := putDrive(t, srv, img)
	into := append(v1, "--drive", target)
	p = startAndWaitCheckpoint(t, env, into...)
	interrupt(t, p)
	refused(t, srv, env, "--drive "+target, v1...)
	refused(t, srv, env, "--drive "+target, append(v1, "--name", "C")...)
	if _, stderr, code := runCLI(t, env, into...); code != 0 {
		t.Fatalf("rerun with the same --drive: exit %d\n%s", code, stderr)
	}
}
