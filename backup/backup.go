package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/retry"
)

// Defaults of Options.
const (
	DefaultConcurrency    = 8
	DefaultDrivesAtOnce   = 2
	DefaultCleanupTimeout = 2 * time.Minute
	defaultRetryDelay     = 500 * time.Millisecond
	maxRetryDelay         = 10 * time.Second
	// maxAttempts bounds the tries of one management request (snapshot,
	// clone, delete, list) on temporary errors.
	maxAttempts = 6
)

// Budget is the overall transfer concurrency shared by every drive of a
// run: a downloader acquires one unit for each request it has in flight
// (each chunk being fetched) and releases it when the request is over, so
// with DrivesAtOnce drives downloading at once the run still holds at most
// Options.Concurrency requests open. A *semaphore.Weighted of size
// Concurrency is one; Run makes one. A downloader may start as many workers
// as it likes; only the units it holds count.
type Budget interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// DownloadStats is what a DownloadFunc reports.
type DownloadStats struct {
	// Bytes is how many bytes this call fetched; less than the size when it
	// resumed an earlier, interrupted download.
	Bytes int64
	// ChunkSize and ChunkHashes, when set, are the xxhash64 of each chunk
	// of the image as received. If ChunkSize equals the manifest's, the
	// manifest (built by reading the file back) must match them, which
	// catches an image damaged between the network and the disk.
	ChunkSize   int64
	ChunkHashes []uint64
}

// DownloadFunc downloads the whole of drive (size bytes) to dest: it writes
// dest+PartSuffix and, only once every byte is there and synced, renames it
// to dest (mode 0600). It resumes an earlier interrupted download into the
// same dest where it can, holds one unit of budget per request in flight,
// and returns an error matching ctx.Err() when ctx is cancelled. dest does
// not exist when it is called.
type DownloadFunc func(ctx context.Context, drive string, size int64, dest string, budget Budget) (DownloadStats, error)

// Deps are the services a run uses. WaitSnapshot and WaitClone wait for the
// asynchronous operations (the command layer polls with backoff and a
// timeout); each returns the resource as it is at the end, or an error when
// it failed or the wait ran out of time.
type Deps struct {
	Drives       providers.DriveService
	Snapshots    providers.SnapshotService
	Jobs         providers.JobService
	Download     DownloadFunc
	WaitSnapshot func(ctx context.Context, s providers.Snapshot) (providers.Snapshot, error)
	WaitClone    func(ctx context.Context, d providers.Drive) (providers.Drive, error)
}

// Options configure a run. Exactly one of Drives, All and Tags selects the
// drives.
type Options struct {
	Drives []string // drive UUIDs
	All    bool     // every drive of the account (temporaries excluded)
	Tags   []string // drives carrying any of these tag UUIDs

	Dir          string // backups go to Dir/<drive-name>-<uuid>/
	Keep         int    // after a success keep this many backups of the drive; 0 keeps all
	KeepSnapshot bool   // keep the snapshot (renamed and unmarked) instead of deleting it

	Concurrency  int   // overall transfer budget (default DefaultConcurrency)
	DrivesAtOnce int   // drives backed up at the same time (default DefaultDrivesAtOnce)
	ChunkSize    int64 // manifest chunk size (default chunker.DefaultChunkSize)

	// RunID names the run in the temporaries' marks; empty: generated.
	RunID string
	// Now is the clock (default time.Now); tests fix it.
	Now func() time.Time
	// CleanupTimeout bounds the deletion of temporaries after a failure or
	// success, which runs on a context of its own so that it happens even
	// when the run's context is cancelled (default DefaultCleanupTimeout).
	CleanupTimeout time.Duration
	// RetryDelay is the first backoff of a management request that failed
	// temporarily (default 500ms).
	RetryDelay time.Duration
	// Logf, when set, receives one line per step.
	Logf func(format string, args ...any)
	// Warnf, when set, receives warnings (cleanup that failed, state that
	// could not be read); they also go into the report.
	Warnf func(format string, args ...any)
}

