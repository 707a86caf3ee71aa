package command

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestE2EDownloadOrderedNoRange downloads to standard output and to qcow2
// from a storage host that ignores Range: the ranged download notices
// before writing a byte and continues as one stream, as --single does
// from the start; every output is byte-identical.
func TestE2EDownloadOrderedNoRange(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{NoRange: true})
	img := writeMixedImage(t, 5<<20+1234, 1<<20)
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	res := uploadJSON(t, env, img, "--api", "v1")
	for _, extra := range [][]string{nil, {"--single"}} {
		out, errOut := downloadStdout(t, env, "", append([]string{res.Drive, "--api", "v2", "-c", "4", "--chunk-size", "256K"}, extra...)...)
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("-o - %q: standard output (%d bytes) differs from the image (%d bytes)", extra, out.Len(), len(want))
		}
		if note := strings.Contains(errOut.String(), "ignores Range"); note != (extra == nil) {
			t.Errorf("-o - %q: note of the fallback %v:\n%s", extra, note, errOut.String())
		}
	}
	out := filepath.Join(t.TempDir(), "back.qcow2")
	_, stderr, code := runCLI(t, env, "download", res.Drive, "--api", "v2", "-o", out, "--verify", "-c", "4", "--chunk-size", "256K")
	if code != 0 {
		t.Fatalf("qcow2 download from a host ignoring Range: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "identical") {
		t.Errorf("no verification on stderr:\n%s", stderr)
	}
	if got, _ := readQcow2(t, out); !bytes.Equal(got, want) {
		t.Error("the qcow2 file reads back differently from the image")
	}
	assertNoStorageAuth(t, srv)
}

// TestE2EDownloadQcow2VerifyMismatch changes the drive while a qcow2
// download with --verify runs: the read-back differs, the command exits 1
// naming the chunk, and neither FILE nor FILE.part is left.
func TestE2EDownloadQcow2VerifyMismatch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	id := putDrive(t, srv, writeResumeImage(t, 16<<20, 7))
	out := filepath.Join(t.TempDir(), "back.qcow2")
	p := startCLI(t, env, "download", id, "-o", out, "--verify", "--api", "v1", "-c", "2", "--chunk-size", "1M")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(out + ".part"); err == nil && fi.Size() > 0 {
			break // the first chunk has been read
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s.part with data after 30 s:\n%s", out, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h, err := srv.Store().OpenDrive(id, emulator.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	changed := make([]byte, 1<<20)
	for i := range changed {
		changed[i] = byte(rand.Uint32() | 1)
	}
	if _, err := h.WriteAt(changed, 0); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if code := p.wait(t, 60*time.Second); code != ExitFailure {
		t.Errorf("exit %d, want %d\n%s", code, ExitFailure, p.stderr)
	}
	stderr := p.stderr.String()
	if !strings.Contains(stderr, "verification failed") || !strings.Contains(stderr, "removed") {
		t.Errorf("stderr does not name the failed verification and the removed file:\n%s", stderr)
	}
	for _, f := range []string{out, out + ".part"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left after a failed verification (%v)", filepath.Base(f), err)
		}
	}
}

// downloadStdout runs `drivecp download ARGS -o -` in dir (a temporary
// folder when "") and returns its standard output and error; it fails the
// test unless the command succeeds.
func downloadStdout(t *testing.T, env []string, dir string, args ...string) (stdout, stderr *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binPath, append(append([]string{"download"}, args...), "-o", "-")...)
	cmd.Env = append(baseEnv(t), env...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = t.TempDir()
	}
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("download %q -o -: %v\n%s", args, err, stderr)
	}
	return stdout, stderr
}
