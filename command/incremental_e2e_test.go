package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drivecp/drivecp/driverecord"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// rewriteChunks fills the given 4 MiB chunks of a copy of data with fresh
// random bytes.
func rewriteChunks(data []byte, seed uint64, chunks ...int) []byte {
	out := bytes.Clone(data)
	rng := rand.New(rand.NewPCG(seed, seed))
	for _, c := range chunks {
		b := out[c<<22 : min((c+1)<<22, len(out))]
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	return out
}

// newDrive makes an empty drive in the emulator, of any size.
func newDrive(t *testing.T, srv *emulator.Server, name string, size int64) string {
	t.Helper()
	d, err := srv.Store().CreateDrive(wire.Drive{Name: name, Size: size, Media: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	return d.UUID
}

// writeBehind changes a drive without drivecp, as another tool would.
func writeBehind(t *testing.T, srv *emulator.Server, drive string, off int64, b []byte) {
	t.Helper()
	h, err := srv.Store().OpenDrive(drive, emulator.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalRestoreAndUploadE2E: a backup restored into an existing
// drive (in full, then incrementally) leaves the drive identical to the
// backup while sending only the chunks that differ; an incremental upload
// of a slightly changed image then sends only those chunks; a drive changed
// behind drivecp's back, a drive without a record and a size mismatch are
// refused with exit 2 and a hint.
func TestIncrementalRestoreAndUploadE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond})
	requireV2Snapshots(t, srv)
	const size = 24 << 20
	drive, night1 := backupTestDrive(t, srv, "inc", size, 7)
	store := filepath.Join(t.TempDir(), "store")
	rep1, _ := storeBackup(t, env, store, drive)
	night2 := rewriteChunks(night1, 2, 1, 4)
	writeBehind(t, srv, drive, 0, night2)
	rep2, _ := storeBackup(t, env, store, drive)
	b1, b2 := rep1.Drives[0].Backup, rep2.Drives[0].Backup

	// A second drive of the same size, whose content drivecp knows nothing of.
	target := newDrive(t, srv, "target", size)
	mustFail(t, env, ExitUsage, "no record of what drive", "restore", "--store", store, b1, "--drive", target, "--incremental")
	_, stderr, code := runCLI(t, env, "restore", "--store", store, b1, "--drive", target)
	if code != 0 {
		t.Fatalf("restore --drive: exit %d\n%s", code, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, target, size), night1) {
		t.Fatal("restore --drive: the drive differs from the backup")
	}
	_, stderr, code = runCLI(t, env, "restore", "--store", store, b2, "--drive", target, "--incremental")
	if code != 0 || !strings.Contains(stderr, "2 of 6 chunks differed") {
		t.Fatalf("restore --incremental: exit %d, want 2 of 6 chunks sent\n%s", code, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, target, size), night2) {
		t.Fatal("restore --incremental: the drive differs from the second backup")
	}

	// An image two chunks away from what the drive holds.
	img := filepath.Join(t.TempDir(), "next.img")
	next := rewriteChunks(night2, 3, 0, 5)
	if err := os.WriteFile(img, next, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, env, "upload", img, "--drive", target, "--incremental", "--verify")
	if code != 0 || strings.TrimSpace(stdout) != target || !strings.Contains(stderr, "2 of 6 chunks differed") || !strings.Contains(stderr, "identical") {
		t.Fatalf("upload --incremental: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, target, size), next) {
		t.Fatal("upload --incremental: the drive differs from the image")
	}
	// The same image again: nothing to send.
	_, stderr, code = runCLI(t, env, "upload", img, "--drive", target, "--incremental")
	if code != 0 || !strings.Contains(stderr, "0 of 6 chunks differed") {
		t.Fatalf("second upload --incremental: exit %d\n%s", code, stderr)
	}

	// Changed behind drivecp's back: every chunk of the sample differs.
	writeBehind(t, srv, target, 0, bytes.Repeat([]byte{0xAB}, size))
	mustFail(t, env, ExitUsage, "no longer holds what drivecp recorded", "upload", img, "--drive", target, "--incremental")
	mustFail(t, env, ExitUsage, "no longer holds what drivecp recorded", "restore", "--store", store, b1, "--drive", target, "--incremental")
	// --base names what the drive holds: a backup manifest of the store
	// after a full restore of it.
	mustRun(t, env, "restore", "--store", store, b1, "--drive", target, "-q")
	_, stderr, code = runCLI(t, env, "upload", img, "--drive", target, "--incremental", "--base", filepath.Join(store, "backups", b1+".json"))
	if code != 0 || !strings.Contains(stderr, "4 of 6 chunks differed") {
		t.Fatalf("upload --incremental --base: exit %d\n%s", code, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, target, size), next) {
		t.Fatal("upload --incremental --base: the drive differs from the image")
	}

	// A full upload records its engine's xxhash64 of each chunk; an
	// incremental restore hashes the backup's chunks that way to compare.
	mustRun(t, env, "upload", img, "--drive", target, "--api", "v1", "-q")
	_, stderr, code = runCLI(t, env, "restore", "--store", store, b2, "--drive", target, "--incremental")
	if code != 0 || !strings.Contains(stderr, "2 of 6 chunks differed") {
		t.Fatalf("upload, then restore --incremental: exit %d, want 2 of 6 chunks sent\n%s", code, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, target, size), night2) {
		t.Fatal("upload, then restore --incremental: the drive differs from the backup")
	}

	small := newDrive(t, srv, "small", 8<<20)
	mustFail(t, env, ExitUsage, "holds 8 MiB", "restore", "--store", store, b1, "--drive", small)
	mustFail(t, env, ExitUsage, "name it with --drive", "upload", img, "--incremental")
	mustFail(t, env, ExitUsage, "only API 1.0", "upload", img, "--drive", target, "--incremental", "--api", "v2")
	mustFail(t, env, ExitUsage, "applies to --incremental", "upload", img, "--drive", target, "--base", img)
	mustFail(t, env, ExitUsage, "exclude each other", "restore", "--store", store, b1, "--drive", target, "--name", "x")
	mustFail(t, env, ExitUsage, "applies to --drive", "restore", "--store", store, b1, "--name", "x", "--incremental")

	// No record of the drive backed up is kept where it was not learnt:
	// the records hold no credentials.
	recs, _ := filepath.Glob(filepath.Join(stateDir(t), "drives", "*.json"))
	if len(recs) == 0 {
		t.Fatal("no drive records in the state folder")
	}
	for _, r := range recs {
		b, _ := os.ReadFile(r)
		fi, _ := os.Stat(r)
		if bytes.Contains(b, []byte(envValue(env, "CLOUDSIGMA_PASSWORD"))) || fi.Mode().Perm() != 0o600 {
			t.Fatalf("record %s: mode %v, or holds the password", r, fi.Mode().Perm())
		}
	}
}

// TestIncrementalUploadKilledE2E: an incremental upload killed mid-way and
// run again finishes the job, sending again only what was not confirmed,
// and leaves the drive identical to the image.
func TestIncrementalUploadKilledE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, ConnBandwidth: 4 << 20})
	requireV2Snapshots(t, srv)
	const size = 48 << 20
	drive, data := backupTestDrive(t, srv, "kill", size, 9)
	store := filepath.Join(t.TempDir(), "store")
	storeBackup(t, env, store, drive) // records what the drive holds
	next := rewriteChunks(data, 4, 0, 2, 3, 5, 7, 8, 9, 11)
	img := filepath.Join(t.TempDir(), "next.img")
	if err := os.WriteFile(img, next, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startCLI(t, env, "upload", img, "--drive", drive, "--incremental", "-c", "2")
	// Killed once the record shows some of the 8 changed chunks confirmed.
	waitUntil(t, 60*time.Second, "a record with chunks confirmed", func() bool {
		r := savedRecord(t, drive, driverecord.FromUpload)
		return r != nil && len(r.Pending) > 0 && len(r.Pending) < 8
	})
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t, 30*time.Second)
	_, stderr, code := runCLI(t, env, "upload", img, "--drive", drive, "--incremental")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	sent, total, err := chunksDiffered(stderr)
	if err != nil || total != 12 || sent >= 8 || sent == 0 {
		t.Fatalf("rerun sent %d of %d chunks (%v), want fewer than the 8 changed\n%s", sent, total, err, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, drive, size), next) {
		t.Fatal("after the kill and the rerun, the drive differs from the image")
	}
}

