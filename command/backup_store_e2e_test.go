package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/backupstore"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// End-to-end tests of `drivecp backup --store` and the commands of the
// store (backups, restore, verify --store) against the emulator.

// storeBackup runs `backup --store` of one drive and returns its report
// and how long it took.
func storeBackup(t *testing.T, env []string, store, drive string) (storeBackupReport, time.Duration) {
	t.Helper()
	start := time.Now()
	out := mustRun(t, env, "backup", drive, "--store", store, "--json")
	took := time.Since(start)
	var rep storeBackupReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Drives) != 1 || rep.Drives[0].Status != backup.StatusOK || rep.Drives[0].Backup == "" {
		t.Fatalf("backup --store: %v\n%s", err, out)
	}
	return rep, took
}

// restoreTo restores backup id into a new file and returns its content.
func restoreTo(t *testing.T, env []string, store, id string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), id+".img")
	mustRun(t, env, "restore", "--store", store, id, "-o", out, "-q")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".part"); err == nil {
		t.Error("restore left its .part")
	}
	return b
}

func showBackup(t *testing.T, env []string, store, id string) backupDetail {
	t.Helper()
	var d backupDetail
	out := mustRun(t, env, "backups", "show", "--store", store, id, "--json")
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Manifest == nil || d.ID != id {
		t.Fatalf("backups show %s: %v\n%s", id, err, out)
	}
	return d
}

