package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/backupstore"
)

func storeBackupTestSetup(t *testing.T) (*backupStub, backup.Deps, string) {
	t.Helper()
	stub := newBackupStub()
	return stub, backupDeps(stub, stub, stub, waitOptions{Interval: 1, MaxInterval: 1}), filepath.Join(t.TempDir(), "store")
}

func storeBackups(t *testing.T, store string) []*backupstore.Manifest {
	t.Helper()
	st, err := backupstore.Open(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestRunStoreBackupRecoversStagedImages: an image an earlier run
// downloaded but did not store (it stopped in between) is stored by the
// next run, whatever drives that one backs up.
func TestRunStoreBackupRecoversStagedImages(t *testing.T) {
	stub, deps, store := storeBackupTestSetup(t)
	a, b := stub.add("alpha", 5<<20), stub.add("beta", 64<<10)
	if _, err := backupstore.Create(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	// The earlier run: its download finished in the staging folder.
	var out bytes.Buffer
	plain := backupOptions{Options: backup.Options{Drives: []string{a}, Dir: filepath.Join(store, stagingDir), RetryDelay: 1}, download: stubDownload(nil)}
	if err := runBackup(context.Background(), &out, plain, deps); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o := storeBackupOptions{Store: store, backupOptions: backupOptions{JSON: true, download: stubDownload(nil),
		Options: backup.Options{Drives: []string{b}, RetryDelay: 1}}}
	if err := runStoreBackup(context.Background(), &out, o, deps); err != nil {
		t.Fatalf("store backup: %v\n%s", err, out.String())
	}
	var rep storeBackupReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Drives) != 1 || rep.Drives[0].Backup == "" || len(rep.Recovered) != 1 {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	list := storeBackups(t, store)
	if len(list) != 2 || list[0].Drive != a || list[0].ID != rep.Recovered[0] || list[1].Drive != b || list[0].Size != 5<<20 {
		t.Fatalf("store holds %d backups: %+v", len(list), list)
	}
	if m, _ := filepath.Glob(filepath.Join(store, stagingDir, "*", "*.img*")); len(m) > 0 {
		t.Errorf("staged files left: %v", m)
	}
	// The same content an hour later: the backup costs no chunk. (Within
	// the same second it would be the same backup: see backupstore.NewID.)
	out.Reset()
	o.Drives = []string{a}
	o.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if err := runStoreBackup(context.Background(), &out, o, deps); err != nil {
		t.Fatal(err)
	}
	rep = storeBackupReport{}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Drives[0].Added != 0 || rep.Drives[0].Backup == list[0].ID {
		t.Errorf("unchanged drive: backup %s added %d bytes to the store (%v)", rep.Drives[0].Backup, rep.Drives[0].Added, err)
	}
	if n := len(storeBackups(t, store)); n != 3 {
		t.Errorf("%d backups, want 3", n)
	}
}

// TestRunStoreBackupInterruptedThenRerun: a cancelled run exits 5 and
// stores nothing; the rerun completes.
func TestRunStoreBackupInterruptedThenRerun(t *testing.T) {
	stub, deps, store := storeBackupTestSetup(t)
	a := stub.add("alpha", 64<<10)
	ctx, cancel := context.WithCancel(context.Background())
	o := storeBackupOptions{Store: store, backupOptions: backupOptions{Options: backup.Options{Drives: []string{a}, RetryDelay: 1}}}
	o.download = func(ctx context.Context, drive string, size int64, dest string, _ backup.Budget) (backup.DownloadStats, error) {
		cancel()
		return backup.DownloadStats{}, ctx.Err()
	}
	var out bytes.Buffer
	if err := runStoreBackup(ctx, &out, o, deps); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("cancelled: %v, want interrupted", err)
	}
	if list := storeBackups(t, store); len(list) != 0 {
		t.Fatalf("an interrupted backup is in the store: %+v", list)
	}
	o.download = stubDownload(nil)
	if err := runStoreBackup(context.Background(), &out, o, deps); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out.String())
	}
	if list := storeBackups(t, store); len(list) != 1 {
		t.Fatalf("%d backups after the rerun", len(list))
	}
}

// TestStagedImages: only finished images of drives no run is working on
// are taken in, and one changed since its download is refused and kept.
func TestStagedImages(t *testing.T) {
	staging := t.TempDir()
	mk := func(drive, name string, content []byte, state bool) string {
		dir := filepath.Join(staging, drive)
		os.MkdirAll(dir, 0o700)
		img := filepath.Join(dir, name)
		if err := os.WriteFile(img, content, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := backup.BuildManifest(context.Background(), img, 0, backup.ManifestMeta{Drive: backup.DriveInfo{UUID: drive, Name: drive}})
		if err != nil {
			t.Fatal(err)
		}
		if err := backup.WriteManifest(img, m); err != nil {
			t.Fatal(err)
		}
		if state {
			os.WriteFile(filepath.Join(dir, backupStateFile), []byte("{}"), 0o600)
		}
		return img
	}
	done := mk("d1", "20260101T000000Z.img", []byte("finished"), false)
	mk("d2", "20260101T000000Z.img", []byte("a run continues this drive"), true)
	os.WriteFile(filepath.Join(staging, "d1", "20260102T000000Z.img.part"), []byte("partial"), 0o600)
	got, err := stagedImages(staging)
	if err != nil || len(got) != 1 || got[0] != done {
		t.Fatalf("staged images %v (%v), want only %s", got, err, done)
	}
	st, err := backupstore.Create(context.Background(), filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	os.WriteFile(done, []byte("FINISHED"), 0o600) // same size, other bytes
	if _, err := ingestStaged(context.Background(), st, done); err == nil {
		t.Fatal("an image that changed since its download was stored")
	}
	if _, err := os.Stat(done); err != nil {
		t.Errorf("the refused image was deleted: %v", err)
	}
}
