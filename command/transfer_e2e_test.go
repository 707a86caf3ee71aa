package command

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// The end-to-end tests of upload and download run the built binary against
// the emulator, as a user would, and compare the bytes that come back.

var xferUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// writeMixedImage writes an image of size bytes made of random, text-like
// and zero regions followed by a hole of holeBytes, and returns its path.
func writeMixedImage(t *testing.T, size, holeBytes int64) string {
	t.Helper()
	const block = 1 << 20
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(7, 11))
	for off := int64(0); off < size; off += block {
		end := min(off+block, size)
		switch (off / block) % 5 {
		case 0, 3:
			for i := off; i < end; i++ {
				data[i] = byte(r.Uint32())
			}
		case 1:
			for i := off; i < end; i++ {
				data[i] = "drivecp moves images\n"[i%21]
			}
		}
	}
	path := filepath.Join(t.TempDir(), "mixed.img")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size+holeBytes); err != nil {
		t.Fatal(err)
	}
	return path
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Fatalf("%s and %s differ (%d and %d bytes)", a, b, len(x), len(y))
	}
}

func uploadDownload(t *testing.T, env []string, img string, extra ...string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, env, append([]string{"upload", img, "--api", "v1", "--verify", "-c", "4"}, extra...)...)
	if code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if !xferUUID.MatchString(id) {
		t.Fatalf("upload printed %q, want a UUID", stdout)
	}
	if !strings.Contains(stderr, "uploaded") || !strings.Contains(stderr, "zero chunks skipped") {
		t.Errorf("upload summary missing: %s", stderr)
	}
	out := filepath.Join(t.TempDir(), "back.img")
	stdout, stderr, code = runCLI(t, env, append([]string{"download", id, "--api", "v1", "-o", out, "--verify", "-c", "4"}, extra...)...)
	if code != 0 || stdout != "" {
		t.Fatalf("download: exit %d\nstdout %q\n%s", code, stdout, stderr)
	}
	sameFiles(t, img, out)
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > fi.Size()*3/4 {
		t.Errorf("download not sparse: %d of %d bytes allocated", st.Blocks*512, fi.Size())
	}
}

func TestE2ETransferAPI1RoundTrip(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	uploadDownload(t, env, writeMixedImage(t, 10<<20+4321, 6<<20))
}

func TestE2ETransferAPI1Faults(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{FailRate: 0.1, ResetRate: 0.03, Seed: 42})
	uploadDownload(t, env, writeMixedImage(t, 12<<20, 4<<20), "--chunk-size", "1M")
}

