package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestRestoreStoreToDriveE2E: a backup of a store restored with --name
// becomes a new drive that downloads byte-identical to the drive backed
// up; zero chunks are not sent; -o and --name exclude each other.
func TestRestoreStoreToDriveE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond})
	requireV2Snapshots(t, srv)
	drive, data := backupTestDrive(t, srv, "source", 24<<20, 41)
	// Two chunks of zeros, which the restore must not send.
	h, err := srv.Store().OpenDrive(drive, emulator.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	clear(data[8<<20 : 16<<20])
	if _, err := h.WriteAt(data[8<<20:16<<20], 8<<20); err != nil {
		t.Fatal(err)
	}
	h.Close()
	store := filepath.Join(t.TempDir(), "store")
	rep, _ := storeBackup(t, env, store, drive)
	id := rep.Drives[0].Backup

	stdout, stderr, code := runCLI(t, env, "restore", "--store", store, id, "--name", "restored")
	if code != 0 {
		t.Fatalf("restore --name: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "8 MiB of zero chunks skipped") {
		t.Errorf("the zero chunks were not skipped:\n%s", stderr)
	}
	restored := strings.TrimSpace(stdout)
	if restored == "" || restored == drive {
		t.Fatalf("restore --name printed %q", stdout)
	}
	out := filepath.Join(t.TempDir(), "back.img")
	mustRun(t, env, "download", restored, "-o", out, "-q")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the restored drive differs from the drive backed up")
	}
	mustFail(t, env, ExitUsage, "exclude each other", "restore", "--store", store, id, "--name", "x", "-o", out+"2")
	mustFail(t, env, ExitUsage, "--name NAME", "restore", "--store", store, id)
}
