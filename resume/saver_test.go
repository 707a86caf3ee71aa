package resume

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore passes saves and syncs on to a Store, counting them, and
// fails them while fail is set.
type countingStore struct {
	st                 *Store
	saves, fast, syncs atomic.Int32
	fail               atomic.Pointer[error]
}

func (cs *countingStore) failure() error {
	if p := cs.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (cs *countingStore) Save(c *Checkpoint) error {
	if err := cs.failure(); err != nil {
		return err
	}
	cs.saves.Add(1)
	return cs.st.Save(c)
}

func (cs *countingStore) SaveNoSync(c *Checkpoint) error {
	if err := cs.failure(); err != nil {
		return err
	}
	cs.fast.Add(1)
	return cs.st.SaveNoSync(c)
}

func (cs *countingStore) Sync(id string) error {
	if err := cs.failure(); err != nil {
		return err
	}
	cs.syncs.Add(1)
	return cs.st.Sync(id)
}

// countingSaver returns a Saver whose durable saves go to the real store
// and are counted.
func countingSaver(t *testing.T, total int, interval time.Duration) (*Saver, *Store, *atomic.Int32) {
	sv, cs := countingSaverStore(t, total, interval)
	return sv, cs.st, &cs.saves
}

func countingSaverStore(t *testing.T, total int, interval time.Duration) (*Saver, *countingStore) {
	t.Helper()
	st := &Store{Dir: t.TempDir()}
	sv := NewSaver(st, testCheckpoint(t, total), interval)
	cs := &countingStore{st: st}
	sv.store = cs
	return sv, cs
}

func TestSaverRateLimit(t *testing.T) {
	const interval = 100 * time.Millisecond
	sv, st, writes := countingSaver(t, 10_000, interval)
	start := time.Now()
	for i := range 10_000 {
		sv.Mark(i, uint64(i))
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // spread the Marks over ~100 ms+
		}
	}
	elapsed := time.Since(start)
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	// At most one save per interval, plus the first (immediate) one and the
	// final flush.
	limit := int32(elapsed/interval) + 2
	if w := writes.Load(); w < 1 || w > limit {
		t.Fatalf("%d saves for 10000 marks in %v, want 1..%d", w, elapsed, limit)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if c.DoneCount() != 10_000 {
		t.Fatalf("saved %d done chunks after Close, want 10000", c.DoneCount())
	}
	if h, ok := c.IsDone(9999); !ok || h != 9999 {
		t.Fatalf("chunk 9999: %d, %v", h, ok)
	}
}

func TestSaverSavesInBackground(t *testing.T) {
	sv, st, writes := countingSaver(t, 10, 20*time.Millisecond)
	defer sv.Close()
	sv.Mark(0, 1) // first save is immediate
	sv.Mark(1, 2) // this one waits for the interval
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := st.Load(sv.c.ID())
		if err == nil && c.DoneCount() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background save never wrote both marks (%d saves, %v)", writes.Load(), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSaverFlush(t *testing.T) {
	sv, st, writes := countingSaver(t, 10, time.Hour)
	defer sv.Close()
	if err := sv.Flush(); err != nil || writes.Load() != 0 {
		t.Fatalf("Flush with nothing to save: %v, %d writes", err, writes.Load())
	}
	sv.Mark(0, 1) // immediate: no save yet ever
	sv.Mark(1, 1) // held back for an hour
	sv.Mark(2, 1)
	sv.Update(func(c *Checkpoint) { c.Extra["drive"] = "uuid" })
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil || c.DoneCount() != 3 || c.Extra["drive"] != "uuid" {
		t.Fatalf("after Flush: %+v, %v", c, err)
	}
	before := writes.Load()
	if err := sv.Flush(); err != nil || writes.Load() != before {
		t.Fatalf("clean Flush wrote again: %v", err)
	}
}

func TestSaverReportsBackgroundError(t *testing.T) {
	sv, cs := countingSaverStore(t, 10, time.Millisecond)
	boom := errors.New("disk full")
	cs.fail.Store(&boom)
	sv.Mark(0, 1)
	time.Sleep(50 * time.Millisecond)
	cs.fail.Store(nil)
	// The failure is reported once, and the unsaved state is retried.
	if err := sv.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush after a failed background save: %v, want it reported", err)
	}
	if err := sv.Close(); err != nil {
		t.Fatalf("Close after recovery: %v", err)
	}
	var done int
	sv.View(func(c *Checkpoint) { done = c.DoneCount() })
	if done != 1 {
		t.Fatalf("DoneCount %d", done)
	}
}

