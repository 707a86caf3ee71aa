package resume

import (
	"errors"
	"sync"
	"time"
)

// DefaultSaveInterval is how often a Saver makes a busy checkpoint durable:
// often enough that a power loss costs about a second of work, rarely
// enough that a fast transfer does not fsync per chunk.
const DefaultSaveInterval = time.Second

// implicitSnapshotAge is how long chunks marked with MarkZero may stay in
// memory only before a background snapshot records them: they are cheap to
// redo (a hole is found again without reading it), but not free.
const implicitSnapshotAge = 30 * time.Second

// Saver keeps the checkpoint of a running transfer on disk at a cost
// proportional to the work done. Mark is cheap and safe for concurrent
// use: it records the chunk in memory and queues a 24-byte journal record.
// FlushNoSync appends the queued records with one write (no fsync): safe
// from the death of the process. A background timer fsyncs the journal at
// most once per interval, and Flush and Close at once, so a power loss
// costs at most about an interval of chunks.
//
// The snapshot (the checkpoint file itself) is rewritten only when it must
// be: on the first save of a run, after Update, when the journal has grown
// past twice the snapshot (so the bytes written stay a small multiple of
// the work done), when chunks marked with MarkZero have waited
// implicitSnapshotAge, and on Close. MarkZero costs nothing on disk by
// itself.
//
// Once given to a Saver, the Checkpoint belongs to it: read and change it
// only through Update (or after Close).
type Saver struct {
	interval time.Duration
	store    *Store

	saveMu sync.Mutex // serializes writes, so they reach the disk in order
	j      *journal   // the journal of the snapshot on disk; guarded by saveMu
	buf    []byte     // encoded records being written; guarded by saveMu

	mu          sync.Mutex // guards the fields below
	c           *Checkpoint
	pending     []record // marked, not yet in the journal
	snapDirty   bool     // the snapshot must be rewritten
	implicit    bool     // MarkZero since the last snapshot
	unsynced    bool     // journal or snapshot written without fsync since the last sync
	snapSize    int64    // bytes of the last snapshot
	lastSnap    time.Time
	lastSync    time.Time
	scheduled   *time.Timer
	err         error // first failure of a background save, until reported
	closed      bool
	snapshots   int   // snapshots written, for tests and figures
	journalRecs int64 // records appended, for tests and figures
}

type record struct {
	index int
	hash  uint64
	zero  bool // MarkZero, journaled: the hash is that of zeros
}

// NewSaver returns a Saver writing c to s. The first save writes a
// snapshot; the interval (DefaultSaveInterval if not positive) bounds how
// long a write stays off the disk.
func NewSaver(s *Store, c *Checkpoint, interval time.Duration) *Saver {
	if interval <= 0 {
		interval = DefaultSaveInterval
	}
	return &Saver{interval: interval, store: s, c: c, snapDirty: true, lastSnap: time.Now()}
}

// Mark records chunk i as done with hash h and queues its journal record.
func (s *Saver) Mark(i int, h uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.MarkDone(i, h)
	s.pending = append(s.pending, record{index: i, hash: h})
	s.scheduleLocked()
}

// MarkZero records chunk i as done with the hash of zeros, in memory only:
// for chunks whose outcome follows from the plan, which a later run finds
// again at no cost. A snapshot records them within implicitSnapshotAge
// and at Close.
func (s *Saver) MarkZero(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.MarkZero(i)
	s.implicit = true
	s.scheduleLocked()
}

// MarkZeroRecorded is MarkZero for zero chunks that are costly to find
// again (a download fetched them): it queues a journal record like Mark,
// but the checkpoint stores no hash for the chunk.
func (s *Saver) MarkZeroRecorded(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.MarkZero(i)
	s.pending = append(s.pending, record{index: i, zero: true})
	s.scheduleLocked()
}

// Update runs fn on the checkpoint under the Saver's lock, for changes other
// than marking chunks, such as recording a created drive in Extra, and
// schedules a snapshot. Call Flush after it when the change must be on disk
// before going on.
func (s *Saver) Update(fn func(c *Checkpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.c)
	s.snapDirty = true
	s.scheduleLocked()
}

// View runs fn on the checkpoint under the Saver's lock; fn must not keep
// or change it.
func (s *Saver) View(fn func(c *Checkpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.c)
}

// scheduleLocked arranges a background durable flush one interval after the
// last sync, unless one is pending already or the Saver is closed.
func (s *Saver) scheduleLocked() { s.scheduleAtLocked(s.lastSync.Add(s.interval)) }

// scheduleAtLocked arranges a background durable flush at t.
func (s *Saver) scheduleAtLocked(t time.Time) {
	if s.scheduled != nil || s.closed {
		return
	}
	s.scheduled = time.AfterFunc(max(time.Until(t), 0), s.background)
}

// background is the timer's durable flush. Its error is kept for the next
// Flush or Close, because no caller is waiting for it.
func (s *Saver) background() {
	if err := s.flush(true, true, false); err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
}

