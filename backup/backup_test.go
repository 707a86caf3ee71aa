package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// backupFiles lists the files in a drive's backup folder, hidden ones
// (lock, state) excluded.
func backupFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// onlyDriveDir returns the one folder of drive uuid in the backup folder.
func onlyDriveDir(t *testing.T, e *env, uuid string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(e.opts.Dir, "*-"+uuid))
	if len(m) != 1 {
		t.Fatalf("folders of %s: %v", uuid, m)
	}
	return m[0]
}

// checkBackup checks that a drive report is ok, its image equals want and
// its manifest verifies.
func checkBackup(t *testing.T, r DriveReport, want []byte) {
	t.Helper()
	if r.Status != StatusOK {
		t.Fatalf("drive %s: status %s, error %s", r.Drive, r.Status, r.Error)
	}
	got, err := os.ReadFile(r.File)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("image %s differs from the drive", r.File)
	}
	fi, _ := os.Stat(r.File)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("image mode %v", fi.Mode().Perm())
	}
	m, err := ReadManifest(r.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := Verify(context.Background(), r.File, m)
	if err != nil || !vr.OK {
		t.Fatalf("verify: %+v %v", vr, err)
	}
	if m.Drive.UUID != r.Drive || m.Size != int64(len(want)) || m.Snapshot == "" {
		t.Errorf("manifest metadata %+v", m.Drive)
	}
}

func TestBackupOneDrive(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("web 1/root", 1<<20+12345, 7)
	e.opts.Drives = []string{d.UUID}
	rep := e.run(context.Background())
	if len(rep.Drives) != 1 {
		t.Fatalf("report %+v", rep)
	}
	r := rep.Drives[0]
	checkBackup(t, r, content(7, d.Size))
	dir := onlyDriveDir(t, e, d.UUID)
	if filepath.Base(dir) != "web_1_root-"+d.UUID {
		t.Errorf("drive folder %s", dir)
	}
	if filepath.Base(r.File) != "20261125T020000Z.img" {
		t.Errorf("image name %s", r.File)
	}
	if left := e.cloud.temporaries(); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
	if r.Bytes != d.Size || r.Downloaded != d.Size || r.Resumed {
		t.Errorf("report %+v", r)
	}
}

func TestBackupRetriesTemporaryErrors(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("db", 300<<10, 3)
	e.opts.Drives = []string{d.UUID}
	for _, op := range []string{"GetDrive", "CreateSnapshot", "CloneSnapshot", "DeleteDrives", "DeleteSnapshots", "ListDrives"} {
		e.cloud.failNext(op, errUnavailable, errUnavailable)
	}
	rep := e.run(context.Background())
	checkBackup(t, rep.Drives[0], content(3, d.Size))
	if left := e.cloud.temporaries(); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
}

// TestBackupFailureCleansUp injects a permanent failure into each step and
// checks that the run reports it and leaves nothing behind: no temporary
// snapshot or clone, no image, partial file or state.
func TestBackupFailureCleansUp(t *testing.T) {
	boom := &providers.APIError{Op: "fake", Status: 400, Type: "validation", Message: "boom"}
	for _, step := range []string{"CreateSnapshot", "WaitSnapshot", "CloneSnapshot", "WaitClone", "Download", "DownloadHalf", "Manifest"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t)
			d := e.cloud.addDrive("app", 512<<10, 11)
			e.opts.Drives = []string{d.UUID}
			switch step {
			case "Download":
				e.dl.before = func(int, string, string) error { return boom }
			case "DownloadHalf":
				// The downloader wrote part of the file, then failed.
				e.dl.before = func(_ int, _ string, dest string) error {
					return errors.Join(os.WriteFile(dest+PartSuffix, []byte("partial"), 0o600), boom)
				}
			case "Manifest":
				// The downloader reports hashes the file on disk does not
				// have: the image must not count as a backup.
				e.opts.ChunkSize = 64 << 10
			default:
				e.cloud.failAlways(step, boom)
			}
			deps := e.deps()
			if step == "Manifest" {
				deps.Download = func(ctx context.Context, drive string, size int64, dest string, b Budget) (DownloadStats, error) {
					st, err := e.dl.download(ctx, drive, size, dest, b)
					st.ChunkSize = 64 << 10
					st.ChunkHashes = make([]uint64, (size+st.ChunkSize-1)/st.ChunkSize)
					return st, err
				}
			}
			rep, err := Run(context.Background(), e.opts, deps)
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Drives[0]
			if r.Status != StatusFailed || r.Error == "" || r.Err == nil {
				t.Fatalf("report %+v", r)
			}
			if step != "Manifest" && step != "DownloadHalf" && !errors.Is(r.Err, providers.ErrInvalid) {
				t.Errorf("error %v lost its kind", r.Err)
			}
			if left := e.cloud.temporaries(); len(left) > 0 {
				t.Errorf("temporaries left: %v", left)
			}
			dir := onlyDriveDir(t, e, d.UUID)
			if files := backupFiles(t, dir); len(files) > 0 {
				t.Errorf("files left: %v", files)
			}
			if _, err := os.Stat(filepath.Join(dir, stateFile)); !os.IsNotExist(err) {
				t.Errorf("state file left")
			}
		})
	}
}