func TestSaverConcurrentMark(t *testing.T) {
	const total = 4000
	sv, st, _ := countingSaver(t, total, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < total; i += 8 {
				sv.Mark(i, uint64(i)+1)
				if i%97 == 0 {
					if err := sv.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	for i := range total {
		if h, ok := c.IsDone(i); !ok || h != uint64(i)+1 {
			t.Fatalf("chunk %d: %d, %v", i, h, ok)
		}
	}
}

func TestSaverFlushNoSync(t *testing.T) {
	sv, cs := countingSaverStore(t, 10, time.Hour)
	defer sv.Close()
	settle(t, sv, cs)
	sv.Mark(0, 7)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	// On disk at once, without an fsync.
	c, err := cs.st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := c.IsDone(0); !ok || h != 7 {
		t.Fatalf("chunk 0 after FlushNoSync: %d, %v", h, ok)
	}
	if cs.fast.Load() != 1 || cs.saves.Load() != 0 {
		t.Fatalf("FlushNoSync: %d fast saves, %d durable ones; want 1, 0", cs.fast.Load(), cs.saves.Load())
	}
	// Nothing new: no write.
	if err := sv.FlushNoSync(); err != nil || cs.fast.Load() != 1 {
		t.Fatalf("clean FlushNoSync: %v, %d fast saves", err, cs.fast.Load())
	}
	// Flush with nothing new has only the fsync left to do, once.
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	if cs.syncs.Load() != 1 || cs.saves.Load() != 0 {
		t.Fatalf("Flush after FlushNoSync: %d syncs, %d saves; want 1, 0", cs.syncs.Load(), cs.saves.Load())
	}
}

// settle makes a first durable save, waits for the immediate background
// save the first change schedules, and resets the counts, so that a test
// sees only what it does next.
func settle(t *testing.T, sv *Saver, cs *countingStore) {
	t.Helper()
	sv.Update(func(c *Checkpoint) { c.Extra["settled"] = "yes" })
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		sv.mu.Lock()
		idle := sv.scheduled == nil
		sv.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background save never ran")
		}
	}
	cs.saves.Store(0)
	cs.fast.Store(0)
	cs.syncs.Store(0)
}

// TestSaverSyncsInBackground checks that what FlushNoSync wrote is synced
// within about an interval with no further call, and that Close after
// that has nothing left to do.
func TestSaverSyncsInBackground(t *testing.T) {
	sv, cs := countingSaverStore(t, 10, 20*time.Millisecond)
	sv.Update(func(c *Checkpoint) { c.Extra["k"] = "v" })
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cs.syncs.Load()+cs.saves.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("FlushNoSync's write never synced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	durable := cs.syncs.Load() + cs.saves.Load()
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cs.syncs.Load() + cs.saves.Load(); got != durable {
		t.Errorf("Close after the background sync wrote again (%d durable writes, then %d)", durable, got)
	}
}

// TestSaverSyncRate is the pattern of a transfer's workers: Mark and
// FlushNoSync after every chunk. Each chunk is in the file when FlushNoSync
// returns; fsyncs happen at most about once per interval.
func TestSaverSyncRate(t *testing.T) {
	const (
		total    = 2000
		interval = 25 * time.Millisecond
	)
	sv, cs := countingSaverStore(t, total, interval)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < total; i += 4 {
				sv.Mark(i, uint64(i)+1)
				if err := sv.FlushNoSync(); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	durable := cs.syncs.Load() + cs.saves.Load()
	// One per interval, plus the first (immediate) one and a timer that
	// was already due.
	if limit := int32(elapsed/interval) + 2; durable > limit {
		t.Errorf("%d fsynced writes in %v with a %v interval, want at most %d", durable, elapsed, interval, limit)
	}
	if cs.fast.Load() < 10 {
		t.Errorf("only %d unsynced writes for %d FlushNoSync calls", cs.fast.Load(), total)
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := cs.st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if c.DoneCount() != total {
		t.Fatalf("saved %d done chunks, want %d", c.DoneCount(), total)
	}
	t.Logf("%d chunks in %v: %d unsynced writes, %d syncs, %d durable saves",
		total, elapsed.Round(time.Millisecond), cs.fast.Load(), cs.syncs.Load(), cs.saves.Load())
}

// TestSaverFlushNoSyncError: a failed write is returned to the caller and
// tried again by the next flush.
func TestSaverFlushNoSyncError(t *testing.T) {
	sv, cs := countingSaverStore(t, 10, time.Hour)
	defer sv.Close()
	settle(t, sv, cs)
	boom := errors.New("disk full")
	cs.fail.Store(&boom)
	sv.Mark(3, 1)
	if err := sv.FlushNoSync(); !errors.Is(err, boom) {
		t.Fatalf("FlushNoSync on a failing disk: %v", err)
	}
	cs.fail.Store(nil)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	c, err := cs.st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.IsDone(3); !ok {
		t.Fatal("the retried write lost chunk 3")
	}
}