// Flush makes every change durable now. It also returns the error of a
// failed background save, once.
func (s *Saver) Flush() error {
	return s.report(s.flush(false, true, false))
}

func (s *Saver) report(err error) error {
	s.mu.Lock()
	bgErr := s.err
	s.err = nil
	s.mu.Unlock()
	return errors.Join(bgErr, err)
}

// FlushNoSync writes the queued records now, safe against the death of the
// process but not yet against a power loss (see Saver): a background sync
// makes them durable within the interval, and Flush or Close at once.
// Concurrent callers share a write: each returns once its records are in
// the file. Errors of background saves are left for Flush to report.
func (s *Saver) FlushNoSync() error {
	return s.flush(false, false, false)
}

// flush writes what is queued: a snapshot when one is due (compact, or
// forced by Close), else the journal records; durable adds the fsync.
// fromTimer says the pending timer is the caller.
func (s *Saver) flush(fromTimer, durable, compact bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if fromTimer {
		s.scheduled = nil
		if s.closed {
			// Close stopped the timer too late: it has saved everything,
			// and the checkpoint may be gone since.
			s.mu.Unlock()
			return nil
		}
	}
	now := time.Now()
	journalBig := s.j != nil && s.j.size > 2*s.snapSize+(1<<20)
	implicitOld := s.implicit && (durable || compact) && now.Sub(s.lastSnap) >= implicitSnapshotAge
	if compact {
		compact = s.snapDirty || s.implicit || len(s.pending) > 0 || s.j == nil || s.j.size > journalHeader
	}
	if s.snapDirty || s.j == nil || journalBig || implicitOld || compact {
		return s.snapshotLocked(now, durable)
	}
	if len(s.pending) == 0 {
		if !durable || !s.unsynced {
			if fromTimer && s.implicit {
				// Come back until the zero chunks are old enough to snapshot.
				s.scheduleAtLocked(now.Add(s.interval))
			}
			s.mu.Unlock()
			return nil
		}
		s.unsynced = false
		s.lastSync = now
		s.mu.Unlock()
		err := s.j.sync()
		if err != nil {
			s.mu.Lock()
			s.unsynced = true
			s.mu.Unlock()
		}
		return err
	}
	recs := s.pending
	s.pending = nil
	if durable {
		s.lastSync = now
	}
	s.mu.Unlock()

	s.buf = s.buf[:0]
	for _, r := range recs {
		if r.zero {
			s.buf = appendZeroRecord(s.buf, s.j.gen, r.index)
		} else {
			s.buf = appendRecord(s.buf, s.j.gen, r.index, r.hash)
		}
	}
	err := s.j.append(s.buf)
	if err == nil && durable {
		err = s.j.sync()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// A failed append may have written part of the batch: the next
		// save is a snapshot, which holds the chunks whatever the journal
		// ended with.
		s.snapDirty = true
		s.scheduleLocked()
		return err
	}
	s.journalRecs += int64(len(recs))
	if !durable {
		s.unsynced = true
		s.scheduleLocked()
	}
	return nil
}

// snapshotLocked writes the checkpoint as a new snapshot with a fresh
// journal. It is called with s.mu held and releases it; s.saveMu is held.
func (s *Saver) snapshotLocked(now time.Time, durable bool) error {
	snap := s.c.Clone()
	pending, wasImplicit := s.pending, s.implicit
	s.pending, s.snapDirty, s.implicit = nil, false, false
	if durable {
		s.lastSync = now
	}
	s.mu.Unlock()

	if s.j != nil {
		_ = s.j.close()
		s.j = nil
	}
	var err error
	if durable {
		err = s.store.Save(snap)
	} else {
		err = s.store.SaveNoSync(snap)
	}
	var size int64
	if err == nil {
		size, err = s.store.snapshotSize(snap.ID())
	}
	if err == nil {
		s.j, err = s.store.openJournal(snap.ID(), snap.gen)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.snapDirty = true
		s.pending = append(pending, s.pending...)
		s.implicit = s.implicit || wasImplicit
		s.scheduleLocked()
		return err
	}
	s.c.Updated, s.c.gen = snap.Updated, snap.gen
	s.snapSize, s.lastSnap = size, now
	s.snapshots++
	s.unsynced = !durable
	if s.unsynced || s.implicit || len(s.pending) > 0 {
		s.scheduleLocked()
	}
	return nil
}

// Close stops background saves and writes a final, durable snapshot (the
// journal is then empty). Marks after Close are kept in memory but only
// written by an explicit Flush.
func (s *Saver) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.scheduled != nil {
		s.scheduled.Stop()
		s.scheduled = nil
	}
	s.mu.Unlock()
	err := s.flush(false, true, true)
	s.saveMu.Lock()
	if s.j != nil {
		err = errors.Join(err, s.j.close())
		s.j = nil
	}
	s.saveMu.Unlock()
	return s.report(err)
}
