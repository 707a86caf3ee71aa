package backup

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/drivecp/drivecp/chunker"
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