// TestBackupCleanupOnCancelledContextFailure: a failure is cleaned up even
// when the deletes would see a cancelled context, because cleanup has its
// own.
func TestBackupCleanupUsesFreshContext(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("app", 256<<10, 1)
	e.opts.Drives = []string{d.UUID}
	deps := e.deps()
	deps.Download = func(ctx context.Context, drive string, size int64, dest string, b Budget) (DownloadStats, error) {
		return DownloadStats{}, errors.New("disk full")
	}
	// DeleteDrives checks the context it gets.
	cloud := &ctxCheckingCloud{fakeCloud: e.cloud}
	deps.Drives = cloud
	rep, err := Run(context.Background(), e.opts, deps)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drives[0].Status != StatusFailed || cloud.sawDeadline == 0 {
		t.Fatalf("report %+v, deletes with a deadline: %d", rep.Drives[0], cloud.sawDeadline)
	}
	if left := e.cloud.temporaries(); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
}

type ctxCheckingCloud struct {
	*fakeCloud
	sawDeadline int
}

func (c *ctxCheckingCloud) DeleteDrives(ctx context.Context, uuids ...string) error {
	if _, ok := ctx.Deadline(); ok {
		c.sawDeadline++
	}
	return c.fakeCloud.DeleteDrives(ctx, uuids...)
}

// TestBackupInterruptedThenResumed: a run cancelled mid-download keeps its
// clone, partial file and state; the rerun reuses the clone and the target,
// resumes the partial file, and cleans up everything.
func TestBackupInterruptedThenResumed(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("big", 2<<20, 5)
	e.opts.Drives = []string{d.UUID}
	ctx, cancel := context.WithCancel(context.Background())
	e.dl.stopAfter, e.dl.cancel = 1<<20, cancel
	rep := e.run(ctx)
	r := rep.Drives[0]
	if r.Status != StatusInterrupted || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("first run: %+v", r)
	}
	dir := onlyDriveDir(t, e, d.UUID)
	st, err := loadState(dir)
	if err != nil || st == nil || st.Clone == "" || st.Snapshot == "" {
		t.Fatalf("state after interruption: %+v %v", st, err)
	}
	if len(e.cloud.temporaries()) != 2 {
		t.Fatalf("interruption must keep snapshot and clone: %v", e.cloud.temporaries())
	}

	// The rerun: another run ID, a later clock.
	e.opts.RunID, e.clock = "run2", e.clock.Add(time.Hour)
	e.dl.stopAfter = 0
	rep = e.run(context.Background())
	r = rep.Drives[0]
	checkBackup(t, r, content(5, d.Size))
	if !r.Resumed || r.Downloaded != 1<<20 {
		t.Errorf("rerun report %+v", r)
	}
	calls := e.dl.calls
	if len(calls) != 2 || calls[1].drive != calls[0].drive || calls[1].dest != calls[0].dest || calls[1].resumedFrom != 1<<20 {
		t.Errorf("download calls %+v: the rerun must reuse clone and target and resume", calls)
	}
	if filepath.Base(r.File) != "20261125T020000Z.img" {
		t.Errorf("resumed image %s", r.File)
	}
	if left := e.cloud.temporaries(); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
	if e.cloud.count("CreateSnapshot") != 1 || e.cloud.count("CloneSnapshot") != 1 {
		t.Errorf("snapshots %d, clones %d: want one each", e.cloud.count("CreateSnapshot"), e.cloud.count("CloneSnapshot"))
	}
}