// Status is the outcome of one drive's backup.
type Status string

// The outcomes of a drive's backup.
const (
	StatusOK          Status = "ok"
	StatusFailed      Status = "failed"
	StatusInterrupted Status = "interrupted" // the run was cancelled; its state is saved for a rerun
)

// DriveReport is the outcome of one drive's backup.
type DriveReport struct {
	Drive      string   `json:"drive"`
	Name       string   `json:"name"`
	Status     Status   `json:"status"`
	Bytes      int64    `json:"bytes"`      // size of the image
	Downloaded int64    `json:"downloaded"` // bytes fetched by this run
	Seconds    float64  `json:"seconds"`    // the whole drive: snapshot to cleanup
	MBps       float64  `json:"mb_per_s"`   // Bytes over Seconds, in 10^6 bytes per second
	File       string   `json:"file,omitempty"`
	Manifest   string   `json:"manifest,omitempty"`
	Resumed    bool     `json:"resumed,omitempty"`
	Snapshot   string   `json:"snapshot,omitempty"` // the snapshot kept with KeepSnapshot
	Pruned     []string `json:"pruned,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Error      string   `json:"error,omitempty"`
	// Err is the error behind a failed or interrupted status, for callers
	// that classify it with errors.Is.
	Err error `json:"-"`
}

// Report is the outcome of a run.
type Report struct {
	Run     string        `json:"run"`
	Dir     string        `json:"dir"`
	Seconds float64       `json:"seconds"`
	Drives  []DriveReport `json:"drives"`
	// Orphans are the temporary clones of drives that no longer exist
	// which the run deleted (All only; see OrphanAge).
	Orphans []string `json:"orphans,omitempty"`
	// Warnings are the run's own warnings, beside the drives'.
	Warnings []string `json:"warnings,omitempty"`
}

// Count returns how many drives ended with status s.
func (r Report) Count(s Status) int {
	n := 0
	for _, d := range r.Drives {
		if d.Status == s {
			n++
		}
	}
	return n
}

// ErrOptions reports options or dependencies a run cannot start with. It
// matches providers.ErrInvalid (bad input).
var ErrOptions = fmt.Errorf("backup options: %w", providers.ErrInvalid)

// Run backs up the drives opts selects into opts.Dir and reports on each.
// Per-drive failures are in the report, not the error, which is for a run
// that could not start (bad options, the drive listing failed). A drive
// whose backup was cancelled through ctx is reported interrupted and keeps
// its snapshot, clone, partial download and state file, so running the same
// backup again continues it.
func Run(ctx context.Context, opts Options, deps Deps) (Report, error) {
	r, err := newRunner(opts, deps)
	if err != nil {
		return Report{}, err
	}
	start := r.now()
	rep := Report{Run: r.run, Dir: opts.Dir}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return rep, fmt.Errorf("backup folder: %w", err)
	}
	sel, orphans, err := r.selectDrives(ctx)
	if err != nil {
		return rep, err
	}
	rep.Orphans, rep.Warnings = r.deleteOrphans(ctx, orphans)
	rep.Drives = make([]DriveReport, len(sel))
	var g errgroup.Group
	g.SetLimit(r.opts.DrivesAtOnce)
	for i, s := range sel {
		if s.err != nil {
			rep.Drives[i] = DriveReport{Drive: s.uuid, Status: StatusFailed, Error: s.err.Error(), Err: s.err}
			continue
		}
		g.Go(func() error {
			rep.Drives[i] = r.backupDrive(ctx, s.drive)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report into rep and never fail
	rep.Seconds = r.now().Sub(start).Seconds()
	return rep, nil
}

// runner is one run's shared state.
type runner struct {
	opts   Options
	deps   Deps
	run    string
	budget Budget
}

func newRunner(opts Options, deps Deps) (*runner, error) {
	modes := 0
	if len(opts.Drives) > 0 {
		modes++
	}
	if opts.All {
		modes++
	}
	if len(opts.Tags) > 0 {
		modes++
	}
	switch {
	case modes != 1:
		return nil, fmt.Errorf("%w: select drives by UUID, All or Tags (exactly one)", ErrOptions)
	case opts.Dir == "":
		return nil, fmt.Errorf("%w: no backup folder", ErrOptions)
	case opts.Keep < 0, opts.Concurrency < 0, opts.DrivesAtOnce < 0, opts.ChunkSize < 0:
		return nil, fmt.Errorf("%w: negative count", ErrOptions)
	case deps.Drives == nil || deps.Snapshots == nil || deps.Download == nil || deps.WaitSnapshot == nil || deps.WaitClone == nil:
		return nil, fmt.Errorf("%w: missing services", ErrOptions)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.DrivesAtOnce == 0 {
		opts.DrivesAtOnce = DefaultDrivesAtOnce
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = chunker.DefaultChunkSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CleanupTimeout <= 0 {
		opts.CleanupTimeout = DefaultCleanupTimeout
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = defaultRetryDelay
	}
	r := &runner{opts: opts, deps: deps, run: opts.RunID,
		budget: semaphore.NewWeighted(int64(opts.Concurrency))}
	if r.run == "" {
		r.run = newRunID(opts.Now())
	}
	return r, nil
}

func (r *runner) now() time.Time { return r.opts.Now() }

func (r *runner) logf(format string, args ...any) {
	if r.opts.Logf != nil {
		r.opts.Logf(format, args...)
	}
}

// selected is one drive to back up, or why it cannot be.
type selected struct {
	uuid  string
	drive providers.Drive
	err   error
}

// selectDrives resolves the selection into drives. An unknown UUID fails
// that drive only; a listing that fails fails the run. With All it also
// returns the orphans among the account's drives (see orphan).
func (r *runner) selectDrives(ctx context.Context) ([]selected, []providers.Drive, error) {
	var out []selected
	if len(r.opts.Drives) > 0 {
		seen := map[string]bool{}
		for _, u := range r.opts.Drives {
			if seen[u] {
				continue
			}
			seen[u] = true
			var d providers.Drive
			err := r.retry(ctx, func(ctx context.Context) (err error) {
				d, err = r.deps.Drives.GetDrive(ctx, u)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, err
				}
				out = append(out, selected{uuid: u, err: err})
				continue
			}
			out = append(out, selected{uuid: u, drive: d})
		}
		return out, nil, nil
	}
	f := providers.DriveFilter{Tags: r.opts.Tags}
	var ds []providers.Drive
	err := r.retry(ctx, func(ctx context.Context) (err error) {
		ds, err = r.deps.Drives.ListDrives(ctx, f)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("select drives: %w", err)
	}
	var orphans []providers.Drive
	for _, d := range ds {
		if _, temp := tempSource(d.Name); temp {
			if r.opts.All && r.orphan(d, ds) {
				orphans = append(orphans, d)
			}
			continue // our own clones are not backed up
		}
		out = append(out, selected{uuid: d.UUID, drive: d})
	}
	return out, orphans, nil
}

// OrphanAge is how old a temporary clone of a drive that no longer exists
// must be before a run deletes it. The per-drive cleanup never meets such a
// clone, since no run backs up its drive again; but a clone this young may
// still be downloading in a run elsewhere, the last copy of a drive deleted
// meanwhile, and a backup of one drive does not take a week.
const OrphanAge = 7 * 24 * time.Hour

// orphan reports whether the temporary clone d is an orphan: the drive it
// was cloned from is not among all (the account's drives) and its run,
// dated by its name, began OrphanAge or more ago. A clone whose name cannot
// be dated is left alone.
func (r *runner) orphan(d providers.Drive, all []providers.Drive) bool {
	src, _ := tempSource(d.Name)
	if slices.ContainsFunc(all, func(x providers.Drive) bool { return x.UUID == src }) {
		return false
	}
	started, ok := runTime(strings.TrimPrefix(d.Name, TempName(src, "")))
	return ok && r.now().Sub(started) >= OrphanAge
}

// deleteOrphans deletes the orphan clones, on a context of its own like
// every cleanup, and returns the UUIDs it deleted and a warning for each
// it could not.
func (r *runner) deleteOrphans(ctx context.Context, orphans []providers.Drive) (deleted, warnings []string) {
	if len(orphans) == 0 {
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.CleanupTimeout)
	defer cancel()
	for _, d := range orphans {
		err := r.retry(cctx, func(ctx context.Context) error { return r.deps.Drives.DeleteDrives(ctx, d.UUID) })
		if err != nil && !errors.Is(err, providers.ErrNotFound) {
			msg := fmt.Sprintf("temporary clone %s (%s) of a drive that no longer exists: delete: %v", d.UUID, d.Name, err)
			warnings = append(warnings, msg)
			if r.opts.Warnf != nil {
				r.opts.Warnf("%s", msg)
			}
			continue
		}
		deleted = append(deleted, d.UUID)
		r.logf("deleted temporary clone %s (%s): the drive it was cloned from no longer exists", d.UUID, d.Name)
	}
	return deleted, warnings
}

// retry calls fn until it succeeds, fails with an error that is not
// temporary, or maxAttempts have failed, with exponential backoff and
// jitter between attempts, honouring Retry-After.
func (r *runner) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	p := retry.Policy{Attempts: maxAttempts, Base: r.opts.RetryDelay, Max: maxRetryDelay,
		MaxElapsed: maxAttempts * maxRetryDelay}
	return p.Do(ctx, "backup request", fn)
}

// backupDrive backs up one drive and reports how it went.
func (r *runner) backupDrive(ctx context.Context, d providers.Drive) DriveReport {
	start := r.now()
	rep := DriveReport{Drive: d.UUID, Name: d.Name}
	finish := func(err error) DriveReport {
		rep.Seconds = r.now().Sub(start).Seconds()
		switch {
		case err == nil:
			rep.Status = StatusOK
			rep.MBps = units.MBps(rep.Bytes, rep.Seconds)
		case ctx.Err() != nil:
			rep.Status, rep.Err = StatusInterrupted, err
			rep.Error = err.Error()
		default:
			rep.Status, rep.Err = StatusFailed, err
			rep.Error = err.Error()
		}
		return rep
	}
	if err := ctx.Err(); err != nil {
		return finish(err)
	}
	dir, err := driveDir(r.opts.Dir, d.UUID, d.Name)
	if err != nil {
		return finish(fmt.Errorf("backup folder: %w", err))
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return finish(err)
	}
	defer unlock()
	j := &job{r: r, d: d, dir: dir, rep: &rep}
	err = j.run(ctx)
	if err != nil && ctx.Err() == nil {
		j.cleanupFailed(ctx)
	}
	return finish(err)
}

// job is the backup of one drive.
type job struct {
	r   *runner
	d   providers.Drive
	dir string
	rep *DriveReport
	st  *state
}

func (j *job) logf(format string, args ...any) {
	j.r.logf("%s (%s): "+format, append([]any{j.d.Name, j.d.UUID}, args...)...)
}

func (j *job) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	j.rep.Warnings = append(j.rep.Warnings, msg)
	if j.r.opts.Warnf != nil {
		j.r.opts.Warnf("%s (%s): %s", j.d.Name, j.d.UUID, msg)
	}
}

func (j *job) target() string { return filepath.Join(j.dir, j.st.Target) }

// run takes the drive from its state file (or from nothing) to a verified
// backup, then cleans up.
func (j *job) run(ctx context.Context) error {
	st, err := loadState(j.dir)
	if err != nil {
		j.warnf("ignoring the state of an earlier run: %v", err)
		st = nil
	}
	if st != nil && st.Drive != j.d.UUID {
		st = nil
	}
	// Leftovers first: temporaries of earlier runs the state does not
	// reference cost money and would only be found again next time.
	if err := j.sweep(ctx, st); err != nil {
		return err
	}
	if st != nil {
		j.rep.Resumed = true
		j.st = st // a failure from here on cleans up what the state names
		if err := j.reuse(ctx, st); err != nil {
			return err
		}
	} else {
		now := j.r.now()
		st = &state{Format: stateFormat, Run: j.r.run, Drive: j.d.UUID, Created: now.UTC(),
			Target: newTarget(j.dir, now)}
	}
	j.st = st
	if err := st.save(j.dir); err != nil {
		return err
	}
	m, err := ReadManifest(ManifestPath(j.target()))
	if err != nil {
		// Not finished yet: the normal case.
		if m, err = j.produce(ctx); err != nil {
			return err
		}
	} else {
		j.logf("image and manifest already complete")
	}
	// Only now is there a backup to name.
	j.rep.Bytes = m.Size
	j.rep.File, j.rep.Manifest = j.target(), ManifestPath(j.target())
	j.cleanupSucceeded(ctx)
	return nil
}

// reuse checks which resources of an earlier run's state still exist and
// drops the ones that do not. A new clone means a new target: the partial
// download of the old one belongs to a drive that is gone, and the
// downloader's checkpoint is keyed by the clone.
func (j *job) reuse(ctx context.Context, st *state) error {
	if _, err := os.Stat(filepath.Join(j.dir, st.Target)); err == nil {
		// The downloader renames only a complete image: what is missing is
		// the manifest, the cleanup, or both.
		j.logf("download of the earlier run is complete")
		return nil
	}
	if st.Clone != "" {
		err := j.r.retry(ctx, func(ctx context.Context) error {
			_, err := j.r.deps.Drives.GetDrive(ctx, st.Clone)
			return err
		})
		switch {
		case errors.Is(err, providers.ErrNotFound):
			j.logf("clone %s of the earlier run is gone", st.Clone)
			st.Clone = ""
		case err != nil:
			return fmt.Errorf("check the earlier run's clone: %w", err)
		default:
			j.logf("resuming with clone %s of the earlier run", st.Clone)
			return nil
		}
	}
	if st.Snapshot != "" {
		err := j.r.retry(ctx, func(ctx context.Context) error {
			_, err := j.r.deps.Snapshots.GetSnapshot(ctx, st.Snapshot)
			return err
		})
		switch {
		case errors.Is(err, providers.ErrNotFound):
			st.Snapshot = ""
		case err != nil:
			return fmt.Errorf("check the earlier run's snapshot: %w", err)
		default:
			j.logf("resuming from snapshot %s of the earlier run", st.Snapshot)
		}
	}
	part := filepath.Join(j.dir, st.Target) + PartSuffix
	if err := os.Remove(part); err != nil && !os.IsNotExist(err) {
		return err
	}
	st.Target = newTarget(j.dir, j.r.now())
	return nil
}

// produce downloads the image unless an earlier run finished that, then
// reads it back into a manifest and writes it.
func (j *job) produce(ctx context.Context) (*Manifest, error) {
	r, st := j.r, j.st
	target := j.target()
	size := int64(-1) // unknown when an earlier run downloaded the image
	var stats DownloadStats
	if _, err := os.Stat(target); err != nil {
		clone, err := j.prepareClone(ctx)
		if err != nil {
			return nil, err
		}
		size = clone.Size
		j.logf("downloading %s to %s", units.FormatSize(size), target)
		stats, err = r.deps.Download(ctx, clone.UUID, size, target, r.budget)
		j.rep.Downloaded = stats.Bytes
		if err != nil {
			return nil, fmt.Errorf("download clone %s: %w", clone.UUID, err)
		}
	}
	info := DriveInfo{UUID: j.d.UUID, Name: j.d.Name, Size: j.d.Size, Tags: j.d.Tags, Meta: j.d.Meta}
	m, err := BuildManifest(ctx, target, r.opts.ChunkSize, ManifestMeta{Drive: info, Snapshot: st.Snapshot, Created: st.Created})
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		if err := checkDownload(m, size, stats); err != nil {
			return nil, err
		}
	}
	if err := WriteManifest(target, m); err != nil {
		return nil, err
	}
	j.logf("manifest written, xxh64 %s", m.XXH64)
	return m, nil
}

// prepareClone makes the snapshot and the clone the state does not have
// yet, recording each in the state file as soon as it exists, and waits
// until the clone can be read.
func (j *job) prepareClone(ctx context.Context) (providers.Drive, error) {
	r, st := j.r, j.st
	name := TempName(j.d.UUID, r.run)
	if st.Clone == "" && st.Snapshot == "" {
		meta := map[string]string{MetaBackup: TempMark, MetaRun: r.run, MetaSource: j.d.UUID}
		var sn providers.Snapshot
		err := r.retry(ctx, func(ctx context.Context) (err error) {
			sn, err = r.deps.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: j.d.UUID, Name: name, Meta: meta})
			return err
		})
		if err != nil {
			return providers.Drive{}, fmt.Errorf("snapshot: %w", err)
		}
		st.Snapshot = sn.UUID
		if err := st.save(j.dir); err != nil {
			return providers.Drive{}, err
		}
		j.logf("snapshot %s", sn.UUID)
	}
	var clone providers.Drive
	if st.Clone == "" {
		var sn providers.Snapshot
		err := r.retry(ctx, func(ctx context.Context) (err error) {
			sn, err = r.deps.Snapshots.GetSnapshot(ctx, st.Snapshot)
			return err
		})
		if err == nil {
			sn, err = r.deps.WaitSnapshot(ctx, sn)
		}
		if err != nil {
			return providers.Drive{}, fmt.Errorf("snapshot %s: %w", st.Snapshot, err)
		}
		if sn.State != providers.StateReady {
			return providers.Drive{}, fmt.Errorf("snapshot %s is %s, not available", sn.UUID, sn.Status)
		}
		err = r.retry(ctx, func(ctx context.Context) (err error) {
			clone, err = r.deps.Snapshots.CloneSnapshot(ctx, st.Snapshot, providers.CloneSpec{Name: name})
			return err
		})
		if err != nil {
			return providers.Drive{}, fmt.Errorf("clone snapshot %s: %w", st.Snapshot, err)
		}
		st.Clone = clone.UUID
		if err := st.save(j.dir); err != nil {
			return providers.Drive{}, err
		}
		j.logf("clone %s", clone.UUID)
	} else {
		err := r.retry(ctx, func(ctx context.Context) (err error) {
			clone, err = r.deps.Drives.GetDrive(ctx, st.Clone)
			return err
		})
		if err != nil {
			return providers.Drive{}, fmt.Errorf("clone %s: %w", st.Clone, err)
		}
	}
	clone, err := r.deps.WaitClone(ctx, clone)
	if err != nil {
		return providers.Drive{}, fmt.Errorf("clone %s: %w", st.Clone, err)
	}
	if !clone.State.Usable() {
		return providers.Drive{}, fmt.Errorf("clone %s is %s", clone.UUID, clone.Status)
	}
	return clone, nil
}

// checkDownload compares the image read back from disk with what the
// downloader said it received.
func checkDownload(m *Manifest, size int64, stats DownloadStats) error {
	if m.Size != size {
		return fmt.Errorf("downloaded image is %d bytes, the drive %d", m.Size, size)
	}
	if stats.ChunkHashes == nil || stats.ChunkSize != m.ChunkSize {
		return nil
	}
	if len(stats.ChunkHashes) != len(m.Chunks) {
		return fmt.Errorf("downloader reported %d chunk hashes, the image has %d chunks", len(stats.ChunkHashes), len(m.Chunks))
	}
	for i, h := range stats.ChunkHashes {
		if formatHash(h) != m.Chunks[i].XXH64 {
			return fmt.Errorf("image on disk differs from the downloaded data at chunk %d (offset %d)", i, int64(i)*m.ChunkSize)
		}
	}
	return nil
}

// cleanupContext is a context for cleanup that outlives the run's
// cancellation but not CleanupTimeout.
func (j *job) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), j.r.opts.CleanupTimeout)
}

// cleanupSucceeded deletes the clone and the snapshot (or keeps it,
// renamed and unmarked), removes the state, sweeps duplicates and prunes old
// backups. Its failures are warnings: the backup itself is complete.
func (j *job) cleanupSucceeded(ctx context.Context) {
	cctx, cancel := j.cleanupContext(ctx)
	defer cancel()
	st := j.st
	keep := map[string]bool{}
	if st.Clone != "" {
		if err := j.deleteDrive(cctx, st.Clone); err != nil {
			j.warnf("delete temporary clone %s: %v", st.Clone, err)
		}
	}
	if st.Snapshot != "" {
		if j.r.opts.KeepSnapshot {
			name := "drivecp-backup-" + j.d.UUID + "-" + st.Created.Format(timestampLayout)
			meta := map[string]string{MetaBackup: KeptMark, MetaSource: j.d.UUID, "drivecp:image": st.Target}
			err := j.r.retry(cctx, func(ctx context.Context) error {
				_, err := j.r.deps.Snapshots.EditSnapshot(ctx, st.Snapshot, &name, meta)
				return err
			})
			keep[st.Snapshot] = true // even unrenamed: the user asked to keep it
			if err != nil {
				j.warnf("mark snapshot %s as kept: %v (a later backup may delete it as a leftover)", st.Snapshot, err)
			}
			j.rep.Snapshot = st.Snapshot
		} else if err := j.deleteSnapshot(cctx, st.Snapshot); err != nil {
			j.warnf("delete temporary snapshot %s: %v", st.Snapshot, err)
		}
	}
	if err := removeState(j.dir); err != nil {
		j.warnf("remove state file: %v", err)
	}
	if err := j.sweepKeeping(cctx, keep); err != nil {
		j.warnf("%v", err)
	}
	pruned, err := prune(j.dir, j.st.Target, j.r.opts.Keep)
	j.rep.Pruned = pruned
	if err != nil {
		j.warnf("prune: %v", err)
	}
}

// cleanupFailed undoes a failed backup: temporaries deleted, partial and
// unverified files removed, state removed. It runs on a fresh context.
func (j *job) cleanupFailed(ctx context.Context) {
	cctx, cancel := j.cleanupContext(ctx)
	defer cancel()
	if st := j.st; st != nil {
		if st.Clone != "" {
			if err := j.deleteDrive(cctx, st.Clone); err != nil {
				j.warnf("delete temporary clone %s: %v", st.Clone, err)
			}
		}
		if st.Snapshot != "" {
			if err := j.deleteSnapshot(cctx, st.Snapshot); err != nil {
				j.warnf("delete temporary snapshot %s: %v", st.Snapshot, err)
			}
		}
		t := j.target()
		for _, p := range []string{ManifestPath(t), t, t + PartSuffix} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				j.warnf("remove %s: %v", p, err)
			}
		}
		if err := removeState(j.dir); err != nil {
			j.warnf("remove state file: %v", err)
		}
	}
	if err := j.sweepKeeping(cctx, nil); err != nil {
		j.warnf("%v", err)
	}
}

// deleteDrive deletes a temporary drive; one already gone is fine. A drive
// still being cloned refuses deletion (busy), so it is waited for first.
func (j *job) deleteDrive(ctx context.Context, uuid string) error {
	var d providers.Drive
	err := j.r.retry(ctx, func(ctx context.Context) (err error) {
		d, err = j.r.deps.Drives.GetDrive(ctx, uuid)
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err == nil && !d.State.Settled() {
		// Best effort: if the wait fails, the delete below says why.
		_, _ = j.r.deps.WaitClone(ctx, d)
	}
	err = j.r.retry(ctx, func(ctx context.Context) error {
		return j.r.deps.Drives.DeleteDrives(ctx, uuid)
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err == nil {
		j.logf("deleted temporary drive %s", uuid)
	}
	return err
}

// deleteSnapshot deletes a temporary snapshot; one already gone is fine.
func (j *job) deleteSnapshot(ctx context.Context, uuid string) error {
	err := j.r.retry(ctx, func(ctx context.Context) error {
		return j.r.deps.Snapshots.DeleteSnapshots(ctx, uuid)
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err == nil {
		j.logf("deleted temporary snapshot %s", uuid)
	}
	return err
}

// sweep deletes the temporaries of this drive that st does not reference.
// Only cancellation of ctx is an error; failures are warnings.
func (j *job) sweep(ctx context.Context, st *state) error {
	keep := map[string]bool{}
	if st != nil {
		keep[st.Snapshot], keep[st.Clone] = true, true
	}
	if err := j.sweepKeeping(ctx, keep); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.warnf("%v", err)
	}
	return nil
}

// sweepKeeping deletes every temporary snapshot and clone of this drive
// except those in keep.
func (j *job) sweepKeeping(ctx context.Context, keep map[string]bool) error {
	r := j.r
	var errs []error
	var snaps []providers.Snapshot
	err := r.retry(ctx, func(ctx context.Context) (err error) {
		snaps, err = r.deps.Snapshots.ListSnapshots(ctx, j.d.UUID)
		return err
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("list snapshots for leftovers: %w", err))
	}
	var drives []providers.Drive
	err = r.retry(ctx, func(ctx context.Context) (err error) {
		drives, err = r.deps.Drives.ListDrives(ctx, providers.DriveFilter{})
		return err
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("list drives for leftovers: %w", err))
	}
	// Clones before snapshots: a snapshot may not be deletable while a
	// clone of it is being made.
	for _, d := range drives {
		if src, ok := tempSource(d.Name); ok && src == j.d.UUID && !keep[d.UUID] {
			if err := j.deleteDrive(ctx, d.UUID); err != nil {
				errs = append(errs, fmt.Errorf("delete leftover drive %s: %w", d.UUID, err))
			}
		}
	}
	for _, s := range snaps {
		if isTempSnapshot(s, j.d.UUID) && !keep[s.UUID] {
			if err := j.deleteSnapshot(ctx, s.UUID); err != nil {
				errs = append(errs, fmt.Errorf("delete leftover snapshot %s: %w", s.UUID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// isTempSnapshot reports whether s is a temporary snapshot of drive,
// marked by name or by metadata.
func isTempSnapshot(s providers.Snapshot, drive string) bool {
	if src, ok := tempSource(s.Name); ok && src == drive {
		return true
	}
	return s.Meta[MetaBackup] == TempMark && s.Meta[MetaSource] == drive
}

// prune keeps the newest keep backups of a drive folder (current always
// among them) and removes older ones, image first and then manifest, so
// nothing half-removed looks like a backup. It also removes partial
// downloads and manifests without an image, which no state references
// once a backup has succeeded. keep 0 prunes no backups.
func prune(dir, current string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	var removed []string
	var errs []error
	remove := func(name string) bool {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
			return false
		}
		removed = append(removed, name)
		return true
	}
	var backups []string
	for name := range names {
		switch {
		case strings.HasSuffix(name, ImageSuffix) && names[name+ManifestSuffix]:
			if name != current {
				backups = append(backups, name)
			}
		case strings.HasSuffix(name, ImageSuffix+PartSuffix):
			remove(name)
		case strings.HasSuffix(name, ImageSuffix+ManifestSuffix) && !names[strings.TrimSuffix(name, ManifestSuffix)]:
			remove(name)
		}
	}
	if keep > 0 {
		slices.Sort(backups)
		slices.Reverse(backups)
		for i, name := range backups {
			if i < keep-1 {
				continue
			}
			if remove(name) {
				remove(name + ManifestSuffix)
			}
		}
	}
	slices.Sort(removed)
	if len(removed) > 0 {
		if err := atomicfile.SyncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}
