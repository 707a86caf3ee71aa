package command

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestE2EUploadCraftedQcow2: images whose qcow2 headers lie (an L1 table
// claiming gigabytes, a kilobyte claiming an exabyte, cluster bits out of
// range, two images each the other's backing file) are refused through the
// binary with one error line and exit 2, before any drive is created.
func TestE2EUploadCraftedQcow2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{})
	plain, err := os.ReadFile(filepath.Join(qcowFixtures, "plain-v3.qcow2"))
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	patch := func(f func(b []byte) []byte) []byte { return f(slices.Clone(plain)) }
	// withBacking makes b name backing as its backing file.
	withBacking := func(b []byte, backing string) []byte {
		copy(b[512:], backing)
		be.PutUint64(b[8:], 512)
		be.PutUint32(b[16:], uint32(len(backing)))
		return b
	}
	a, b := filepath.Join(dir, "a.qcow2"), filepath.Join(dir, "b.qcow2")
	write("a.qcow2", withBacking(slices.Clone(plain), b))
	write("b.qcow2", withBacking(slices.Clone(plain), a))
	images := map[string]string{
		"L1 table claiming 32 GiB": write("l1.qcow2", patch(func(b []byte) []byte { be.PutUint32(b[36:], 0xffffffff); return b })),
		"1 KiB claiming an exabyte": write("exa.qcow2", patch(func(b []byte) []byte {
			b = b[:1024]
			be.PutUint64(b[24:], 1<<60)
			return b
		})),
		"cluster bits 63":      write("bits.qcow2", patch(func(b []byte) []byte { be.PutUint32(b[20:], 63); return b })),
		"backing files a loop": a,
	}
	for name, img := range images {
		for _, api := range []string{"v1", "v2"} {
			_, stderr, code := runCLI(t, env, "upload", img, "--api", api)
			if code != ExitUsage {
				t.Errorf("%s (--api %s): exit %d, want %d\n%s", name, api, code, ExitUsage, stderr)
				continue
			}
			assertOneErrorLine(t, stderr)
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("%s: %s", name, stderr)
			}
		}
	}
	if list := mustRun(t, env, "drive", "list", "--json"); strings.Contains(list, "uuid") {
		t.Errorf("a refused image left a drive: %s", list)
	}
}