// TestBackupRerunAfterCrash simulates a crash by hand: a state file naming a
// clone that is gone and a snapshot that still exists, a stale partial
// download, and leftovers of older runs no state references. The rerun
// clones the snapshot again into a new target, deletes the leftovers and
// leaves the user's own snapshot alone.
func TestBackupRerunAfterCrash(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("crashy", 700<<10, 9)
	other := e.cloud.addDrive("other", 100<<10, 1)
	e.opts.Drives = []string{d.UUID}
	ctx := context.Background()
	// Resources of the crashed run "old1".
	sn, _ := e.cloud.CreateSnapshot(ctx, providers.SnapshotSpec{Target: d.UUID, Name: TempName(d.UUID, "old1"), Meta: map[string]string{MetaBackup: TempMark, MetaSource: d.UUID}})
	// Leftovers of an even older run "old0": a snapshot marked only by
	// metadata and a clone marked by name.
	left1, _ := e.cloud.CreateSnapshot(ctx, providers.SnapshotSpec{Target: d.UUID, Name: "renamed", Meta: map[string]string{MetaBackup: TempMark, MetaSource: d.UUID}})
	left2, _ := e.cloud.CloneSnapshot(ctx, left1.UUID, providers.CloneSpec{Name: TempName(d.UUID, "old0")})
	// Not ours to delete: a user snapshot, and another drive's temporary.
	user, _ := e.cloud.CreateSnapshot(ctx, providers.SnapshotSpec{Target: d.UUID, Name: "before upgrade", Meta: nil})
	otherTmp, _ := e.cloud.CreateSnapshot(ctx, providers.SnapshotSpec{Target: other.UUID, Name: TempName(other.UUID, "old0"), Meta: nil})

	dir, err := driveDir(e.opts.Dir, d.UUID, d.Name)
	if err != nil {
		t.Fatal(err)
	}
	st := &state{Format: stateFormat, Run: "old1", Drive: d.UUID, Snapshot: sn.UUID,
		Clone: "00000000-0000-4000-8000-999999999999", Target: "20261124T020000Z.img", Created: e.clock.Add(-24 * time.Hour)}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, st.Target+PartSuffix), []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}

	rep := e.run(ctx)
	r := rep.Drives[0]
	checkBackup(t, r, content(9, d.Size))
	if !r.Resumed {
		t.Errorf("not marked resumed")
	}
	if e.cloud.count("CreateSnapshot") != 4 { // the four made above; the rerun reused sn
		t.Errorf("CreateSnapshot calls: %d", e.cloud.count("CreateSnapshot"))
	}
	for _, gone := range []string{sn.UUID, left1.UUID} {
		if _, err := e.cloud.GetSnapshot(ctx, gone); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("snapshot %s not deleted", gone)
		}
	}
	if _, err := e.cloud.GetDrive(ctx, left2.UUID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("leftover clone not deleted")
	}
	for _, kept := range []string{user.UUID, otherTmp.UUID} {
		if _, err := e.cloud.GetSnapshot(ctx, kept); err != nil {
			t.Errorf("snapshot %s deleted: %v", kept, err)
		}
	}
	if files := backupFiles(t, dir); !slices.Equal(files, []string{"20261125T020000Z.img", "20261125T020000Z.img.manifest.json"}) {
		t.Errorf("files %v", files)
	}
}

// TestBackupRerunAfterCrashBeforeManifest: the download finished (renamed)
// but the run died before the manifest: the rerun builds the manifest from
// the image without downloading again, then cleans up.
func TestBackupRerunAfterCrashBeforeManifest(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("m", 300<<10, 4)
	e.opts.Drives = []string{d.UUID}
	crashed := errors.New("crash")
	e.dl.before = func(call int, drive, dest string) error {
		if call == 0 {
			if err := os.WriteFile(dest, content(4, d.Size), 0o600); err != nil {
				return err
			}
			return crashed
		}
		return nil
	}
	// Turn the failure into a crash: keep what a dead process would keep by
	// cancelling the context as the downloader returns.
	ctx, cancel := context.WithCancel(context.Background())
	deps := e.deps()
	deps.Download = func(ctx context.Context, drive string, size int64, dest string, b Budget) (DownloadStats, error) {
		st, err := e.dl.download(ctx, drive, size, dest, b)
		if errors.Is(err, crashed) {
			cancel()
			return st, context.Canceled
		}
		return st, err
	}
	rep, _ := Run(ctx, e.opts, deps)
	if rep.Drives[0].Status != StatusInterrupted {
		t.Fatalf("first run %+v", rep.Drives[0])
	}
	rep, _ = Run(context.Background(), e.opts, deps)
	checkBackup(t, rep.Drives[0], content(4, d.Size))
	if len(e.dl.calls) != 1 {
		t.Errorf("downloaded again: %+v", e.dl.calls)
	}
	if left := e.cloud.temporaries(); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
}

