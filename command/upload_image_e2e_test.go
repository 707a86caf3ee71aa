package command

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/session"
)

// qcowFixtures is where the qcow2 fixtures and their SHA256SUMS live.
const qcowFixtures = "../testdata/qcow2"

// fixtureSums reads testdata/qcow2/SHA256SUMS: file name → SHA-256 of the
// image's raw content.
func fixtureSums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(qcowFixtures, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[fields[1]] = fields[0]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(sums) == 0 {
		t.Fatal("SHA256SUMS lists no fixture")
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// imageUpload is the part of upload --json these tests read.
type imageUpload struct {
	Drive            string `json:"drive"`
	Format           string `json:"format"`
	VirtualBytes     int64  `json:"virtual_bytes"`
	AllocatedBytes   int64  `json:"allocated_bytes"`
	LogicalBytes     int64  `json:"logical_bytes"`
	WireBytes        int64  `json:"wire_bytes"`
	ZeroBytesSkipped int64  `json:"zero_bytes_skipped"`
	Verified         bool   `json:"verified"`
}

// uploadJSON runs upload --json with args and decodes its result.
func uploadJSON(t *testing.T, env []string, args ...string) imageUpload {
	t.Helper()
	stdout, stderr, code := runCLI(t, env, append([]string{"upload", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("upload %q: exit %d\n%s", args, code, stderr)
	}
	var res imageUpload
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("upload --json printed %q: %v", stdout, err)
	}
	if !xferUUID.MatchString(res.Drive) {
		t.Fatalf("upload printed drive %q", res.Drive)
	}
	return res
}

// downloadSHA256 downloads drive through api and returns the SHA-256 of
// what arrived.
func downloadSHA256(t *testing.T, env []string, api, drive string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "back.img")
	if _, stderr, code := runCLI(t, env, "download", drive, "--api", api, "-o", out, "-q"); code != 0 {
		t.Fatalf("download %s: exit %d\n%s", drive, code, stderr)
	}
	return fileSHA256(t, out)
}

// TestE2EUploadQcow2 uploads every qcow2 fixture through API 1.0 and API
// 2.0 and checks that the drive downloads to the image's raw content; the
// API 1.0 upload of a new drive must not send the unallocated clusters.
func TestE2EUploadQcow2(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	for name, want := range fixtureSums(t) {
		img := filepath.Join(qcowFixtures, name)
		for _, api := range []string{"v1", "v2"} {
			t.Run(name+"/"+api, func(t *testing.T) {
				res := uploadJSON(t, env, img, "--api", api, "--chunk-size", "64K", "-c", "4", "--verify")
				if !res.Verified {
					t.Error("--verify did not verify")
				}
				if res.LogicalBytes != 768<<10 || res.VirtualBytes != 768<<10 || res.Format != "qcow2" {
					t.Errorf("format %q, virtual %d, logical %d bytes; want qcow2 of %d", res.Format, res.VirtualBytes, res.LogicalBytes, 768<<10)
				}
				if res.AllocatedBytes <= 0 || res.AllocatedBytes >= res.VirtualBytes {
					t.Errorf("allocated bytes %d of %d virtual", res.AllocatedBytes, res.VirtualBytes)
				}
				if api == "v1" && res.ZeroBytesSkipped == 0 {
					t.Errorf("API 1.0 upload skipped no zero chunk: %+v", res)
				}
				if got := downloadSHA256(t, env, api, res.Drive); got != want {
					t.Errorf("drive %s downloads to SHA-256 %s, want %s", res.Drive, got, want)
				}
			})
		}
	}
}

// TestE2EUploadQcow2ForceRaw uploads the container's bytes with
// --force-raw: the drive holds the qcow2 file itself.
func TestE2EUploadQcow2ForceRaw(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	img := filepath.Join(qcowFixtures, "plain-v3.qcow2")
	res := uploadJSON(t, env, img, "--api", "v1", "--force-raw", "--chunk-size", "64K")
	if got, want := downloadSHA256(t, env, "v1", res.Drive), fileSHA256(t, img); got != want {
		t.Errorf("--force-raw drive has SHA-256 %s, want the file's %s", got, want)
	}
}

// TestE2EUploadQcow2Refusals: a compressed qcow2 and a corrupt one are
// refused with one line and exit 2.
func TestE2EUploadQcow2Refusals(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.qcow2")
	if err := os.WriteFile(bad, append([]byte("QFI\xfb\x00\x00\x00\x03"), make([]byte, 1<<16)...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ img, want string }{
		{filepath.Join(qcowFixtures, "plain-v3.qcow2.bz2"), "qcow2 compressed with bzip2"},
		{bad, "invalid image"},
	} {
		stdout, stderr, code := runCLI(t, env, "upload", tc.img, "--api", "v1")
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("upload %s: exit %d, stdout %q, stderr %q; want exit 2 naming %q", tc.img, code, stdout, stderr, tc.want)
		}
		assertOneErrorLine(t, stderr)
	}
}

// runCLIStdin is runCLI with the file at stdin as standard input.
func runCLIStdin(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	f, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(baseEnv(t), env...)
	cmd.Stdin = f
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running drivecp %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(errOut.String(), "panic:") {
		t.Errorf("drivecp %s crashed:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), errOut.String(), code
}

// compressedImages writes the raw content of the qcow2 fixtures (from
// content.raw.bz2) compressed with gzip, xz and zstd beside the bzip2
// fixture, and returns the raw content's SHA-256 and the files by format.
func compressedImages(t *testing.T) (string, map[string]string) {
	t.Helper()
	bz := filepath.Join(qcowFixtures, "content.raw.bz2")
	f, err := os.Open(bz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	dir := t.TempDir()
	files := map[string]string{"bzip2": bz}
	write := func(format string, wrap func(io.Writer) (io.WriteCloser, error)) {
		p := filepath.Join(dir, "image."+format)
		var buf bytes.Buffer
		w, err := wrap(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		files[format] = p
	}
	write("gzip", func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil })
	write("xz", func(w io.Writer) (io.WriteCloser, error) { return xz.NewWriter(w) })
	// EncodeAll, as the zstd tool does with a file, records the content
	// size in the frame header.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	files["zstd"] = filepath.Join(dir, "image.zstd")
	if err := os.WriteFile(files["zstd"], enc.EncodeAll(raw, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum[:]), files
}

// TestE2EUploadStreams uploads a gzip, xz, zstd and bzip2 image, as a
// file and through standard input, through API 1.0 and API 2.0, and checks
// each drive downloads byte-identical to the raw image.
func TestE2EUploadStreams(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	want, files := compressedImages(t)
	for format, img := range files {
		for _, api := range []string{"v1", "v2"} {
			for _, stdin := range []bool{false, true} {
				how := "file"
				if stdin {
					how = "stdin"
				}
				t.Run(format+"/"+api+"/"+how, func(t *testing.T) {
					args := []string{"upload", "--json", "--api", api, "--chunk-size", "64K", "-c", "3"}
					var stdout, stderr string
					var code int
					if stdin {
						stdout, stderr, code = runCLIStdin(t, env, img, append(args, "-")...)
					} else {
						stdout, stderr, code = runCLI(t, env, append(args, img)...)
					}
					if recorded := format == "xz" && !stdin || format == "zstd"; !recorded {
						// Nothing records the size: the upload asks for --size.
						if code != ExitUsage || !strings.Contains(stderr, "--size") {
							t.Fatalf("without --size: exit %d, stderr %q; want exit 2 asking for --size", code, stderr)
						}
						args = append(args, "--size", "768K")
						if stdin {
							stdout, stderr, code = runCLIStdin(t, env, img, append(args, "-")...)
						} else {
							stdout, stderr, code = runCLI(t, env, append(args, img)...)
						}
					}
					if code != 0 {
						t.Fatalf("upload: exit %d\n%s", code, stderr)
					}
					var res imageUpload
					if err := json.Unmarshal([]byte(stdout), &res); err != nil {
						t.Fatalf("upload --json printed %q: %v", stdout, err)
					}
					if res.LogicalBytes != 768<<10 || res.VirtualBytes != 768<<10 || res.Format != format {
						t.Errorf("format %q, virtual %d, logical %d bytes; want %s of %d", res.Format, res.VirtualBytes, res.LogicalBytes, format, 768<<10)
					}
					if res.AllocatedBytes <= 0 || res.AllocatedBytes >= res.VirtualBytes || res.WireBytes <= 0 {
						t.Errorf("allocated %d, wire %d bytes of %d virtual", res.AllocatedBytes, res.WireBytes, res.VirtualBytes)
					}
					if !strings.Contains(stderr, "uploaded "+format+" image (") {
						t.Errorf("the summary does not name the format and allocated bytes: %s", stderr)
					}
					if api == "v1" && res.ZeroBytesSkipped == 0 {
						t.Errorf("no zero chunk skipped: %+v", res)
					}
					if got := downloadSHA256(t, env, api, res.Drive); got != want {
						t.Errorf("drive %s downloads to SHA-256 %s, want %s", res.Drive, got, want)
					}
				})
			}
		}
	}
}

// TestE2EUploadStreamTooLong: a stream longer than --size fails with one
// line and exit 2, and the drive holds the stream's first --size bytes.
func TestE2EUploadStreamTooLong(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	_, files := compressedImages(t)
	_, stderr, code := runCLIStdin(t, env, files["gzip"], "upload", "-", "--api", "v1", "--size", "512K", "--chunk-size", "64K")
	if code != ExitUsage || !strings.Contains(stderr, "longer than the drive") {
		t.Errorf("exit %d, stderr %q; want exit 2 saying the image is longer than the drive", code, stderr)
	}
	assertOneErrorLine(t, stderr)
}

// TestE2EUploadZstdResume kills an API 1.0 upload of a zstd file once it
// has saved progress; the rerun decompresses the file again, sends only
// what the checkpoint lacks, and the drive downloads byte-identical.
func TestE2EUploadZstdResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	raw, err := os.ReadFile(writeResumeImage(t, 16<<20+5000, 5))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "image.zst")
	if err := os.WriteFile(img, enc.EncodeAll(raw, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"upload", img, "--api", "v1", "-c", "2", "--chunk-size", "1M", "--json"}
	p := startAndWaitCheckpoint(t, env, args...)
	_ = p.cmd.Process.Kill()
	p.wait(t, 10*time.Second)
	c := savedCheckpoint(t)
	if c == nil || c.Extra[session.ExtraFormat] != "zstd" {
		t.Fatalf("checkpoint after SIGKILL: %+v", c)
	}
	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if resumedChunks(stderr) == 0 {
		t.Errorf("rerun did not resume:\n%s", stderr)
	}
	var res imageUpload
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(raw)
	if got := downloadSHA256(t, env, "v1", res.Drive); got != hex.EncodeToString(want[:]) {
		t.Errorf("resumed drive differs from the image")
	}
}

// TestE2EUploadStdinResumeV2 interrupts an API 2.0 upload from standard
// input and continues it, as the error says, with --drive: the pipe is
// read again and only the chunks the drive lacks are sent.
func TestE2EUploadStdinResumeV2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 16<<20, 6)
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(binPath, "upload", "-", "--api", "v2", "-c", "2", "--chunk-size", "1M", "--size", "16M")
	cmd.Env = append(baseEnv(t), env...)
	cmd.Stdin = f
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// Interrupt once the drive exists and some chunks are on their way
	// (16 MiB take about two seconds at this shaping).
	deadline := time.Now().Add(30 * time.Second)
	for len(srv.Store().ListDrives()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Skip("the upload finished before it could be interrupted")
	}
	m := regexp.MustCompile(`--drive ([0-9a-f-]{36})`).FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("the interrupted pipe does not say how to continue:\n%s", errOut.String())
	}
	stdout, stderr, code := runCLIStdin(t, env, img, "upload", "-", "--api", "v2", "-c", "2", "--chunk-size", "1M", "--size", "16M", "--drive", m[1], "--json")
	if code != 0 {
		t.Fatalf("continue with --drive: exit %d\n%s", code, stderr)
	}
	var res struct {
		imageUpload
		ChunksSkipped int `json:"chunks_skipped"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.ChunksSkipped == 0 {
		t.Errorf("the continued upload sent every chunk again: %s", stdout)
	}
	want := sha256.Sum256(raw)
	if got := downloadSHA256(t, env, "v2", m[1]); got != hex.EncodeToString(want[:]) {
		t.Errorf("continued drive differs from the image")
	}
}

// TestE2EUploadFormatInCheckpoint: the checkpoint of a qcow2 upload is not
// resumed by a --force-raw upload of the same file, which plans other
// bytes, and says so.
func TestE2EUploadFormatInCheckpoint(t *testing.T) {
	// The drive is created, its chunk refused: a checkpoint to continue.
	_, env, _ := startFlakyEmulator(t, func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/write/") }, 1000)
	img := filepath.Join(qcowFixtures, "plain-v3.qcow2")
	// One 4M chunk either way, so the plans agree in length.
	if _, stderr, code := runCLI(t, env, "upload", img, "--api", "v1", "--retries", "1"); code == 0 {
		t.Fatalf("upload whose chunks are refused succeeded: %s", stderr)
	}
	if c := savedCheckpoint(t); c == nil || c.Extra[session.ExtraFormat] != "qcow2" {
		t.Fatalf("checkpoint %+v, want one recording qcow2", c)
	}
	_, stderr, code := runCLI(t, env, "upload", img, "--api", "v1", "--retries", "1", "--force-raw")
	if code != ExitUsage || !strings.Contains(stderr, "was uploaded as qcow2, and is now read as raw") {
		t.Errorf("--force-raw resume of a qcow2 checkpoint: exit %d, stderr %q", code, stderr)
	}
	assertOneErrorLine(t, stderr)
}

// TestE2EDownloadStdout downloads a drive with -o - through both APIs:
// standard output carries the image in order, byte-identical, and no file
// named "-" appears.
func TestE2EDownloadStdout(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	img := writeMixedImage(t, 5<<20+1234, 1<<20)
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	res := uploadJSON(t, env, img, "--api", "v1")
	dir := t.TempDir()
	for _, api := range []string{"v1", "v2"} {
		out, errOut := downloadStdout(t, env, dir, res.Drive, "--api", api, "-c", "4", "--chunk-size", "256K")
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("--api %s: standard output (%d bytes) differs from the image (%d bytes)", api, out.Len(), len(want))
		}
		if !strings.Contains(errOut.String(), "downloaded") {
			t.Errorf("--api %s: no summary on stderr: %s", api, errOut.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error("download -o - created a file named -")
	}
	for _, args := range [][]string{
		{"download", res.Drive, "-o", "-", "--json"},
		{"download", res.Drive, "-o", "-", "--verify"},
	} {
		stdout, stderr, code := runCLI(t, env, args...)
		if code != ExitUsage || stdout != "" {
			t.Errorf("%q: exit %d, stdout %d bytes; want exit 2 and nothing", args, code, len(stdout))
		}
		assertOneErrorLine(t, stderr)
	}
	_, stderr, code := runCLI(t, env, "download", "00000000-0000-4000-8000-000000000000", "-o", "-")
	if code != ExitNotFound {
		t.Errorf("unknown drive to stdout: exit %d\n%s", code, stderr)
	}
}

// TestE2EUploadQcow2Resume kills an API 2.0 upload of a qcow2 fixture once
// it has saved progress; the rerun resumes from the checkpoint and the
// drive downloads to the image's raw content.
func TestE2EUploadQcow2Resume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	// 12 chunks of 64 KiB at 256 KiB/s: long enough to be killed midway.
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 256 << 10})
	img := filepath.Join(qcowFixtures, "overlay.qcow2")
	want := fixtureSums(t)["overlay.qcow2"]
	args := []string{"upload", img, "--api", "v2", "-c", "1", "--chunk-size", "64K", "--json"}
	p := startAndWaitCheckpoint(t, env, args...)
	_ = p.cmd.Process.Kill()
	p.wait(t, 10*time.Second)
	if c := savedCheckpoint(t); c == nil || c.Extra[session.ExtraFormat] != "qcow2" || c.Complete() {
		t.Fatalf("checkpoint after SIGKILL: %+v", c)
	}
	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if resumedChunks(stderr) == 0 {
		t.Errorf("rerun did not resume:\n%s", stderr)
	}
	var res imageUpload
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if got := downloadSHA256(t, env, "v2", res.Drive); got != want {
		t.Errorf("resumed drive has SHA-256 %s, want %s", got, want)
	}
}

// TestE2EUploadQcow2ResumeRefusesChangedBacking: the checkpoint of a qcow2
// upload records its backing chain; after the backing file is replaced,
// the rerun refuses to resume (the chunks sent came from the old one) with
// exit 2 and a --restart hint, and --restart uploads it whole.
func TestE2EUploadQcow2ResumeRefusesChangedBacking(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 256 << 10})
	dir := t.TempDir()
	for _, name := range []string{"overlay.qcow2", "base.qcow2"} {
		b, err := os.ReadFile(filepath.Join(qcowFixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(dir, "overlay.qcow2")
	args := []string{"upload", img, "--api", "v2", "-c", "1", "--chunk-size", "64K", "--json"}
	p := startAndWaitCheckpoint(t, env, args...)
	_ = p.cmd.Process.Kill()
	p.wait(t, 10*time.Second)
	if c := savedCheckpoint(t); c == nil || c.Extra[session.ExtraBacking] == "" {
		t.Fatalf("checkpoint after SIGKILL records no backing chain: %+v", c)
	}
	// The same bytes, written anew: a replaced backing file.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "base.qcow2"), later, later); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, env, args...); code != ExitUsage || !strings.Contains(stderr, "a backing file of") || !strings.Contains(stderr, "--restart") {
		t.Fatalf("rerun after the backing file changed: exit %d, want %d and a --restart hint\n%s", code, ExitUsage, stderr)
	}
	stdout, stderr, code := runCLI(t, env, append(args, "--restart")...)
	if code != 0 {
		t.Fatalf("--restart: exit %d\n%s", code, stderr)
	}
	var res imageUpload
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if got := downloadSHA256(t, env, "v2", res.Drive); got != fixtureSums(t)["overlay.qcow2"] {
		t.Errorf("drive has SHA-256 %s after --restart", got)
	}
}