// TestBackupStoreE2E backs a 64 MiB drive up three times into a store,
// rewriting one of its 16 chunks between runs through `upload --drive`,
// and checks the store's economy, the restores, forget, prune and verify.
func TestBackupStoreE2E(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond})
	requireV2Snapshots(t, srv)
	const size = 64 << 20
	drive, data := backupTestDrive(t, srv, "nightly", size, 20)
	store := filepath.Join(t.TempDir(), "store")
	rng := rand.New(rand.NewPCG(3, 4))

	var images [][]byte
	var ids []string
	var stored []int64
	for night := range 3 {
		if night > 0 {
			// Rewrite ~2% of the drive (1.25 MiB of random bytes) inside
			// one chunk: with 16 chunks, one changed chunk a night is the
			// least that can change, 6% of them.
			data = bytes.Clone(data)
			start := rng.IntN(15)*4<<20 + rng.IntN(2<<20)
			for i := start; i < start+1280<<10; i++ {
				data[i] = byte(rng.Uint32())
			}
			img := filepath.Join(t.TempDir(), "night.img")
			if err := os.WriteFile(img, data, 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(t, env, "upload", img, "--api", "v1", "--drive", drive, "-q")
		}
		rep, took := storeBackup(t, env, store, drive)
		images = append(images, data)
		ids = append(ids, rep.Drives[0].Backup)
		stored = append(stored, rep.StoreBytes)
		t.Logf("night %d: backup %s in %v (storing %.2fs), added %d bytes, store %d bytes in %d chunks",
			night+1, rep.Drives[0].Backup, took.Round(time.Millisecond), rep.Drives[0].IngestSeconds, rep.Drives[0].Added, rep.StoreBytes, rep.StoreChunks)
	}
	if ratio := float64(stored[2]) / float64(stored[0]); ratio > 1.25 {
		t.Errorf("store after three backups is %.2f times one backup's (%d vs %d bytes), want at most 1.25", ratio, stored[2], stored[0])
	}
	if m, _ := filepath.Glob(filepath.Join(store, stagingDir, "*", "*.img*")); len(m) > 0 {
		t.Errorf("staged images left: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(store, stagingDir, "*", backupStateFile)); len(m) > 0 {
		t.Errorf("backup state left: %v", m)
	}
	assertNoTemporaries(t, srv)
	for i, id := range ids {
		if !bytes.Equal(restoreTo(t, env, store, id), images[i]) {
			t.Fatalf("backup %d (%s) does not restore identical", i+1, id)
		}
	}

	var list []backupSummary
	if err := json.Unmarshal([]byte(mustRun(t, env, "backups", "list", "--store", store, "--drive", drive, "--json")), &list); err != nil ||
		len(list) != 3 || list[0].ID != ids[0] || list[2].ID != ids[2] || list[0].Size != size {
		t.Fatalf("backups list: %v %+v", err, list)
	}
	if out := mustRun(t, env, "backups", "list", "--store", store); !strings.Contains(out, ids[1]) || !strings.Contains(out, "3 backups") {
		t.Errorf("backups list table:\n%s", out)
	}
	if out := mustRun(t, env, "backups", "show", "--store", store, "--drive", drive); !strings.Contains(out, ids[2]) {
		t.Errorf("backups show --drive shows not the newest:\n%s", out)
	}

	// The chunks only the oldest backup references go with it.
	details := []backupDetail{showBackup(t, env, store, ids[0]), showBackup(t, env, store, ids[1]), showBackup(t, env, store, ids[2])}
	var onlyOldest []backupstore.Hash
	for h := range details[0].Referenced() {
		if !details[1].Referenced()[h] && !details[2].Referenced()[h] {
			onlyOldest = append(onlyOldest, h)
		}
	}
	if len(onlyOldest) == 0 {
		t.Fatal("the oldest backup shares all its chunks: the drive did not change")
	}
	chunksBefore, _ := filepath.Glob(filepath.Join(store, "chunks", "*", "*"))
	if out := mustRun(t, env, "backups", "forget", "--store", store, "--keep-last", "2", "--dry-run", "--prune"); !strings.Contains(out, "would forget 1 backup") ||
		!strings.Contains(out, fmt.Sprintf("would remove %s", plural(len(onlyOldest), "chunk"))) {
		t.Errorf("forget --dry-run --prune:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(store, "backups", "*.json")); len(m) != 3 {
		t.Fatalf("--dry-run changed the backups: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(store, "chunks", "*", "*")); !slices.Equal(m, chunksBefore) {
		t.Fatalf("--dry-run --prune changed the chunks: %d files, before %d", len(m), len(chunksBefore))
	}
	var fr forgetResult
	if err := json.Unmarshal([]byte(mustRun(t, env, "backups", "forget", "--store", store, "--keep-last", "2", "--prune", "--json")), &fr); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fr.Forgotten, ids[:1]) || fr.Prune == nil || fr.Prune.Removed != len(onlyOldest) {
		t.Fatalf("forget --keep-last 2 --prune: forgot %v, pruned %+v; want %s and %d chunks", fr.Forgotten, fr.Prune, ids[0], len(onlyOldest))
	}
	for h := range details[0].Referenced() {
		_, err := os.Stat(filepath.Join(store, "chunks", h.String()[:2], h.String()))
		if gone := slices.Contains(onlyOldest, h); gone != os.IsNotExist(err) {
			t.Errorf("chunk %s: exists %v after the prune, want %v", h, err == nil, !gone)
		}
	}
	for i := 1; i < 3; i++ {
		if !bytes.Equal(restoreTo(t, env, store, ids[i]), images[i]) {
			t.Fatalf("backup %s does not restore identical after the prune", ids[i])
		}
	}
	_, stderr, code := runCLI(t, env, "restore", "--store", store, ids[0], "-o", filepath.Join(t.TempDir(), "x"))
	if code != ExitNotFound {
		t.Errorf("restore of a forgotten backup: exit %d, want %d\n%s", code, ExitNotFound, stderr)
	}

	// verify names a damaged chunk file; restore refuses it.
	if out := mustRun(t, env, "verify", "--store", store); strings.Count(out, "OK ") != 2 {
		t.Errorf("verify of a clean store:\n%s", out)
	}
	var victim backupstore.Hash
	for h := range details[2].Referenced() {
		victim = h
		break
	}
	path := filepath.Join(store, "chunks", victim.String()[:2], victim.String())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, env, "verify", "--store", store, ids[2])
	if code != ExitFailure || !strings.Contains(stdout, "BAD "+ids[2]) || !strings.Contains(stdout, path) {
		t.Errorf("verify of a damaged chunk: exit %d\n%s\n%s", code, stdout, stderr)
	}
	assertOneErrorLine(t, stderr)
	out := filepath.Join(t.TempDir(), "bad.img")
	if _, stderr, code := runCLI(t, env, "restore", "--store", store, ids[2], "-o", out); code != ExitFailure || !strings.Contains(stderr, victim.String()) {
		t.Errorf("restore of a damaged backup: exit %d\n%s", code, stderr)
	}
	if m, _ := filepath.Glob(out + "*"); len(m) > 0 {
		t.Errorf("a failed restore left %v", m)
	}
}

func TestBackupStoreE2EUsage(t *testing.T) {
	notStore := t.TempDir()
	os.WriteFile(filepath.Join(notStore, "photo.jpg"), []byte("x"), 0o600)
	env := []string{"CLOUDSIGMA_USERNAME=u", "CLOUDSIGMA_PASSWORD=p"}
	for _, args := range [][]string{
		{"backup", "--all", "--dir", "x", "--store", "y"},
		{"backup", "--all", "--store", "y", "--keep", "2"},
		{"backups", "list"},
		{"backups", "list", "--store", notStore},
		{"backups", "show", "--store", notStore},
		{"backups", "forget", "--store", notStore},
		{"restore", "--store", notStore, "id"},
		{"restore", "--store", notStore, "-o", "f"},
		{"verify", "--store", notStore, "a", "b"},
	} {
		_, stderr, code := runCLI(t, env, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, stderr)
		}
		assertOneErrorLine(t, stderr)
	}
}