func TestBackupKeepPrunes(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("keep", 128<<10, 2)
	e.opts.Drives, e.opts.Keep = []string{d.UUID}, 2
	var files []string
	for i := range 4 {
		e.opts.RunID = "r" + string(rune('0'+i))
		rep := e.run(context.Background())
		checkBackup(t, rep.Drives[0], content(2, d.Size))
		files = append(files, filepath.Base(rep.Drives[0].File))
		if i == 3 && len(rep.Drives[0].Pruned) != 2 {
			t.Errorf("pruned %v", rep.Drives[0].Pruned)
		}
		e.clock = e.clock.Add(24 * time.Hour)
	}
	dir := onlyDriveDir(t, e, d.UUID)
	want := []string{files[2], files[2] + ManifestSuffix, files[3], files[3] + ManifestSuffix}
	if got := backupFiles(t, dir); !slices.Equal(got, want) {
		t.Errorf("after pruning: %v, want %v", got, want)
	}
}

func TestBackupKeepSnapshot(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("ks", 128<<10, 2)
	e.opts.Drives, e.opts.KeepSnapshot = []string{d.UUID}, true
	rep := e.run(context.Background())
	r := rep.Drives[0]
	checkBackup(t, r, content(2, d.Size))
	sn, err := e.cloud.GetSnapshot(context.Background(), r.Snapshot)
	if err != nil {
		t.Fatalf("kept snapshot: %v", err)
	}
	if sn.Meta[MetaBackup] != KeptMark || strings.HasPrefix(sn.Name, TempPrefix) {
		t.Errorf("kept snapshot still marked temporary: %+v", sn)
	}
	if left := e.cloud.temporaries(); len(left) > 0 {
		t.Errorf("temporaries left: %v", left)
	}
	// A later run must not sweep it.
	e.opts.KeepSnapshot, e.opts.RunID = false, "r2"
	e.clock = e.clock.Add(time.Hour)
	e.run(context.Background())
	if _, err := e.cloud.GetSnapshot(context.Background(), r.Snapshot); err != nil {
		t.Errorf("kept snapshot swept: %v", err)
	}
}

// TestBackupBounds: drives-at-once bounds the drives in flight and the
// budget bounds the pieces in flight over all of them.
func TestBackupBounds(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.cloud.addDrive("d"+string(rune('a'+i)), 512<<10, uint64(i))
	}
	e.opts.All, e.opts.DrivesAtOnce, e.opts.Concurrency = true, 2, 3
	e.dl.workers, e.dl.hold = 4, 2*time.Millisecond
	rep := e.run(context.Background())
	if len(rep.Drives) != 5 || rep.Count(StatusOK) != 5 {
		t.Fatalf("report %+v", rep)
	}
	for i, r := range rep.Drives {
		checkBackup(t, r, content(uint64(i), 512<<10))
	}
	if e.dl.maxActive != 2 {
		t.Errorf("drives at once: max %d, want 2", e.dl.maxActive)
	}
	if m := e.dl.maxInFlight.Load(); m > 3 || m < 2 {
		t.Errorf("pieces in flight: max %d, want at most (and near) 3", m)
	}
}

func TestBackupSelection(t *testing.T) {
	e := newEnv(t)
	a := e.cloud.addDrive("a", 64<<10, 1, "tag-1")
	e.cloud.addDrive("b", 64<<10, 2)
	e.opts.Tags = []string{"tag-1"}
	rep := e.run(context.Background())
	if len(rep.Drives) != 1 || rep.Drives[0].Drive != a.UUID || rep.Drives[0].Status != StatusOK {
		t.Fatalf("by tag: %+v", rep.Drives)
	}
	e.opts.Tags, e.opts.Drives, e.opts.RunID = nil, []string{"00000000-0000-4000-8000-000000000404", a.UUID, a.UUID}, "r2"
	rep = e.run(context.Background())
	if len(rep.Drives) != 2 || rep.Drives[0].Status != StatusFailed || !errors.Is(rep.Drives[0].Err, providers.ErrNotFound) ||
		rep.Drives[1].Status != StatusOK {
		t.Fatalf("by UUID: %+v", rep.Drives)
	}
	for _, o := range []Options{{Dir: "x"}, {Dir: "x", All: true, Tags: []string{"t"}}, {All: true}} {
		if _, err := Run(context.Background(), o, e.deps()); !errors.Is(err, ErrOptions) || !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("options %+v: %v", o, err)
		}
	}
}

