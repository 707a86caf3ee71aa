package resume

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func testSaver(t *testing.T, total int, interval time.Duration) (*Saver, *Store) {
	t.Helper()
	st := &Store{Dir: t.TempDir()}
	return NewSaver(st, testCheckpoint(t, total), interval), st
}

// fileSize is the size of checkpoint id's file with extension ext.
func fileSize(t *testing.T, st *Store, id, ext string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(st.Dir, id+ext))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestSaverJournalSurvivesKill marks chunks the way a transfer's workers do
// (Mark, then FlushNoSync before the next chunk) and reads the state back
// without closing the Saver, as the next run after a SIGKILL would: every
// chunk is there, after one snapshot and one 24-byte record per chunk.
func TestSaverJournalSurvivesKill(t *testing.T) {
	const n = 1000
	sv, st := testSaver(t, 4*n, time.Hour)
	for i := range n {
		sv.Mark(i*4, uint64(i)+7)
		if err := sv.FlushNoSync(); err != nil {
			t.Fatal(err)
		}
	}
	c, err := st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if c.DoneCount() != n {
		t.Fatalf("after kill: %d chunks done, want %d", c.DoneCount(), n)
	}
	for i := range n {
		if h, ok := c.IsDone(i * 4); !ok || h != uint64(i)+7 {
			t.Fatalf("chunk %d: %x %v", i*4, h, ok)
		}
	}
	if sv.snapshots != 1 {
		t.Errorf("%d snapshots for %d chunks, want 1", sv.snapshots, n)
	}
	if got, want := fileSize(t, st, c.ID(), journalExt), int64(journalHeader+recordSize*(n-1)); got != want {
		// The first mark went into the first snapshot.
		t.Errorf("journal is %d bytes, want %d", got, want)
	}
	for _, ext := range []string{checkpointExt, journalExt} {
		fi, _ := os.Stat(filepath.Join(st.Dir, c.ID()+ext))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", ext, fi.Mode().Perm())
		}
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, st, c.ID(), journalExt); got != journalHeader {
		t.Errorf("after Close the journal is %d bytes, want an empty one", got)
	}
}