// startKilled starts drivecp with args and SIGKILLs it once ready reports
// true (polled every 2 ms), failing the test if that does not happen
// within 60 s or the run ends first.
func startKilled(t *testing.T, env []string, ready func() bool, args ...string) {
	t.Helper()
	killAt(t, env, killMoment{what: "drivecp " + strings.Join(args, " "), args: args, ready: ready})
}

// TestBackupStoreE2EKilled kills `backup --store` during the download and
// while it stores the chunks, prunes in between, and checks that the
// reruns leave every backup whole: verify --store clean, each restoring
// identical, nothing staged, no temporaries in the cloud.
func TestBackupStoreE2EKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, ConnBandwidth: 8 << 20})
	requireV2Snapshots(t, srv)
	drive, data := backupTestDrive(t, srv, "killed", 32<<20, 30)
	store := filepath.Join(t.TempDir(), "store")
	args := []string{"backup", drive, "--store", store}
	glob := func(pattern string) bool {
		m, _ := filepath.Glob(filepath.Join(store, pattern))
		return len(m) > 0
	}

	// During the download.
	startKilled(t, env, func() bool { return glob("staging/*/*.part") }, args...)
	// While the chunks go into the store: the download is complete.
	startKilled(t, env, func() bool { return glob("chunks/*/*") }, args...)
	staged := glob("staging/*/*.img")
	t.Logf("killed while storing; staged image left: %v", staged)
	// Chunks of the killed run are referenced by no backup: prune removes
	// them, and nothing a later run needs.
	mustRun(t, env, "backups", "prune", "--store", store, "-q")
	var rep storeBackupReport
	if err := json.Unmarshal([]byte(mustRun(t, env, append(args, "--json")...)), &rep); err != nil {
		t.Fatal(err)
	}
	var list []backupSummary
	if err := json.Unmarshal([]byte(mustRun(t, env, "backups", "list", "--store", store, "--json")), &list); err != nil || len(list) == 0 {
		t.Fatalf("backups list: %v %v", err, list)
	}
	t.Logf("rerun stored %s and recovered %v", rep.Drives[0].Backup, rep.Recovered)
	if staged && len(rep.Recovered) != 1 {
		t.Errorf("the staged image of the killed run was not recovered")
	}
	if len(list) != 1+len(rep.Recovered) {
		t.Errorf("%d backups, want this run's and the %d recovered", len(list), len(rep.Recovered))
	}
	for _, b := range list {
		if !bytes.Equal(restoreTo(t, env, store, b.ID), data) {
			t.Errorf("backup %s does not restore identical", b.ID)
		}
	}
	if out := mustRun(t, env, "verify", "--store", store); strings.Count(out, "OK ") != len(list) {
		t.Errorf("verify --store:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(store, stagingDir, "*", "*.img*")); len(m) > 0 {
		t.Errorf("staged files left: %v", m)
	}
	assertNoTemporaries(t, srv)
}

// TestBackupStoreE2EPruneBesideBackup: a prune while a backup of the store
// is running refuses (exit 1, with a hint) and removes nothing; the backup
// completes.
func TestBackupStoreE2EPruneBesideBackup(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, ConnBandwidth: 2 << 20})
	requireV2Snapshots(t, srv)
	drive, data := backupTestDrive(t, srv, "busy", 16<<20, 40)
	store := filepath.Join(t.TempDir(), "store")
	cmd := exec.Command(binPath, "backup", drive, "--store", store, "--concurrency", "2")
	cmd.Env = append(baseEnv(t), env...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(store, "staging", "*", "*.part")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the backup never started downloading\n%s", errOut.String())
		}
	}
	_, stderr, code := runCLI(t, env, "backups", "prune", "--store", store)
	if code != ExitFailure || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, "hint:") {
		t.Errorf("prune beside a backup: exit %d\n%s", code, stderr)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the backup beside the prune: %v\n%s", err, errOut.String())
	}
	var list []backupSummary
	if err := json.Unmarshal([]byte(mustRun(t, env, "backups", "list", "--store", store, "--json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("backups list: %v %v", err, list)
	}
	if !bytes.Equal(restoreTo(t, env, store, list[0].ID), data) {
		t.Error("the backup does not restore identical")
	}
	mustRun(t, env, "backups", "prune", "--store", store)
}
