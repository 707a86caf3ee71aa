package resume

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingSaver returns a Saver whose saves go to the real store and are
// counted.
func countingSaver(t *testing.T, total int, interval time.Duration) (*Saver, *Store, *atomic.Int32) {
	t.Helper()
	st := &Store{Dir: t.TempDir()}
	sv := NewSaver(st, testCheckpoint(t, total), interval)
	var n atomic.Int32
	sv.save = func(c *Checkpoint) error {
		n.Add(1)
		return st.Save(c)
	}
	return sv, st, &n
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
	sv, _, _ := countingSaver(t, 10, time.Millisecond)
	boom := errors.New("disk full")
	var fail atomic.Bool
	fail.Store(true)
	save := sv.save
	sv.save = func(c *Checkpoint) error {
		if fail.Load() {
			return boom
		}
		return save(c)
	}
	sv.Mark(0, 1)
	time.Sleep(50 * time.Millisecond)
	fail.Store(false)
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
