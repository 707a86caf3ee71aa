package backup

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// fakeCloud is an in-memory cloud: drives, snapshots and their content
// seeds, with failure injection per operation.
type fakeCloud struct {
	mu     sync.Mutex
	seq    int
	drives map[string]*providers.Drive
	snaps  map[string]*providers.Snapshot
	seeds  map[string]uint64 // content of drives and snapshots
	// fail holds errors to return from an operation; each is used once
	// unless sticky.
	fail   map[string][]error
	sticky map[string]error
	calls  map[string]int
}

func newFakeCloud() *fakeCloud {
	return &fakeCloud{drives: map[string]*providers.Drive{}, snaps: map[string]*providers.Snapshot{},
		seeds: map[string]uint64{}, fail: map[string][]error{}, sticky: map[string]error{}, calls: map[string]int{}}
}

// newUUID returns a UUID-shaped, unique id.
func (c *fakeCloud) newUUID() string {
	c.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", c.seq)
}

// addDrive creates a user drive of size bytes with content seed seed.
func (c *fakeCloud) addDrive(name string, size int64, seed uint64, tags ...string) providers.Drive {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := &providers.Drive{UUID: c.newUUID(), Name: name, Size: size, Status: "unmounted", State: providers.StateReady, Tags: tags,
		Meta: map[string]string{"owner": "ops"}}
	d.Raw = map[string]any{"uuid": d.UUID, "name": name}
	c.drives[d.UUID] = d
	c.seeds[d.UUID] = seed
	return *d
}

// injected returns the error to inject into op, if any. Callers hold mu.
func (c *fakeCloud) injected(op string) error {
	c.calls[op]++
	if err := c.sticky[op]; err != nil {
		return err
	}
	if errs := c.fail[op]; len(errs) > 0 {
		c.fail[op] = errs[1:]
		return errs[0]
	}
	return nil
}

func (c *fakeCloud) failNext(op string, errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail[op] = append(c.fail[op], errs...)
}

func (c *fakeCloud) failAlways(op string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sticky[op] = err
}

func (c *fakeCloud) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func notFound(what string) error {
	return &providers.APIError{Op: what, Status: 404, Type: "notexist", Message: "not found"}
}

var errUnavailable = &providers.APIError{Op: "fake", Status: 503, Type: "concurrency", Message: "try again"}

func (c *fakeCloud) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("ListDrives"); err != nil {
		return nil, err
	}
	var out []providers.Drive
	for _, d := range c.drives {
		if len(f.Tags) > 0 && !overlaps(d.Tags, f.Tags) || len(f.Names) > 0 && !overlaps([]string{d.Name}, f.Names) {
			continue
		}
		out = append(out, *d)
	}
	sortDrives(out)
	return out, nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func sortDrives(ds []providers.Drive) {
	for i := range ds {
		for k := i + 1; k < len(ds); k++ {
			if ds[k].UUID < ds[i].UUID {
				ds[i], ds[k] = ds[k], ds[i]
			}
		}
	}
}

func (c *fakeCloud) GetDrive(ctx context.Context, uuid string) (providers.Drive, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("GetDrive"); err != nil {
		return providers.Drive{}, err
	}
	d, ok := c.drives[uuid]
	if !ok {
		return providers.Drive{}, notFound("get drive " + uuid)
	}
	return *d, nil
}

func (c *fakeCloud) CreateDrive(ctx context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	return c.addDrive(spec.Name, spec.Size, 0, spec.Tags...), nil
}

func (c *fakeCloud) DeleteDrives(ctx context.Context, uuids ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("DeleteDrives"); err != nil {
		return err
	}
	for _, u := range uuids {
		if _, ok := c.drives[u]; !ok {
			return notFound("delete drive " + u)
		}
		delete(c.drives, u)
	}
	return nil
}

func (c *fakeCloud) CloneDrive(ctx context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, providers.ErrUnsupported
}

