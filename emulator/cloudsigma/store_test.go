package cloudsigma

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// fakeClock is a settable clock for job timing.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestStore(t *testing.T, dir string, clk *fakeClock) *Store {
	t.Helper()
	s, err := OpenStore(StoreOptions{Dir: dir, JobDuration: 10 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeAt(t *testing.T, s *Store, id string, p []byte, off int64) {
	t.Helper()
	h, err := s.OpenDrive(id, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

func readAt(t *testing.T, s *Store, id string, n int, off int64) []byte {
	t.Helper()
	h, err := s.OpenDrive(id, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p := make([]byte, n)
	if _, err := h.ReadAt(p, off); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStoreDriveLifecycle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	dir := t.TempDir()
	s := newTestStore(t, dir, clk)

	if _, err := s.CreateDrive(wire.Drive{Name: "", Size: 1}); !errors.Is(err, ErrInvalid) || FieldOf(err) != "name" {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := s.CreateDrive(wire.Drive{Name: "x", Size: -1}); !errors.Is(err, ErrInvalid) || FieldOf(err) != "size" {
		t.Fatalf("negative size: %v", err)
	}
	d, err := s.CreateDrive(wire.Drive{Name: "big", Size: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != wire.StatusUnmounted || d.Media != "disk" || d.Owner == nil || d.Meta == nil {
		t.Fatalf("drive not normalized: %+v", d)
	}
	fi, err := os.Stat(s.drivePath(d.UUID, ".img"))
	if err != nil || fi.Size() != 1<<40 {
		t.Fatalf("image: %v %v", fi, err)
	}
	data := bytes.Repeat([]byte("drivecp!"), 1<<17) // 1 MiB
	writeAt(t, s, d.UUID, data, 1<<39)

	// Write past the end is refused.
	h, _ := s.OpenDrive(d.UUID, ReadWrite)
	if _, err := h.WriteAt([]byte("xx"), 1<<40-1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("write past end: %v", err)
	}
	// A drive being written cannot be deleted or cloned.
	if err := s.DeleteDrive(d.UUID); !errors.Is(err, ErrBusy) {
		t.Fatalf("delete while open: %v", err)
	}
	if _, _, err := s.CloneDrive(context.Background(), d.UUID, CloneSpec{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("clone while writing: %v", err)
	}
	h.Close()
	h.Close() // idempotent

	// Clone: cloning_dst/cloning_src until the job's time is up.
	c, job, err := s.CloneDrive(context.Background(), d.UUID, CloneSpec{Name: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != wire.StatusCloningDst || job.State != wire.JobStarted || len(c.Jobs) != 1 {
		t.Fatalf("clone: %+v %+v", c, job)
	}
	if src, _ := s.GetDrive(d.UUID); src.Status != wire.StatusCloningSrc {
		t.Fatalf("source status %s", src.Status)
	}
	if _, err := s.OpenDrive(d.UUID, ReadWrite); !errors.Is(err, ErrBusy) {
		t.Fatalf("write to cloning source: %v", err)
	}
	clk.Add(5 * time.Second)
	if j, _ := s.GetJob(job.UUID); j.Data.Progress != 50 || j.State != wire.JobStarted {
		t.Fatalf("half-way job: %+v", j)
	}
	clk.Add(5 * time.Second)
	if j, _ := s.GetJob(job.UUID); j.Data.Progress != 100 || j.State != wire.JobSuccess {
		t.Fatalf("finished job: %+v", j)
	}
	if c2, _ := s.GetDrive(c.UUID); c2.Status != wire.StatusUnmounted || c2.Size != 1<<40 {
		t.Fatalf("clone after job: %+v", c2)
	}
	if src, _ := s.GetDrive(d.UUID); src.Status != wire.StatusUnmounted {
		t.Fatalf("source after job: %s", src.Status)
	}
	if got := readAt(t, s, c.UUID, len(data), 1<<39); !bytes.Equal(got, data) {
		t.Fatal("clone data differs")
	}
	// The clone of a 1 TiB drive with 1 MiB of data stays sparse.
	if alloc := allocated(t, s.drivePath(c.UUID, ".img")); alloc > 8<<20 {
		t.Fatalf("clone allocates %d bytes", alloc)
	}
	if _, _, err := s.CloneDrive(context.Background(), d.UUID, CloneSpec{Size: 10}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("smaller clone: %v", err)
	}

	// Snapshot, then change the drive: the snapshot keeps the old data.
	sn, _, err := s.CreateSnapshot(context.Background(), d.UUID, "snap", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sn.Status != wire.StatusCreating || sn.AllocatedSize != 1<<20 {
		t.Fatalf("snapshot: %+v", sn)
	}
	if _, _, err := s.CloneSnapshot(context.Background(), sn.UUID, CloneSpec{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("clone of creating snapshot: %v", err)
	}
	clk.Add(time.Minute)
	writeAt(t, s, d.UUID, []byte("changed"), 1<<39)
	if got, _ := s.GetSnapshot(sn.UUID); got.Status != wire.StatusAvailable {
		t.Fatalf("snapshot status %s", got.Status)
	}
	if l := s.ListSnapshots(d.UUID); len(l) != 1 {
		t.Fatalf("snapshots of drive: %d", len(l))
	}
	sd, _, err := s.CloneSnapshot(context.Background(), sn.UUID, CloneSpec{Name: "from-snap"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if got := readAt(t, s, sd.UUID, len(data), 1<<39); !bytes.Equal(got, data) {
		t.Fatal("snapshot clone data differs")
	}

	// Resize grows; shrinking is refused.
	if _, _, err := s.ResizeDrive(c.UUID, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("shrink: %v", err)
	}
	rd, _, err := s.ResizeDrive(c.UUID, 2<<40)
	if err != nil || rd.Status != wire.StatusResizing {
		t.Fatalf("resize: %+v %v", rd, err)
	}
	clk.Add(time.Minute)
	if got, _ := s.GetDrive(c.UUID); got.Status != wire.StatusUnmounted || got.Size != 2<<40 {
		t.Fatalf("after resize: %+v", got)
	}

	// Edit.
	ed, err := s.UpdateDrive(d.UUID, func(d *wire.Drive) error {
		d.Name = "renamed"
		d.Meta = map[string]string{"k": "v"}
		d.Status = "ignored"
		return nil
	})
	if err != nil || ed.Name != "renamed" || ed.Meta["k"] != "v" || ed.Status != wire.StatusUnmounted {
		t.Fatalf("update: %+v %v", ed, err)
	}

	// Persistence: a second store on the same folder sees everything.
	s2 := newTestStore(t, dir, clk)
	if got, err := s2.GetDrive(d.UUID); err != nil || got.Name != "renamed" || len(got.Snapshots) != 1 {
		t.Fatalf("reloaded drive: %+v %v", got, err)
	}
	if len(s2.ListDrives()) != 3 || len(s2.ListJobs()) != len(s.ListJobs()) {
		t.Fatalf("reloaded: %d drives, %d jobs", len(s2.ListDrives()), len(s2.ListJobs()))
	}
	if err := s2.DeleteDrive(d.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.GetSnapshot(sn.UUID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot outlived its drive: %v", err)
	}
	if _, err := s2.GetDrive(d.UUID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted drive: %v", err)
	}
}

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st unixStat
	if err := statAlloc(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.blocks * 512
}

func TestStoreJobsFinishAcrossRestart(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	dir := t.TempDir()
	s := newTestStore(t, dir, clk)
	d, _ := s.CreateDrive(wire.Drive{Name: "a", Size: 1 << 20})
	c, job, err := s.CloneDrive(context.Background(), d.UUID, CloneSpec{})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	s2 := newTestStore(t, dir, clk)
	if j, _ := s2.GetJob(job.UUID); j.State != wire.JobSuccess {
		t.Fatalf("job after restart: %+v", j)
	}
	if got, _ := s2.GetDrive(c.UUID); got.Status != wire.StatusUnmounted {
		t.Fatalf("clone after restart: %s", got.Status)
	}
}

func TestStoreLibDrives(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := newTestStore(t, t.TempDir(), clk)
	libs := s.ListLibDrives()
	if len(libs) != len(libDriveDefs) || libs[0].Size != libDriveSize {
		t.Fatalf("libdrives: %+v", libs)
	}
	if _, err := s.GetLibDrive("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	d, _, err := s.CloneLibDrive(context.Background(), libs[1].UUID, CloneSpec{Name: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if got := readAt(t, s, d.UUID, libDriveData, 0); !bytes.Equal(got, LibDriveContent(1)) {
		t.Fatal("library clone content differs")
	}
	if bytes.Equal(LibDriveContent(0), LibDriveContent(1)) {
		t.Fatal("library drives share content")
	}
}

func TestStoreResumableChunks(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	dir := t.TempDir()
	s := newTestStore(t, dir, clk)
	const size, cs = 10*1024 + 5, 1024 // 10 chunks, the last carries 1029 bytes
	img := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(img)
	d, err := s.InitUpload("up", size, "disk")
	if err != nil || d.Status != wire.StatusUploading {
		t.Fatalf("init: %+v %v", d, err)
	}
	ctx := context.Background()
	chunk := func(k int) Chunk { return Chunk{Number: k, ChunkSize: cs, TotalSize: size} }
	body := func(k int) []byte {
		if k == 10 {
			return img[9*cs:]
		}
		return img[(k-1)*cs : k*cs]
	}
	for _, bad := range []struct {
		c     Chunk
		body  []byte
		field string
	}{
		{Chunk{Number: 0, ChunkSize: cs, TotalSize: size}, nil, wire.ResumableChunkNumber},
		{Chunk{Number: 11, ChunkSize: cs, TotalSize: size}, nil, wire.ResumableChunkNumber},
		{Chunk{Number: 1, ChunkSize: cs, TotalSize: size + 1}, nil, wire.ResumableTotalSize},
		{Chunk{Number: 1, ChunkSize: 0, TotalSize: size}, nil, wire.ResumableChunkSize},
		{chunk(1), img[:cs-1], wire.ResumableFilePart},
		{chunk(10), img[9*cs : size-1], wire.ResumableFilePart},
		{chunk(2), img[:cs+1], wire.ResumableFilePart},
	} {
		if _, err := s.WriteChunk(ctx, d.UUID, bad.c, bytes.NewReader(bad.body)); !errors.Is(err, ErrInvalid) || FieldOf(err) != bad.field {
			t.Fatalf("chunk %+v: %v", bad.c, err)
		}
	}
	// The overlong chunk 2 above must not have spilled into chunk 3.
	if b := readAt(t, s, d.UUID, 1, 2*cs); b[0] != 0 {
		t.Fatalf("an overlong chunk 2 wrote %#x at the start of chunk 3", b[0])
	}
	for k := 1; k <= 5; k++ {
		if done, err := s.WriteChunk(ctx, d.UUID, chunk(k), bytes.NewReader(body(k))); err != nil || done {
			t.Fatalf("chunk %d: %v %v", k, done, err)
		}
	}
	// Resume in another store instance: chunks 1..5 are known.
	s2 := newTestStore(t, dir, clk)
	for k := 1; k <= 10; k++ {
		ok, err := s2.ChunkStored(d.UUID, chunk(k))
		if err != nil || ok != (k <= 5) {
			t.Fatalf("stored %d: %v %v", k, ok, err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	doneCount := 0
	for k := 10; k >= 5; k-- {
		wg.Go(func() {
			done, err := s2.WriteChunk(ctx, d.UUID, chunk(k), bytes.NewReader(body(k)))
			if err != nil {
				t.Error(err)
			}
			if done {
				mu.Lock()
				doneCount++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if doneCount != 1 {
		t.Fatalf("%d chunks completed the upload", doneCount)
	}
	got, _ := s2.GetDrive(d.UUID)
	if got.Status != wire.StatusUnmounted || got.Size != size {
		t.Fatalf("after upload: %+v", got)
	}
	if !bytes.Equal(readAt(t, s2, d.UUID, size, 0), img) {
		t.Fatal("uploaded data differs")
	}
	// A chunk retried after the upload completed (its answer lost) is
	// accepted and changes nothing, also after a restart; one that does
	// not fit the finished upload is refused.
	s3 := newTestStore(t, dir, clk)
	if done, err := s3.WriteChunk(ctx, d.UUID, chunk(10), bytes.NewReader(make([]byte, size-9*cs))); err != nil || done {
		t.Fatalf("repeated last chunk: %v %v", done, err)
	}
	if !bytes.Equal(readAt(t, s3, d.UUID, size, 0), img) {
		t.Fatal("a repeated chunk changed the drive")
	}
	for _, bad := range []struct {
		c    Chunk
		body []byte
	}{
		{Chunk{Number: 1, ChunkSize: 2 * cs, TotalSize: size}, make([]byte, 2*cs)},
		{Chunk{Number: 11, ChunkSize: cs, TotalSize: size}, make([]byte, cs)},
		{chunk(3), make([]byte, cs+1)},
	} {
		if _, err := s3.WriteChunk(ctx, d.UUID, bad.c, bytes.NewReader(bad.body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("repeated chunk %+v: %v, want ErrInvalid", bad.c, err)
		}
	}
	// A drive that no chunked upload made takes no chunks.
	plain, err := s3.CreateDrive(wire.Drive{Name: "plain", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.WriteChunk(ctx, plain.UUID, chunk(1), bytes.NewReader(body(1))); !errors.Is(err, ErrInvalid) {
		t.Errorf("chunk into a created drive: %v, want ErrInvalid", err)
	}
}

func TestStoreConcurrentIO(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := newTestStore(t, t.TempDir(), clk)
	const block = 64 << 10
	d, _ := s.CreateDrive(wire.Drive{Name: "c", Size: 64 * block})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			p := bytes.Repeat([]byte{byte(w + 1)}, block)
			for i := w; i < 64; i += 16 {
				h, err := s.OpenDrive(d.UUID, ReadWrite)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := h.WriteAt(p, int64(i)*block); err != nil {
					t.Error(err)
				}
				q := make([]byte, block)
				if _, err := h.ReadAt(q, int64(i)*block); err != nil || !bytes.Equal(p, q) {
					t.Errorf("block %d: %v", i, err)
				}
				h.Close()
				_ = s.ListDrives()
			}
		})
	}
	wg.Wait()
}

func TestStoreAbandonsInterruptedCopy(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	dir := t.TempDir()
	s := newTestStore(t, dir, clk)
	src, _ := s.CreateDrive(wire.Drive{Name: "src", Size: 1 << 20})
	// What a stop in the middle of a clone leaves on disk.
	s.mu.Lock()
	dst, err := s.newDriveLocked(wire.Drive{Name: "dst", Size: 1 << 20}, wire.StatusCloningDst)
	if err != nil {
		t.Fatal(err)
	}
	sr := s.drives[src.UUID]
	sr.D.Status = wire.StatusCloningSrc
	_ = s.saveDrive(sr)
	j := s.newJobLocked("drive_clone", 1<<20, []string{dst.D.UUID, src.UUID}, []statusChange{
		{UUID: dst.D.UUID, From: wire.StatusCloningDst, To: wire.StatusUnmounted},
		{UUID: src.UUID, From: wire.StatusCloningSrc, To: wire.StatusUnmounted},
	})
	j.Pending = true
	_ = s.saveJob(j)
	s.mu.Unlock()

	s2 := newTestStore(t, dir, clk)
	if _, err := s2.GetDrive(dst.D.UUID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("half-cloned drive survived: %v", err)
	}
	if got, _ := s2.GetDrive(src.UUID); got.Status != wire.StatusUnmounted {
		t.Fatalf("source left %s", got.Status)
	}
	if got, _ := s2.GetJob(j.J.UUID); got.State != wire.JobFailed {
		t.Fatalf("job %s", got.State)
	}
}

// TestStoreMaxDriveSize checks that the size limit is the store's own
// setting: the default refuses a 10 TiB drive, a raised limit takes it (as a
// sparse file) and still refuses one byte more, and two stores do not share
// a limit.
func TestStoreMaxDriveSize(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	def := newTestStore(t, t.TempDir(), clk)
	const tenT = int64(10) << 40
	if _, err := def.InitUpload("big", tenT, "disk"); err == nil {
		t.Fatal("default store accepted a 10 TiB drive")
	}
	big, err := OpenStore(StoreOptions{Dir: t.TempDir(), JobDuration: -1, MaxDriveSize: 16 << 40, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if big.MaxDriveSize() != 16<<40 || def.MaxDriveSize() != MaxDriveSize {
		t.Fatalf("limits %d and %d", big.MaxDriveSize(), def.MaxDriveSize())
	}
	d, err := big.InitUpload("big", tenT, "disk")
	if err != nil {
		t.Fatal(err)
	}
	if d.Size != tenT {
		t.Fatalf("size %d", d.Size)
	}
	if _, err := big.InitUpload("over", 16<<40+1, "disk"); err == nil {
		t.Fatal("accepted a drive above the raised limit")
	}
	if _, err := OpenStore(StoreOptions{Dir: t.TempDir(), MaxDriveSize: MinDriveSize - 1}); err == nil {
		t.Fatal("accepted a limit below the smallest drive size")
	}
}
