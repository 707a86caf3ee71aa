package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestE2ECopesWithSlowTransitions: against an emulator whose new drives
// stay `creating` for 1.5 s (the real API's drives take a while too),
// `drive create` and an API 1.0 upload into a new drive wait for the drive
// before using it, and the upload's bytes arrive whole.
func TestE2ECopesWithSlowTransitions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, Transition: 1500 * time.Millisecond})
	created := strings.TrimSpace(mustRun(t, env, "drive", "create", "--name", "slow", "--size", "1G"))
	if d, err := srv.Store().GetDrive(created); err != nil || d.Status != wire.StatusUnmounted {
		t.Fatalf("drive create returned before the drive was ready: %v %+v", err, d)
	}
	data := bytes.Repeat([]byte("transitional states "), 600<<10)
	img := filepath.Join(t.TempDir(), "slow.img")
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stdout, stderr, code := runCLI(t, env, "upload", img, "--api", "v1")
	if code != 0 {
		t.Fatalf("upload into a drive still creating: exit %d\n%s", code, stderr)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("the upload took %v: it cannot have waited for the 1.5 s creation", took)
	}
	if got := driveBytes(t, srv, strings.TrimSpace(stdout), int64(len(data))); !bytes.Equal(got, data) {
		t.Fatal("the drive differs from the image")
	}
}