func (c *fakeCloud) ListSnapshots(ctx context.Context, drive string) ([]providers.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("ListSnapshots"); err != nil {
		return nil, err
	}
	var out []providers.Snapshot
	for _, s := range c.snaps {
		if drive == "" || s.Drive == drive {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (c *fakeCloud) GetSnapshot(ctx context.Context, uuid string) (providers.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("GetSnapshot"); err != nil {
		return providers.Snapshot{}, err
	}
	s, ok := c.snaps[uuid]
	if !ok {
		return providers.Snapshot{}, notFound("get snapshot " + uuid)
	}
	out := *s
	// Like the API, a snapshot reads as available once it was created.
	s.Status, s.State = "available", providers.StateReady
	return out, nil
}

func (c *fakeCloud) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	drive, name, meta := spec.Target, spec.Name, spec.Meta
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("CreateSnapshot"); err != nil {
		return providers.Snapshot{}, err
	}
	d, ok := c.drives[drive]
	if !ok {
		return providers.Snapshot{}, notFound("drive " + drive)
	}
	s := &providers.Snapshot{UUID: c.newUUID(), Name: name, Drive: drive, Status: "creating", State: providers.StateBusy, Size: d.Size, Meta: meta}
	c.snaps[s.UUID] = s
	c.seeds[s.UUID] = c.seeds[drive]
	return *s, nil
}

func (c *fakeCloud) EditSnapshot(ctx context.Context, uuid string, name *string, meta map[string]string) (providers.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("EditSnapshot"); err != nil {
		return providers.Snapshot{}, err
	}
	s, ok := c.snaps[uuid]
	if !ok {
		return providers.Snapshot{}, notFound("snapshot " + uuid)
	}
	if name != nil {
		s.Name = *name
	}
	if meta != nil {
		s.Meta = meta
	}
	return *s, nil
}

func (c *fakeCloud) DeleteSnapshots(ctx context.Context, uuids ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("DeleteSnapshots"); err != nil {
		return err
	}
	for _, u := range uuids {
		if _, ok := c.snaps[u]; !ok {
			return notFound("delete snapshot " + u)
		}
		delete(c.snaps, u)
	}
	return nil
}

func (c *fakeCloud) CloneSnapshot(ctx context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("CloneSnapshot"); err != nil {
		return providers.Drive{}, err
	}
	s, ok := c.snaps[uuid]
	if !ok {
		return providers.Drive{}, notFound("snapshot " + uuid)
	}
	d := &providers.Drive{UUID: c.newUUID(), Name: spec.Name, Size: c.drives[s.Drive].Size, Status: "cloning_dst", State: providers.StateBusy}
	c.drives[d.UUID] = d
	c.seeds[d.UUID] = c.seeds[uuid]
	return *d, nil
}

func (c *fakeCloud) ListJobs(ctx context.Context) ([]providers.Job, error) { return nil, nil }

func (c *fakeCloud) GetJob(ctx context.Context, uuid string) (providers.Job, error) {
	return providers.Job{}, notFound("job " + uuid)
}

// waitSnapshot finishes a snapshot at once.
func (c *fakeCloud) waitSnapshot(ctx context.Context, s providers.Snapshot) (providers.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("WaitSnapshot"); err != nil {
		return s, err
	}
	cur, ok := c.snaps[s.UUID]
	if !ok {
		return s, notFound("snapshot " + s.UUID)
	}
	cur.Status, cur.State = "available", providers.StateReady
	return *cur, nil
}

// waitClone finishes a clone at once.
func (c *fakeCloud) waitClone(ctx context.Context, d providers.Drive) (providers.Drive, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.injected("WaitClone"); err != nil {
		return d, err
	}
	cur, ok := c.drives[d.UUID]
	if !ok {
		return d, notFound("drive " + d.UUID)
	}
	cur.Status, cur.State = "unmounted", providers.StateReady
	return *cur, nil
}

// temporaries lists the names of the temporary resources left in the cloud.
func (c *fakeCloud) temporaries() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.drives {
		if _, ok := tempSource(d.Name); ok {
			out = append(out, "drive "+d.UUID+" "+d.Name)
		}
	}
	for _, s := range c.snaps {
		if s.Meta[MetaBackup] == TempMark {
			out = append(out, "snapshot "+s.UUID+" "+s.Name)
		}
	}
	return out
}

func (c *fakeCloud) seedOf(uuid string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seeds[uuid]
}

// content returns the deterministic image of a drive with seed seed:
// blocks of 64 KiB, every third one zero, the others random.
func content(seed uint64, size int64) []byte {
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for off := int64(0); off < size; off += 64 << 10 {
		end := min(off+64<<10, size)
		if (off/(64<<10))%3 == 2 {
			continue
		}
		for i := off; i < end; i++ {
			b[i] = byte(rng.Uint32())
		}
	}
	return b
}

// fakeDownloader writes a clone's content in pieces, holding one budget
// unit per piece in flight across workers goroutines, resuming from an
// existing .part. Hooks let tests fail or interrupt it.
type fakeDownloader struct {
	cloud   *fakeCloud
	workers int
	piece   int64

	mu        sync.Mutex
	calls     []downloadCall
	active    int // downloads running now
	maxActive int

	inFlight    atomic.Int64 // pieces holding budget now, over all downloads
	maxInFlight atomic.Int64

	// before, when set, runs at the start of each call; a non-nil error
	// is returned as the download's.
	before func(call int, drive, dest string) error
	// stopAfter, when positive, makes a call write only that many bytes
	// into .part and then return cancel()'s error (a simulated Ctrl-C).
	stopAfter int64
	cancel    context.CancelFunc
	// hold delays each piece, so downloads overlap in tests of bounds.
	hold time.Duration
}

type downloadCall struct {
	drive, dest string
	resumedFrom int64
}

func (f *fakeDownloader) download(ctx context.Context, drive string, size int64, dest string, budget Budget) (DownloadStats, error) {
	f.mu.Lock()
	call := len(f.calls)
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	part := dest + PartSuffix
	var resumed int64
	if fi, err := os.Stat(part); err == nil {
		resumed = fi.Size()
	}
	f.mu.Lock()
	f.calls = append(f.calls, downloadCall{drive: drive, dest: dest, resumedFrom: resumed})
	f.mu.Unlock()
	if f.before != nil {
		if err := f.before(call, drive, dest); err != nil {
			return DownloadStats{}, err
		}
	}
	if _, err := os.Stat(dest); err == nil {
		return DownloadStats{}, errors.New("fake download: dest exists")
	}
	data := content(f.cloud.seedOf(drive), size)
	fh, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return DownloadStats{}, err
	}
	defer fh.Close()
	end := size
	if f.stopAfter > 0 && resumed == 0 {
		end = min(size, f.stopAfter)
	}
	piece := max(f.piece, 1)
	next := make(chan int64)
	var wg sync.WaitGroup
	var werr atomic.Value
	for range max(f.workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := range next {
				if err := budget.Acquire(ctx, 1); err != nil {
					werr.Store(err)
					continue
				}
				n := f.inFlight.Add(1)
				for {
					m := f.maxInFlight.Load()
					if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(f.hold)
				k := min(off+piece, end)
				if _, err := fh.WriteAt(data[off:k], off); err != nil {
					werr.Store(err)
				}
				f.inFlight.Add(-1)
				budget.Release(1)
			}
		}()
	}
	for off := resumed; off < end; off += piece {
		next <- off
	}
	close(next)
	wg.Wait()
	if err, _ := werr.Load().(error); err != nil {
		return DownloadStats{}, err
	}
	if end < size {
		f.cancel()
		return DownloadStats{Bytes: end - resumed}, ctx.Err()
	}
	if err := fh.Sync(); err != nil {
		return DownloadStats{}, err
	}
	if err := os.Rename(part, dest); err != nil {
		return DownloadStats{}, err
	}
	return DownloadStats{Bytes: size - resumed}, nil
}

// env is one test's cloud, downloader and options.
type env struct {
	t     *testing.T
	cloud *fakeCloud
	dl    *fakeDownloader
	opts  Options
	clock time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := newFakeCloud()
	e := &env{t: t, cloud: c, dl: &fakeDownloader{cloud: c, workers: 2, piece: 64 << 10},
		clock: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}
	e.opts = Options{Dir: t.TempDir(), ChunkSize: 256 << 10, RetryDelay: time.Millisecond, RunID: "run1",
		Now: func() time.Time { return e.clock }, Logf: t.Logf, Warnf: t.Logf}
	return e
}

func (e *env) deps() Deps {
	return Deps{Drives: e.cloud, Snapshots: e.cloud, Jobs: e.cloud, Download: e.dl.download,
		WaitSnapshot: e.cloud.waitSnapshot, WaitClone: e.cloud.waitClone}
}

func (e *env) run(ctx context.Context) Report {
	e.t.Helper()
	rep, err := Run(ctx, e.opts, e.deps())
	if err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	return rep
}