// chunksDiffered reads the "N of M chunks differed" note of an incremental
// write.
func chunksDiffered(stderr string) (sent, total int, err error) {
	for _, line := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(line, "drivecp: "); ok && strings.Contains(rest, "chunks differed") {
			_, err = fmt.Sscanf(rest, "%d of %d", &sent, &total)
			return sent, total, err
		}
	}
	return 0, 0, fmt.Errorf("no note of the chunks that differed")
}

// waitUntil polls cond every 20 ms until it holds, failing the test after
// limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIncrementalAfterUploadAndDownloadE2E: uploads (API 1.0 and 2.0) and
// downloads record what the drive holds, so the next upload --incremental
// of a changed image sends only the changed chunks.
func TestIncrementalAfterUploadAndDownloadE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{})
	const size = 24 << 20
	dir := t.TempDir()
	_, base := backupTestDrive(t, srv, "seed", size, 11)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	img := write("base.img", base)
	for _, api := range []string{"v1", "v2"} {
		drive := strings.TrimSpace(mustRun(t, env, "upload", img, "--api", api, "-q"))
		next := rewriteChunks(base, 5, 2)
		_, stderr, code := runCLI(t, env, "upload", write(api+".img", next), "--drive", drive, "--incremental")
		if code != 0 || !strings.Contains(stderr, "1 of 6 chunks differed") {
			t.Fatalf("--api %s upload, then --incremental: exit %d, want 1 of 6 chunks sent\n%s", api, code, stderr)
		}
		if !bytes.Equal(driveBytes(t, srv, drive, size), next) {
			t.Fatalf("--api %s: the drive differs from the image", api)
		}
	}
	// A drive drivecp only downloaded: the download records it.
	drive, data := backupTestDrive(t, srv, "downloaded", size, 12)
	mustRun(t, env, "download", drive, "-o", filepath.Join(dir, "got.img"), "-q")
	next := rewriteChunks(data, 6, 0, 5)
	_, stderr, code := runCLI(t, env, "upload", write("next.img", next), "--drive", drive, "--incremental")
	if code != 0 || !strings.Contains(stderr, "2 of 6 chunks differed") {
		t.Fatalf("download, then upload --incremental: exit %d, want 2 of 6 chunks sent\n%s", code, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, drive, size), next) {
		t.Fatal("after download and upload --incremental, the drive differs from the image")
	}
	// A full upload into the drive replaces its record.
	mustRun(t, env, "upload", img, "--drive", drive, "--api", "v1", "-q")
	_, stderr, code = runCLI(t, env, "upload", write("again.img", rewriteChunks(base, 7, 4)), "--drive", drive, "--incremental")
	if code != 0 || !strings.Contains(stderr, "1 of 6 chunks differed") {
		t.Fatalf("full upload, then --incremental: exit %d\n%s", code, stderr)
	}
}

// savedRecord returns the record the test's runs keep of drive, if one was
// made by source; nil otherwise.
func savedRecord(t *testing.T, drive, source string) *driverecord.Record {
	t.Helper()
	recs, _ := filepath.Glob(filepath.Join(stateDir(t), "drives", "*.json"))
	for _, path := range recs {
		var r driverecord.Record
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &r) == nil && r.Drive == drive && r.Source == source {
			return &r
		}
	}
	return nil
}
