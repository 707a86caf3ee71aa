package command

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// fakeCloud is an in-memory provider for the command functions' tests.
// Clones and resizes are asynchronous: a clone's job advances 50% per
// GetJob, and the drive leaves its transitional status when the job is
// done (a resize after two GetDrive calls).
type fakeCloud struct {
	mu        sync.Mutex
	drives    []*providers.Drive
	snaps     []*providers.Snapshot
	libs      []providers.LibDrive
	jobs      map[string]*providers.Job
	jobDrive  map[string]string // job -> drive it finishes
	resizing  map[string]int    // drive -> GetDrive calls left before resized
	sizeRange *wire.SizeRange
	failJobs  bool // clone jobs end in "failed"
	calls     []string
	next      int
}

func newFakeCloud() *fakeCloud {
	return &fakeCloud{jobs: map[string]*providers.Job{}, jobDrive: map[string]string{}, resizing: map[string]int{}}
}

func (f *fakeCloud) services() services {
	s := services{drives: f, editor: f, snapshots: f, libdrives: f, jobs: f}
	if f.sizeRange != nil {
		s.limits = f
	}
	return s
}

func (f *fakeCloud) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeCloud) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeCloud) newID(prefix string) string {
	f.next++
	return fmt.Sprintf("%s-%d", prefix, f.next)
}

func notFound(op string) error {
	return &providers.APIError{Op: op, Status: http.StatusNotFound, Type: "notexist", Message: "Object does not exist"}
}

func (f *fakeCloud) addDrive(uuid, name string, size int64, status string) *providers.Drive {
	d := &providers.Drive{UUID: uuid, Name: name, Size: size, Status: status, State: wire.DriveState(status), Media: "disk", StorageType: "dssd"}
	d.Raw = map[string]any{"uuid": uuid, "name": name, "size": size, "status": status}
	f.drives = append(f.drives, d)
	return d
}

func (f *fakeCloud) find(uuid string) *providers.Drive {
	for _, d := range f.drives {
		if d.UUID == uuid {
			return d
		}
	}
	return nil
}

// snapshot returns a copy with Raw refreshed, as an API answer would be.
func snapshotOf(d *providers.Drive) providers.Drive {
	c := *d
	c.Tags = slices.Clone(d.Tags)
	c.Jobs = slices.Clone(d.Jobs)
	c.Raw = map[string]any{"uuid": d.UUID, "name": d.Name, "size": d.Size, "status": d.Status}
	return c
}

func (f *fakeCloud) ListDrives(_ context.Context, flt providers.DriveFilter) ([]providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("ListDrives %v", flt)
	var out []providers.Drive
	for _, d := range f.drives {
		if (len(flt.Names) == 0 || slices.Contains(flt.Names, d.Name)) && (len(flt.Statuses) == 0 || slices.Contains(flt.Statuses, d.Status)) {
			out = append(out, snapshotOf(d))
		}
	}
	return out, nil
}

func (f *fakeCloud) GetDrive(_ context.Context, uuid string) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("GetDrive %s", uuid)
	d := f.find(uuid)
	if d == nil {
		return providers.Drive{}, notFound("get drive " + uuid)
	}
	if n, ok := f.resizing[uuid]; ok {
		if n <= 1 {
			delete(f.resizing, uuid)
			d.Status, d.State = wire.StatusUnmounted, providers.StateReady
		} else {
			f.resizing[uuid] = n - 1
		}
	}
	return snapshotOf(d), nil
}

func (f *fakeCloud) CreateDrive(_ context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("CreateDrive %s %d", spec.Name, spec.Size)
	d := f.addDrive(f.newID("drive"), spec.Name, spec.Size, wire.StatusUnmounted)
	return snapshotOf(d), nil
}

func (f *fakeCloud) DeleteDrives(_ context.Context, uuids ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("DeleteDrives %s", strings.Join(uuids, ","))
	for _, u := range uuids {
		if f.find(u) == nil {
			return notFound("delete drives")
		}
	}
	f.drives = slices.DeleteFunc(f.drives, func(d *providers.Drive) bool { return slices.Contains(uuids, d.UUID) })
	return nil
}

// startClone adds a cloning drive with a job, as API 2.0 answers.
func (f *fakeCloud) startClone(name string, size int64) providers.Drive {
	d := f.addDrive(f.newID("clone"), name, size, wire.StatusCloningDst)
	j := &providers.Job{UUID: f.newID("job"), Operation: "drive_clone", Status: wire.JobStarted, State: providers.StateBusy}
	j.Raw = map[string]any{"uuid": j.UUID}
	f.jobs[j.UUID] = j
	f.jobDrive[j.UUID] = d.UUID
	d.Jobs = []string{j.UUID}
	return snapshotOf(d)
}

func (f *fakeCloud) CloneDrive(_ context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("CloneDrive %s name=%q size=%d avoid=%v", uuid, spec.Name, spec.Size, spec.Avoid)
	src := f.find(uuid)
	if src == nil {
		return providers.Drive{}, notFound("clone drive " + uuid)
	}
	name := spec.Name
	if name == "" {
		name = src.Name + "_1"
	}
	size := src.Size
	if spec.Size > 0 {
		size = spec.Size
	}
	return f.startClone(name, size), nil
}

