package command

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/imagefmt"
)

// readQcow2 reads a qcow2 file back through imagefmt (go-qcow2reader),
// as upload does, and returns its virtual bytes and allocated extents.
func readQcow2(t *testing.T, path string) ([]byte, []imagefmt.Extent) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := imagefmt.Open(f)
	if err != nil {
		f.Close()
		t.Fatalf("%s: %v", path, err)
	}
	defer src.Close()
	if src.Format != imagefmt.Qcow2 {
		t.Fatalf("%s is %s, want qcow2", path, src.Format)
	}
	b := make([]byte, src.Size)
	if _, err := src.ReaderAt.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b, src.Extents
}

// TestE2EDownloadQcow2 downloads a mixed image (random, text, zeros, a
// tail hole) as qcow2 through both APIs, by --format and by a .qcow2 name:
// the file reads back byte-identical with its zero clusters unallocated,
// and uploading it again makes a drive with the image's bytes.
func TestE2EDownloadQcow2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{})
	img := writeMixedImage(t, 5<<20+1234, 1<<20)
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	res := uploadJSON(t, env, img, "--api", "v1")
	dir := t.TempDir()
	for _, tc := range []struct {
		api, name string
		flags     []string
	}{
		{"v1", "by-flag.img", []string{"--format", "qcow2"}},
		{"v2", "by-name.qcow2", []string{"--verify"}},
		{"v1", "by-name-v1.QCOW2", nil},
	} {
		out := filepath.Join(dir, tc.name)
		args := append([]string{"download", res.Drive, "--api", tc.api, "-o", out, "-c", "4", "--chunk-size", "256K", "--json"}, tc.flags...)
		stdout, stderr, code := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d\n%s", args, code, stderr)
		}
		var dl downloadResult
		if err := json.Unmarshal([]byte(stdout), &dl); err != nil || dl.File != out || dl.Drive != res.Drive {
			t.Errorf("%q: --json printed %q (%v)", args, stdout, err)
		}
		if verify := len(tc.flags) > 0 && tc.flags[0] == "--verify"; dl.Verified != verify || strings.Contains(stderr, "identical") != verify {
			t.Errorf("%q: verified %v, stderr %q", args, dl.Verified, stderr)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", tc.name, fi.Mode().Perm())
		}
		if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
			t.Errorf("%s.part left: %v", tc.name, err)
		}
		got, ext := readQcow2(t, out)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s reads back differently from the image", tc.name)
		}
		// Every 5 MiB of the image holds 2 MiB of zeros, and its tail hole
		// 1 MiB: those clusters are unallocated, and the file is smaller.
		var mapped int64
		for _, e := range ext {
			mapped += e.Len
		}
		if mapped > int64(len(want))-2<<20 || fi.Size() > int64(len(want))-2<<20 {
			t.Errorf("%s: %d bytes allocated, file of %d bytes, for an image of %d with 3 MiB of zeros", tc.name, mapped, fi.Size(), len(want))
		}
		if qemu, err := exec.LookPath("qemu-img"); err == nil {
			if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "qcow2", img, out).CombinedOutput(); err != nil {
				t.Errorf("qemu-img compare: %v\n%s", err, out)
			}
		}
		// The qcow2 file uploads again to the same bytes.
		again := uploadJSON(t, env, out, "--api", tc.api)
		if again.Format != "qcow2" {
			t.Errorf("upload of %s read it as %q", tc.name, again.Format)
		}
		if got := downloadSHA256(t, env, tc.api, again.Drive); got != hex.EncodeToString(sum[:]) {
			t.Errorf("the drive uploaded from %s differs from the image", tc.name)
		}
	}
	// --format raw wins over the name.
	out := filepath.Join(dir, "raw.qcow2")
	if _, stderr, code := runCLI(t, env, "download", res.Drive, "-o", out, "--format", "raw", "-q"); code != 0 {
		t.Fatalf("--format raw: exit %d\n%s", code, stderr)
	}
	sameFiles(t, img, out)
	// Refusals: one line, exit 2, no file.
	for _, args := range [][]string{
		{"--format", "bogus", "-o", filepath.Join(dir, "bogus.img")},
		{"--format", "qcow2", "-o", "-"},
		{"--format", "qcow2"},
		{"-o", filepath.Join(dir, "by-name.qcow2")}, // exists, no --force
	} {
		stdout, stderr, code := runCLI(t, env, append([]string{"download", res.Drive}, args...)...)
		if code != ExitUsage || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit 2 and nothing", args, code, stdout)
		}
		assertOneErrorLine(t, stderr)
	}
	for _, name := range []string{"bogus.img", "-"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a refused download created %s", name)
		}
	}
	// An existing FILE.part (a raw download to resume) is left alone.
	part := filepath.Join(dir, "busy.qcow2.part")
	if err := os.WriteFile(part, []byte("raw download"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, env, "download", res.Drive, "-o", filepath.Join(dir, "busy.qcow2"))
	if code != ExitUsage {
		t.Errorf("qcow2 download over an existing FILE.part: exit %d\n%s", code, stderr)
	}
	assertOneErrorLine(t, stderr)
	if b, _ := os.ReadFile(part); string(b) != "raw download" {
		t.Errorf("FILE.part now holds %d bytes", len(b))
	}
}

// TestE2EDownloadQcow2Interrupted: a qcow2 download stopped by SIGINT says
// it cannot be resumed (exit 1, not 5: nothing was saved) and leaves neither FILE nor FILE.part; one stopped
// by SIGKILL leaves no FILE (FILE.part, without a header, at most).
func TestE2EDownloadQcow2Interrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	id := putDrive(t, srv, writeResumeImage(t, 16<<20+777, 5))
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		out := filepath.Join(t.TempDir(), "back.qcow2")
		p := startCLI(t, env, "download", id, "-o", out, "--api", "v1", "-c", "2", "--chunk-size", "1M")
		deadline := time.Now().Add(30 * time.Second)
		for {
			if fi, err := os.Stat(out + ".part"); err == nil && fi.Size() > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s.part with data after 30 s:\n%s", out, p.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		code := p.wait(t, 10*time.Second)
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: %s exists after an interrupted download (%v)", sig, out, err)
		}
		if sig == syscall.SIGKILL {
			continue
		}
		// Exit 5 promises saved progress; there is none, as for -o -.
		if code != ExitFailure {
			t.Errorf("SIGINT: exit %d, want %d\n%s", code, ExitFailure, p.stderr)
		}
		if !strings.Contains(p.stderr.String(), "cannot be resumed") {
			t.Errorf("SIGINT: stderr does not say the download cannot be resumed:\n%s", p.stderr)
		}
		if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
			t.Errorf("SIGINT left %s.part (%v)", out, err)
		}
	}
}
