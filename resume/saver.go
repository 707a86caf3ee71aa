package resume

import (
	"errors"
	"sync"
	"time"
)

// DefaultSaveInterval is how often a Saver writes a busy checkpoint: often
// enough that a crash loses about a second of work, rarely enough that a
// fast transfer does not fsync per chunk.
const DefaultSaveInterval = time.Second

// Saver batches the updates of a running transfer into occasional saves.
// Mark is cheap and safe for concurrent use: it records the chunk in memory
// and makes sure a save happens within the interval, writing at most once
// per interval. Flush saves at once, as on Ctrl-C or at the end.
//
// Two kinds of save trade durability against cost:
//
//   - Flush, Close and the background saves are durable (Store.Save): they
//     survive a power loss or a kernel crash. Each pays two disk flushes.
//   - FlushNoSync survives the death of the process only (Store.SaveNoSync:
//     temporary file and rename, no fsync), and leaves the fsync to a
//     background sync within the interval. A transfer can afford it after
//     every chunk. A power loss may cost up to an interval of chunks saved
//     this way: they are done again, since the checkpoint on disk is then
//     an older, whole one, or, where the file system does not order the
//     rename after the data, one Load refuses as ErrCorrupt.
//
// Once given to a Saver, the Checkpoint belongs to it: read and change it
// only through Update (or after Close).
type Saver struct {
	interval time.Duration
	store    saveStore // the Store; a seam for tests

	saveMu sync.Mutex // serializes saves and syncs, so they reach the disk in order

	mu        sync.Mutex // guards the fields below
	c         *Checkpoint
	dirty     bool // changes not written yet
	unsynced  bool // the file on disk was written by SaveNoSync and not synced since
	scheduled *time.Timer
	lastSave  time.Time // start of the last write, durable or not
	lastSync  time.Time // start of the last durable save or sync
	err       error     // first failure of a background save, until reported
	closed    bool
}

// saveStore is what a Saver needs of a Store.
type saveStore interface {
	Save(c *Checkpoint) error
	SaveNoSync(c *Checkpoint) error
	Sync(id string) error
}

// NewSaver returns a Saver writing c to s at most once per interval
// (DefaultSaveInterval if interval is not positive), apart from the writes
// callers ask for with Flush and FlushNoSync. The same interval bounds how
// long a FlushNoSync stays off the disk.
func NewSaver(s *Store, c *Checkpoint, interval time.Duration) *Saver {
	if interval <= 0 {
		interval = DefaultSaveInterval
	}
	return &Saver{interval: interval, store: s, c: c}
}

// Mark records chunk i as done with hash h and schedules a save.
func (s *Saver) Mark(i int, h uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.MarkDone(i, h)
	s.touchLocked()
}

// Update runs fn on the checkpoint under the Saver's lock, for changes other
// than marking chunks, such as recording a created drive in Extra, and
// schedules a save. Call Flush after it when the change must be on disk
// before going on.
func (s *Saver) Update(fn func(c *Checkpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.c)
	s.touchLocked()
}

// View runs fn on the checkpoint under the Saver's lock; fn must not keep
// or change it.
func (s *Saver) View(fn func(c *Checkpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.c)
}

// touchLocked marks the state dirty and, unless a save is already pending,
// arranges one for when the interval since the last save has passed.
func (s *Saver) touchLocked() {
	s.dirty = true
	s.scheduleLocked(s.lastSave)
}

// scheduleLocked arranges a background save or sync for one interval after
// since, unless one is pending already or the Saver is closed.
func (s *Saver) scheduleLocked(since time.Time) {
	if s.scheduled != nil || s.closed {
		return
	}
	delay := time.Until(since.Add(s.interval))
	s.scheduled = time.AfterFunc(max(delay, 0), s.background)
}

// background is the timer's durable save (or sync of what FlushNoSync
// wrote). Its error is kept for the next Flush or Close, because no caller
// is waiting for it.
func (s *Saver) background() {
	if err := s.flush(true, true); err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
}

// Flush saves the checkpoint durably now if anything changed since the last
// durable save. It also returns the error of a failed background save, once.
func (s *Saver) Flush() error {
	err := s.flush(false, true)
	s.mu.Lock()
	bgErr := s.err
	s.err = nil
	s.mu.Unlock()
	return errors.Join(bgErr, err)
}

// FlushNoSync writes the checkpoint now if anything changed since the last
// save, safe against the death of the process but not yet against a power
// loss (see Saver): a background sync makes it durable within the interval,
// and Flush or Close at once. Concurrent callers share a write: each
// returns once its changes are in the file. Errors of background saves are
// left for Flush to report.
func (s *Saver) FlushNoSync() error {
	return s.flush(false, false)
}

// flush writes if dirty; durable asks for an fsynced save, and for the sync
// of an earlier FlushNoSync when nothing changed since. fromTimer says the
// pending timer is the caller, so it is cleared in the same critical section
// that takes the snapshot and stamps lastSave: a Mark in between would
// otherwise see no timer and a stale lastSave, and start another save at
// once.
func (s *Saver) flush(fromTimer, durable bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if fromTimer {
		s.scheduled = nil
	}
	// The intervals run from the start of a save, so a slow disk does not
	// stretch them.
	now := time.Now()
	s.lastSave = now
	if !s.dirty {
		if !durable || !s.unsynced {
			s.mu.Unlock()
			return nil
		}
		// Only the fsync of the file already written is missing.
		s.lastSync = now
		s.unsynced = false
		id := s.c.ID()
		s.mu.Unlock()
		err := s.store.Sync(id)
		if err != nil {
			s.mu.Lock()
			s.unsynced = true
			s.mu.Unlock()
		}
		return err
	}
	if durable {
		s.lastSync = now
	}
	// Save a copy so that Marks go on while the file is written and synced.
	snap := s.c.Clone()
	s.dirty = false
	s.mu.Unlock()

	var err error
	if durable {
		err = s.store.Save(snap)
	} else {
		err = s.store.SaveNoSync(snap)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Still unsaved: the next Mark or Flush tries again.
		s.dirty = true
		return err
	}
	s.c.Updated = snap.Updated
	s.unsynced = !durable
	if s.unsynced {
		// The sync is due an interval after the last one, so a busy
		// transfer syncs about once per interval, and an idle one soon.
		s.scheduleLocked(s.lastSync)
	}
	return nil
}

// Close stops background saves and flushes durably. Marks after Close are
// kept in memory but only written by an explicit Flush.
func (s *Saver) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.scheduled != nil {
		s.scheduled.Stop()
		s.scheduled = nil
	}
	s.mu.Unlock()
	return s.Flush()
}
