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
// Once given to a Saver, the Checkpoint belongs to it: read and change it
// only through Update (or after Close).
type Saver struct {
	interval time.Duration
	save     func(*Checkpoint) error // the Store's Save; a seam for tests

	saveMu sync.Mutex // serializes saves, so they reach the disk in order

	mu        sync.Mutex // guards the fields below
	c         *Checkpoint
	dirty     bool
	scheduled *time.Timer
	lastSave  time.Time
	err       error // first failure of a background save, until reported
	closed    bool
}

// NewSaver returns a Saver writing c to s at most once per interval
// (DefaultSaveInterval if interval is not positive).
func NewSaver(s *Store, c *Checkpoint, interval time.Duration) *Saver {
	if interval <= 0 {
		interval = DefaultSaveInterval
	}
	return &Saver{interval: interval, save: s.Save, c: c}
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
	if s.scheduled != nil || s.closed {
		return
	}
	delay := time.Until(s.lastSave.Add(s.interval))
	s.scheduled = time.AfterFunc(max(delay, 0), s.background)
}

// background is the timer's save. Its error is kept for the next Flush or
// Close, because no caller is waiting for it.
func (s *Saver) background() {
	if err := s.flush(true); err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
}

// Flush saves the checkpoint now if anything changed since the last save. It
// also returns the error of a failed background save, once.
func (s *Saver) Flush() error {
	err := s.flush(false)
	s.mu.Lock()
	bgErr := s.err
	s.err = nil
	s.mu.Unlock()
	return errors.Join(bgErr, err)
}

// flush saves if dirty. fromTimer says the pending timer is the caller, so
// it is cleared in the same critical section that takes the snapshot and
// stamps lastSave: a Mark in between would otherwise see no timer and a
// stale lastSave, and start another save at once.
func (s *Saver) flush(fromTimer bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if fromTimer {
		s.scheduled = nil
	}
	// The interval runs from the start of a save, so a slow disk does not
	// stretch it.
	s.lastSave = time.Now()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	// Save a copy so that Marks go on while the file is written and synced.
	snap := s.c.Clone()
	s.dirty = false
	s.mu.Unlock()

	err := s.save(snap)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Still unsaved: the next Mark or Flush tries again.
		s.dirty = true
		return err
	}
	s.c.Updated = snap.Updated
	return nil
}

// Close stops background saves and flushes. Marks after Close are kept in
// memory but only written by an explicit Flush.
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