// TestSaverWritesProportionalToWork is the budget: the bytes a
// transfer writes for its checkpoint are a small multiple of the final
// snapshot plus 32 bytes per chunk transferred, whatever the drive's size.
func TestSaverWritesProportionalToWork(t *testing.T) {
	const total, sent = 1 << 20, 50_000 // a 4 TiB drive, 200 GB sent
	sv, st := testSaver(t, total, time.Hour)
	var written int64
	id := sv.c.ID()
	snaps := 0
	for i := range sent {
		sv.Mark(i, uint64(i))
		if err := sv.FlushNoSync(); err != nil {
			t.Fatal(err)
		}
		if sv.snapshots != snaps {
			snaps = sv.snapshots
			written += fileSize(t, st, id, checkpointExt) + journalHeader
		}
	}
	for i := sent; i < total; i++ {
		sv.MarkZero(i) // the holes: nothing on disk until the end
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	final := fileSize(t, st, id, checkpointExt)
	written += sv.journalRecs*recordSize + final + journalHeader
	if limit := 4*final + 32*sent; written > limit {
		t.Fatalf("wrote %d bytes (final snapshot %d, %d chunks sent), over %d", written, final, sent, limit)
	}
	t.Logf("wrote %d bytes in %d snapshots + journal; final snapshot %d bytes", written, sv.snapshots, final)
	c, err := st.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Complete() {
		t.Fatalf("%d of %d done after Close", c.DoneCount(), c.Total)
	}
	if h, ok := c.IsDone(sent - 1); !ok || h != sent-1 {
		t.Fatalf("chunk %d: %x %v", sent-1, h, ok)
	}
	if !c.IsZero(total-1) || c.IsZero(0) {
		t.Fatal("zero chunks not told from hashed ones after reload")
	}
}

// TestSaverMarkZeroCostsNothing: skipped zero chunks write nothing until
// Close, and a kill before that forgets them (they are found again).
func TestSaverMarkZeroCostsNothing(t *testing.T) {
	sv, st := testSaver(t, 100_000, time.Hour)
	sv.Mark(5, 55)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, st, sv.c.ID(), journalExt)
	for i := 6; i < 100_000; i++ {
		sv.MarkZero(i)
		if err := sv.FlushNoSync(); err != nil {
			t.Fatal(err)
		}
	}
	if after := fileSize(t, st, sv.c.ID(), journalExt); after != before || sv.snapshots != 1 {
		t.Fatalf("MarkZero wrote: journal %d -> %d bytes, %d snapshots", before, after, sv.snapshots)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil || c.DoneCount() != 1 {
		t.Fatalf("killed: %v, %d done", err, c.DoneCount())
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err = st.Load(sv.c.ID()); err != nil || c.DoneCount() != 100_000-5 {
		t.Fatalf("closed: %v, %d done", err, c.DoneCount())
	}
	zh := c.zeroHash(c.Key.ChunkSize)
	if h, ok := c.IsDone(7); !ok || h != zh {
		t.Fatalf("zero chunk: %x %v, want the hash of zeros %x", h, ok, zh)
	}
}

// TestSaverSyncsInBackground: what FlushNoSync wrote is fsynced within the
// interval without another call.
func TestSaverSyncsInBackground(t *testing.T) {
	sv, _ := testSaver(t, 10, 20*time.Millisecond)
	defer sv.Close()
	sv.Mark(0, 1)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	sv.Mark(1, 2)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		sv.mu.Lock()
		unsynced := sv.unsynced
		sv.mu.Unlock()
		if !unsynced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never synced in the background")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSaverUpdateSnapshots: Update (a created drive) is rewritten into the
// snapshot by the next Flush, durably.
func TestSaverUpdateSnapshots(t *testing.T) {
	sv, st := testSaver(t, 10, time.Hour)
	defer sv.Close()
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	sv.Update(func(c *Checkpoint) { c.Extra["drive"] = "abc" })
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil || c.Extra["drive"] != "abc" {
		t.Fatalf("after Update and Flush: %v, %v", err, c.Extra)
	}
	if sv.snapshots != 2 {
		t.Fatalf("%d snapshots, want 2", sv.snapshots)
	}
}

// TestSaverReportsErrors: a failed write is returned (or, from the
// background, by the next Flush) and retried; nothing marked is lost.
func TestSaverReportsErrors(t *testing.T) {
	sv, st := testSaver(t, 10, time.Hour)
	sv.Mark(1, 11)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	// Make the folder unwritable: the next snapshot cannot be created.
	if err := os.Chmod(st.Dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(st.Dir, 0o700)
	sv.Update(func(c *Checkpoint) { c.Extra["x"] = "y" })
	sv.Mark(2, 22)
	if err := sv.FlushNoSync(); err == nil && os.Geteuid() != 0 {
		t.Fatal("write into a read-only folder did not fail")
	}
	if err := os.Chmod(st.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil || c.DoneCount() != 2 || c.Extra["x"] != "y" {
		t.Fatalf("after the retry: %v, %d done, %v", err, c.DoneCount(), c.Extra)
	}
}

// TestSaverConcurrentMark runs workers the way the engine does, under -race.
func TestSaverConcurrentMark(t *testing.T) {
	const workers, each = 8, 500
	sv, st := testSaver(t, workers*each, 5*time.Millisecond)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range each {
				i := w*each + k
				if k%3 == 0 {
					sv.MarkZero(i)
				} else {
					sv.Mark(i, uint64(i))
				}
				if err := sv.FlushNoSync(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil || !c.Complete() {
		t.Fatalf("%v, %d done", err, c.DoneCount())
	}
}

// TestJournalDamage: a torn last record is dropped, damage before it is
// ErrCorrupt, a journal of an older generation is ignored and one of a
// newer generation is ErrCorrupt.
func TestJournalDamage(t *testing.T) {
	setup := func(t *testing.T) (*Store, string, []byte) {
		sv, st := testSaver(t, 100, time.Hour)
		for i := range 6 {
			sv.Mark(i, uint64(100+i))
			if err := sv.FlushNoSync(); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(st.Dir, sv.c.ID()+journalExt)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) != journalHeader+5*recordSize {
			t.Fatalf("journal of %d bytes", len(data))
		}
		return st, p, data
	}
	load := func(t *testing.T, st *Store, p string, data []byte) (*Checkpoint, error) {
		t.Helper()
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		id := filepath.Base(p[:len(p)-len(journalExt)])
		return st.Load(id)
	}
	flip := func(data []byte, at int) []byte {
		d := append([]byte(nil), data...)
		d[at] ^= 0x40
		return d
	}
	last := journalHeader + 4*recordSize
	for name, tc := range map[string]struct {
		done    int
		corrupt bool
	}{
		"whole":                 {done: 6},
		"partial last record":   {done: 5},
		"garbage last record":   {done: 5},
		"zeroed last records":   {done: 4},
		"damaged middle record": {corrupt: true},
		"damaged header":        {corrupt: true},
		"bad index":             {corrupt: true},
	} {
		t.Run(name, func(t *testing.T) {
			st, p, data := setup(t)
			d := data
			switch name {
			case "partial last record":
				d = data[:len(data)-7]
			case "garbage last record":
				d = flip(data, last+3)
			case "zeroed last records":
				d = append(append([]byte(nil), data[:last-recordSize]...), make([]byte, 2*recordSize)...)
			case "damaged middle record":
				d = flip(data, journalHeader+recordSize+9)
			case "damaged header":
				d = flip(data, 3)
			case "bad index":
				d = appendRecord(append([]byte(nil), data...), 1, 1000, 1)
				d = append(d, appendRecord(nil, 1, 7, 7)...)
			}
			c, err := load(t, st, p, d)
			if tc.corrupt {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Load = %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DoneCount() != tc.done {
				t.Fatalf("%d chunks done, want %d", c.DoneCount(), tc.done)
			}
		})
	}
	t.Run("generations", func(t *testing.T) {
		st, p, data := setup(t)
		old := append(encodeJournalHeader(0), appendRecord(nil, 0, 50, 1)...)
		c, err := load(t, st, p, old)
		if err != nil || c.DoneCount() != 1 {
			t.Fatalf("stale journal: %v, %d done (want it ignored)", err, c.DoneCount())
		}
		newer := append(encodeJournalHeader(2), appendRecord(nil, 2, 50, 1)...)
		if _, err := load(t, st, p, newer); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("newer journal: %v, want ErrCorrupt", err)
		}
		// A record of another generation fails its checksum.
		if _, err := load(t, st, p, append(append(data[:journalHeader:journalHeader], appendRecord(nil, 0, 50, 1)...), data[journalHeader:]...)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("foreign record: %v, want ErrCorrupt", err)
		}
	})
}

// TestSaverZeroRecorded: a download's zero chunks are journaled (they cost
// a request to fetch again) but keep no hash, and come back as zero chunks.
func TestSaverZeroRecorded(t *testing.T) {
	sv, st := testSaver(t, 100, time.Hour)
	sv.Mark(1, 11)
	sv.MarkZeroRecorded(2)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	sv.MarkZeroRecorded(3)
	if err := sv.FlushNoSync(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(sv.c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsZero(3) || !c.IsZero(2) || c.IsZero(1) || c.DoneCount() != 3 {
		t.Fatalf("after a kill: zero 1 %v 2 %v 3 %v, %d done", c.IsZero(1), c.IsZero(2), c.IsZero(3), c.DoneCount())
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLoadWhileCompacting reads a checkpoint the way `drivecp checkpoint
// list` does while its transfer compacts it again and again: every read
// must be whole and hold at least the chunks flushed before it began, never
// ErrCorrupt from a snapshot and a journal of different compactions.
func TestLoadWhileCompacting(t *testing.T) {
	const n = 400
	sv, st := testSaver(t, n, time.Hour)
	if err := sv.Flush(); err != nil {
		t.Fatal(err)
	}
	id := sv.c.ID()
	var (
		wg      sync.WaitGroup
		flushed sync.Map // chunk index → true once flushed
		stop    = make(chan struct{})
		loadErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var before []int
			flushed.Range(func(k, _ any) bool { before = append(before, k.(int)); return true })
			c, err := st.Load(id)
			if err != nil {
				loadErr = err
				return
			}
			for _, i := range before {
				if _, ok := c.IsDone(i); !ok {
					loadErr = errors.New("a flushed chunk is missing from a load")
					return
				}
			}
		}
	}()
	for i := range n {
		sv.Mark(i, uint64(i)+1)
		if i%3 == 0 {
			sv.Update(func(*Checkpoint) {}) // the next flush compacts
		}
		if err := sv.FlushNoSync(); err != nil {
			t.Fatal(err)
		}
		flushed.Store(i, true)
	}
	close(stop)
	wg.Wait()
	if loadErr != nil {
		t.Fatalf("load during compaction: %v", loadErr)
	}
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
}
