package command

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestBackupStoreSevenNightsE2E: seven nightly backups of a drive with 2%
// of its chunks rewritten between nights (at least one chunk): the store
// holds at most 1.25 times one night's stored size, and every backup
// restores byte-identical, to a file and to a new drive. The drive is
// 1 GiB, so it runs only with DRIVECP_SCALE_TESTS=1 (several minutes);
// TestBackupStoreE2E runs the same checks on three nights of 64 MiB.
func TestBackupStoreSevenNightsE2E(t *testing.T) {
	if testing.Short() || os.Getenv("DRIVECP_SCALE_TESTS") != "1" {
		t.Skip("1 GiB drive: set DRIVECP_SCALE_TESTS=1")
	}
	const size = 1 << 30
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond})
	requireV2Snapshots(t, srv)
	drive, data := backupTestDrive(t, srv, "seven", size, 70)
	store := filepath.Join(t.TempDir(), "store")
	rng := rand.New(rand.NewPCG(7, 7))
	chunks := int(size >> 22)
	perNight := max(1, (chunks+25)/50) // 2%, rounded

	var images [][]byte
	var ids []string
	var first, last int64
	for night := range 7 {
		if night > 0 {
			changed := rng.Perm(chunks)[:perNight]
			data = rewriteChunks(data, uint64(night), changed...)
			writeBehind(t, srv, drive, 0, data)
		}
		rep, took := storeBackup(t, env, store, drive)
		images, ids = append(images, data), append(ids, rep.Drives[0].Backup)
		if night == 0 {
			first = rep.StoreBytes
		}
		last = rep.StoreBytes
		t.Logf("night %d: backup %s in %v, added %d bytes, store %d bytes", night+1, rep.Drives[0].Backup,
			took.Round(time.Millisecond), rep.Drives[0].Added, rep.StoreBytes)
		// Backups are named by the second of their snapshot.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	}
	if ratio := float64(last) / float64(first); ratio > 1.25 {
		t.Errorf("store after seven nights is %.2f times one night's (%d vs %d bytes), want at most 1.25", ratio, last, first)
	}
	for i, id := range ids {
		if !bytes.Equal(restoreTo(t, env, store, id), images[i]) {
			t.Errorf("night %d (%s) does not restore identical to a file", i+1, id)
		}
		restored := strings.TrimSpace(mustRun(t, env, "restore", "--store", store, id, "--name", "night-"+id, "-q"))
		if !bytes.Equal(driveBytes(t, srv, restored, size), images[i]) {
			t.Errorf("night %d (%s) does not restore identical to a new drive", i+1, id)
		}
	}
	if out := mustRun(t, env, "verify", "--store", store); strings.Count(out, "OK ") != 7 {
		t.Errorf("verify --store:\n%s", out)
	}
}