func (f *fakeCloud) EditDrive(_ context.Context, uuid string, e providers.DriveEdit) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("EditDrive %s name=%v tags=%v meta=%v", uuid, e.Name != nil, e.Tags, e.Meta)
	d := f.find(uuid)
	if d == nil {
		return providers.Drive{}, notFound("edit drive " + uuid)
	}
	if e.Name != nil {
		d.Name = *e.Name
	}
	if e.Tags != nil {
		d.Tags = e.Tags
	}
	if e.Meta != nil {
		d.Meta = e.Meta
	}
	return snapshotOf(d), nil
}

func (f *fakeCloud) ResizeDrive(_ context.Context, uuid string, size int64) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("ResizeDrive %s %d", uuid, size)
	d := f.find(uuid)
	if d == nil {
		return providers.Drive{}, notFound("resize drive " + uuid)
	}
	d.Size = size
	d.Status, d.State = wire.StatusResizing, providers.StateBusy
	f.resizing[uuid] = 2
	return snapshotOf(d), nil
}

func (f *fakeCloud) ListSnapshots(_ context.Context, drive string) ([]providers.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("ListSnapshots %s", drive)
	var out []providers.Snapshot
	for _, s := range f.snaps {
		if drive == "" || s.Drive == drive {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (f *fakeCloud) findSnap(uuid string) *providers.Snapshot {
	for _, s := range f.snaps {
		if s.UUID == uuid {
			return s
		}
	}
	return nil
}

func (f *fakeCloud) GetSnapshot(_ context.Context, uuid string) (providers.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("GetSnapshot %s", uuid)
	s := f.findSnap(uuid)
	if s == nil {
		return providers.Snapshot{}, notFound("get snapshot " + uuid)
	}
	out := *s
	if s.Status == wire.StatusCreating {
		s.Status, s.State = wire.StatusAvailable, providers.StateReady // available from the next read on
	}
	return out, nil
}

func (f *fakeCloud) CreateSnapshot(_ context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	drive, name, meta := spec.Target, spec.Name, spec.Meta
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("CreateSnapshot %s %q", drive, name)
	if f.find(drive) == nil {
		return providers.Snapshot{}, notFound("create snapshot")
	}
	s := &providers.Snapshot{UUID: f.newID("snap"), Name: name, Drive: drive, Status: wire.StatusCreating, State: providers.StateBusy, Meta: meta,
		Timestamp: "2014-06-05 09:53:28.851859+00:00"}
	s.Raw = map[string]any{"uuid": s.UUID, "name": name}
	f.snaps = append(f.snaps, s)
	return *s, nil
}

func (f *fakeCloud) EditSnapshot(_ context.Context, uuid string, name *string, meta map[string]string) (providers.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("EditSnapshot %s meta=%v", uuid, meta)
	s := f.findSnap(uuid)
	if s == nil {
		return providers.Snapshot{}, notFound("edit snapshot")
	}
	if name != nil {
		s.Name = *name
	}
	if meta != nil {
		s.Meta = meta
	}
	return *s, nil
}

func (f *fakeCloud) DeleteSnapshots(_ context.Context, uuids ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("DeleteSnapshots %s", strings.Join(uuids, ","))
	f.snaps = slices.DeleteFunc(f.snaps, func(s *providers.Snapshot) bool { return slices.Contains(uuids, s.UUID) })
	return nil
}

func (f *fakeCloud) CloneSnapshot(_ context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("CloneSnapshot %s", uuid)
	s := f.findSnap(uuid)
	if s == nil {
		return providers.Drive{}, notFound("clone snapshot")
	}
	return f.startClone(spec.Name, f.find(s.Drive).Size), nil
}

func (f *fakeCloud) ListLibDrives(_ context.Context, os string) ([]providers.LibDrive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []providers.LibDrive
	for _, l := range f.libs {
		if os == "" || l.OS == os {
			out = append(out, l)
		}
	}
	return out, nil
}

func (f *fakeCloud) GetLibDrive(_ context.Context, uuid string) (providers.LibDrive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.libs {
		if l.UUID == uuid {
			return l, nil
		}
	}
	return providers.LibDrive{}, notFound("get library drive")
}

func (f *fakeCloud) CloneLibDrive(_ context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("CloneLibDrive %s", uuid)
	for _, l := range f.libs {
		if l.UUID == uuid {
			return f.startClone(spec.Name, l.Size), nil
		}
	}
	return providers.Drive{}, notFound("clone library drive")
}

func (f *fakeCloud) ListJobs(_ context.Context) ([]providers.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []providers.Job
	for _, j := range f.jobs {
		out = append(out, *j)
	}
	slices.SortFunc(out, func(a, b providers.Job) int { return strings.Compare(a.UUID, b.UUID) })
	return out, nil
}

func (f *fakeCloud) GetJob(_ context.Context, uuid string) (providers.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("GetJob %s", uuid)
	j, ok := f.jobs[uuid]
	if !ok {
		return providers.Job{}, notFound("get job " + uuid)
	}
	out := *j
	if j.State == providers.StateBusy {
		j.Progress += 50
		if j.Progress >= 100 {
			j.Progress = 100
			j.Status, j.State = wire.JobSuccess, providers.StateReady
			if f.failJobs {
				j.Status, j.State = wire.JobFailed, providers.StateFailed
			}
			if d := f.find(f.jobDrive[uuid]); d != nil && !f.failJobs {
				d.Status, d.State = wire.StatusUnmounted, providers.StateReady
			}
		}
	}
	return out, nil
}

func (f *fakeCloud) DriveSizeRange(_ context.Context, storageType string) (lo, hi int64, ok bool, err error) {
	return f.sizeRange.Min, f.sizeRange.Max, true, nil
}