func TestBackupLocked(t *testing.T) {
	e := newEnv(t)
	d := e.cloud.addDrive("l", 64<<10, 1)
	e.opts.Drives = []string{d.UUID}
	dir, err := driveDir(e.opts.Dir, d.UUID, d.Name)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := e.run(context.Background())
	unlock()
	if rep.Drives[0].Status != StatusFailed || !errors.Is(rep.Drives[0].Err, ErrLocked) {
		t.Fatalf("%+v", rep.Drives[0])
	}
	if e.cloud.count("CreateSnapshot") != 0 {
		t.Errorf("a locked drive was snapshotted")
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"web-1":                  "web-1",
		"../../etc":              "etc",
		"":                       "drive",
		"a b/c\\d:e":             "a_b_c_d_e",
		"..":                     "drive",
		"Übung 😀 v2.0":           "bung_v2.0",
		strings.Repeat("x", 100): strings.Repeat("x", 64),
	} {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	if src, ok := tempSource(TempName("00000000-0000-4000-8000-000000000001", "run")); !ok || src != "00000000-0000-4000-8000-000000000001" {
		t.Errorf("tempSource: %q %v", src, ok)
	}
	if _, ok := tempSource("drivecp-tmp-short"); ok {
		t.Errorf("tempSource accepted a short name")
	}
}

// TestBackupDeletesOrphans: with All, temporary clones of drives that no
// longer exist are deleted once their run is OrphanAge old; younger ones,
// undatable ones and those of live drives are not orphans, and selections
// other than All never delete them.
func TestBackupDeletesOrphans(t *testing.T) {
	e := newEnv(t) // the clock says 2026-11-25T02:00Z
	a := e.cloud.addDrive("a", 64<<10, 1, "tag-1")
	const gone = "00000000-0000-4000-8000-00000000dead"
	old := e.cloud.addDrive(TempName(gone, "20261110T020000-abcdef"), 64<<10, 9)
	young := e.cloud.addDrive(TempName(gone, "20261124T020000-abcdef"), 64<<10, 9)
	undated := e.cloud.addDrive(TempName(gone, "run9"), 64<<10, 9)
	live := e.cloud.addDrive(TempName(a.UUID, "20261101T020000-abcdef"), 64<<10, 9)

	e.opts.Tags = []string{"tag-1"}
	if rep := e.run(context.Background()); len(rep.Orphans) != 0 {
		t.Fatalf("a selection by tag deleted orphans: %v", rep.Orphans)
	}
	if _, err := e.cloud.GetDrive(context.Background(), old.UUID); err != nil {
		t.Fatalf("the old orphan is gone after a run by tag: %v", err)
	}

	e.opts.Tags, e.opts.All, e.opts.RunID = nil, true, "r2"
	e.cloud.failNext("DeleteDrives", errUnavailable)
	rep := e.run(context.Background())
	if len(rep.Drives) != 1 || rep.Drives[0].Status != StatusOK {
		t.Fatalf("drives: %+v", rep.Drives)
	}
	if !slices.Equal(rep.Orphans, []string{old.UUID}) || len(rep.Warnings) != 0 {
		t.Fatalf("orphans %v, warnings %v; want only %s", rep.Orphans, rep.Warnings, old.UUID)
	}
	for _, d := range []providers.Drive{young, undated} {
		if _, err := e.cloud.GetDrive(context.Background(), d.UUID); err != nil {
			t.Errorf("%s was deleted: %v", d.Name, err)
		}
	}
	if slices.Contains(rep.Orphans, live.UUID) {
		t.Errorf("the clone of a live drive was taken for an orphan")
	}

	// A delete that keeps failing is a warning of the run, not a failure.
	e.clock = e.clock.Add(OrphanAge)
	e.opts.RunID = "r3"
	e.cloud.failAlways("DeleteDrives", fmt.Errorf("refused: %w", providers.ErrPermission))
	rep = e.run(context.Background())
	if len(rep.Orphans) != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], young.UUID) {
		t.Fatalf("orphans %v, warnings %v", rep.Orphans, rep.Warnings)
	}
}