func TestE2EUploadIntoDriveAndJSON(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	img := writeMixedImage(t, 3<<20, 1<<20)
	stdout, stderr, code := runCLI(t, env, "drive", "create", "--api", "v1", "--name", "target", "--size", "8M")
	if code != 0 {
		t.Fatalf("drive create: %d %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	stdout, stderr, code = runCLI(t, env, "upload", img, "--api", "v1", "--drive", id, "--json")
	if code != 0 {
		t.Fatalf("upload --drive: %d %s", code, stderr)
	}
	var res struct {
		Drive            string `json:"drive"`
		LogicalBytes     int64  `json:"logical_bytes"`
		ZeroBytesSkipped int64  `json:"zero_bytes_skipped"`
		Chunks           int    `json:"chunks"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if res.Drive != id || res.LogicalBytes != 4<<20 || res.Chunks != 1 {
		t.Errorf("json %+v", res)
	}
	if res.ZeroBytesSkipped != 0 {
		t.Errorf("zero chunks skipped on an existing drive without --assume-zeroed")
	}
	out := filepath.Join(t.TempDir(), "back.img")
	if _, stderr, code := runCLI(t, env, "download", id, "--api", "v1", "-o", out, "-q"); code != 0 || stderr != "" {
		t.Fatalf("download: %d %q", code, stderr)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile(img)
	if len(got) != 8<<20 || !bytes.Equal(got[:len(want)], want) {
		t.Error("drive does not start with the image")
	}
}

func TestE2ETransferBadInput(t *testing.T) {
	_, env := startEmulator(t, emulator.Config{})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.img", nil)
	qcow := write("disk.qcow2", append([]byte("QFI\xfb\x00\x00\x00\x03"), make([]byte, 1<<16)...))
	vmdk := write("disk.vmdk", []byte("# Disk DescriptorFile\nversion=1\n"))
	vhd := write("disk.vhd", append(make([]byte, 1<<16), append([]byte("conectix"), make([]byte, 504)...)...))
	vhdx := write("disk.vhdx", append([]byte("vhdxfile"), make([]byte, 1<<16)...))
	big := write("big.img", bytes.Repeat([]byte{1}, 3<<20))
	exists := write("exists.img", []byte("x"))
	small, _, code := runCLI(t, env, "drive", "create", "--api", "v1", "--name", "small", "--size", "1M")
	if code != 0 {
		t.Fatal("drive create failed")
	}
	small = strings.TrimSpace(small)
	const unknown = "00000000-0000-4000-8000-000000000000"
	badAuth := append(append([]string{}, env...), "CLOUDSIGMA_PASSWORD=wrong")
	unreachable := []string{"CLOUDSIGMA_ENDPOINT=http://127.0.0.1:1", "CLOUDSIGMA_USERNAME=u@example.com", "CLOUDSIGMA_PASSWORD=p"}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"missing", env, []string{"upload", filepath.Join(dir, "nope.img"), "--api", "v1"}, 2, "no such file"},
		{"folder", env, []string{"upload", dir, "--api", "v1"}, 2, "folder"},
		{"empty", env, []string{"upload", empty, "--api", "v1"}, 2, "empty"},
		{"qcow2", env, []string{"upload", qcow, "--api", "v1"}, 2, "invalid image"},
		{"vmdk", env, []string{"upload", vmdk, "--api", "v1"}, 2, "vmdk images are not supported"},
		{"vhd", env, []string{"upload", vhd, "--api", "v1"}, 2, "vhd images are not supported"},
		{"vhdx", env, []string{"upload", vhdx, "--api", "v1"}, 2, "vhdx images are not supported"},
		{"too big", env, []string{"upload", big, "--api", "v1", "--drive", small}, 2, "does not fit"},
		{"chunk over 4M", env, []string{"upload", big, "--api", "v1", "--chunk-size", "8M"}, 2, "4M"},
		{"v1 single", env, []string{"upload", big, "--api", "v1", "--single"}, 2, "--single applies to --api v2"},
		{"unknown drive upload", env, []string{"upload", big, "--api", "v1", "--drive", unknown}, 4, "Not Found"},
		{"unknown drive download", env, []string{"download", unknown, "--api", "v1", "-o", filepath.Join(dir, "u.img")}, 4, "Not Found"},
		{"exists", env, []string{"download", small, "--api", "v1", "-o", exists}, 2, "--force"},
		{"no -o", env, []string{"download", small, "--api", "v1"}, 2, "-o FILE"},
		{"wrong credentials", badAuth, []string{"upload", big, "--api", "v1"}, 3, "authentication"},
		{"unreachable", unreachable, []string{"upload", big, "--api", "v1"}, 1, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
			assertOneErrorLine(t, stderr)
		})
	}

	t.Run("force-raw", func(t *testing.T) {
		stdout, stderr, code := runCLI(t, env, "upload", qcow, "--api", "v1", "--force-raw", "-q")
		if code != 0 || !xferUUID.MatchString(strings.TrimSpace(stdout)) {
			t.Errorf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
		}
	})
	t.Run("force replaces", func(t *testing.T) {
		if _, stderr, code := runCLI(t, env, "download", small, "--api", "v1", "-o", exists, "--force", "-q"); code != 0 {
			t.Errorf("exit %d: %s", code, stderr)
		}
		if fi, _ := os.Stat(exists); fi.Size() != 1<<20 {
			t.Errorf("size %d after --force", fi.Size())
		}
	})
}

func TestE2EDemo(t *testing.T) {
	stdout, stderr, code := runCLI(t, nil, "demo", "--size", "40M", "-c", "4")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"identical", "upload (API 1.0)", "download (API 1.0)", "MB/s", "CPU s",
		"API 1.0 upload at ", "% of the chunker-only rate, with "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
}
