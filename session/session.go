// Package session runs drive image transfers, uploads and downloads, on
// any cloud: it plans the image, ties each run to its checkpoint (attach,
// validation, the drive a new-drive upload writes, drives a lost answer
// left behind, a download's FILE.part) and drives the transfer engine
// through the services the chosen provider opened. It knows no cloud's
// names or states: what a provider can do arrives as neutral services, and
// drive states are providers.State.
//
// Errors carry their kind for the command's exit code (failure.Usage,
// failure.Hint, failure.Resumable, failure.ErrInterrupted, and the
// providers error kinds); messages are the user's, one line each.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// Keys of resume.Checkpoint.Extra. Values are UUIDs and identifiers, never
// URLs or credentials.
const (
	// ExtraDrive is the drive an upload writes: the one it created or the
	// one named with --drive.
	ExtraDrive = "drive"
	// ExtraCreated is "true" when the upload created that drive itself, so
	// the parts it has not written yet read as zeros.
	ExtraCreated = "created"
	// ExtraIdentifier is an API 2.0 chunked upload's resumableIdentifier.
	ExtraIdentifier = "resumable_identifier"
	// ExtraNameSum is a digest of the name an upload gives the drive it
	// creates, so that a rerun with another --name is refused rather
	// than writing into the drive named before: a digest, because
	// Extra refuses values that look like URLs and a drive name is free.
	ExtraNameSum = "name_sha256"
)

// Config describes the transfer a Session guards.
type Config struct {
	Store   *resume.Store
	Key     resume.Key
	Total   int  // pieces in the transfer's plan
	Restart bool // --restart: discard any checkpoint and start over
	// Stderr receives the session's notes and warnings; nil discards them.
	Stderr io.Writer
	// Quiet drops the informational notes (not the warnings).
	Quiet bool
}

// Session ties one run of an upload or download to its checkpoint:
// it holds the transfer's lock for the whole run, loads and validates an
// earlier run's checkpoint, hands the engine the chunks already done, and
// records every chunk acknowledged from then on.
//
// Durability rule: a chunk's completion is in the checkpoint file before
// the worker that completed it takes another chunk (OnChunkDone waits for
// the write; concurrent waiters share one write, so a busy transfer writes
// the file once per batch rather than once per chunk). A chunk the
// checkpoint does not know about is therefore always held by one of the
// Concurrency workers, and a crash, SIGKILL or Ctrl-C at any moment costs
// at most Concurrency chunks of work: exactly the chunks in flight. The
// time-based saving of resume.Saver alone would lose up to a second of
// acknowledged chunks, which on a fast link is many times that.
//
// The per-chunk write is not fsynced (resume.Saver.FlushNoSync): the death
// of the process does not lose the page cache, and two disk flushes per
// chunk slowed fast transfers by 20-40%. The Saver fsyncs about once a
// second and at the end, so a power loss or kernel crash costs up to a
// second of acknowledged chunks besides those in flight; they are
// transferred again. (A file system that does not order a rename after the
// renamed data may instead leave a checkpoint that fails its checksum: the
// next run then says so and suggests --restart, never resumes from wrong
// state.) Everything else the session saves, such as the drive an upload
// created, is fsynced before the run goes on.
type Session struct {
	cfg    Config
	id     string
	unlock func() error
	// unlockPart releases a download's lock on FILE.part (nil for uploads),
	// after the checkpoint's.
	unlockPart func() error
	saver      *resume.Saver
	resumed    bool // the checkpoint comes from an earlier run
	complete   bool // Finish saw success: Close removes the checkpoint
	// discard: the run failed before doing anything a rerun continues
	// (Abandon): Close removes the checkpoint it started.
	discard bool

	warnOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// Open locks the transfer and loads its checkpoint (or starts an
// empty one). A transfer another process is running, a checkpoint that no
// longer fits the transfer, and an unreadable checkpoint are input errors
// (exit 2) that say how to get past them. The caller must Finish or Close
// the session.
func Open(cfg Config) (*Session, error) {
	if err := cfg.Key.Validate(); err != nil {
		return nil, err
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	id := cfg.Key.ID()
	unlock, err := cfg.Store.Lock(id)
	if errors.Is(err, resume.ErrLocked) {
		return nil, failure.WithHint(failure.Usagef("another drivecp is already running this transfer (checkpoint %s)", id),
			"wait for it to finish, or stop it (Ctrl-C saves its progress) and run this command again")
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s := &Session{cfg: cfg, id: id, unlock: unlock}
	c, err := s.load()
	if err != nil {
		_ = unlock()
		return nil, err
	}
	s.saver = resume.NewSaver(cfg.Store, c, resume.DefaultSaveInterval)
	return s, nil
}

// load returns the checkpoint to continue from, or a fresh one.
func (s *Session) load() (*resume.Checkpoint, error) {
	st, k := s.cfg.Store, s.cfg.Key
	if s.cfg.Restart {
		if err := discard(st, s.id, s.cfg.Stderr, s.cfg.Quiet); err != nil {
			return nil, err
		}
		return resume.New(k, s.cfg.Total), nil
	}
	c, err := st.Find(k, s.cfg.Total)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return resume.New(k, s.cfg.Total), nil
	case errors.Is(err, resume.ErrCorrupt), errors.Is(err, resume.ErrVersion):
		return nil, LoadError(s.id, err)
	case errors.Is(err, resume.ErrChanged):
		return nil, s.changedError(err)
	case err != nil:
		return nil, err
	}
	s.resumed = true
	return c, nil
}

// discard removes checkpoint id of st for --restart, which the
// caller has locked, saying how far it was (unless quiet). The drive an
// interrupted upload created is named even when quiet, like the drives
// a lost create answer leaves: half an image the user may be paying for
// and would not find otherwise.
func discard(st *resume.Store, id string, stderr io.Writer, quiet bool) error {
	if old, err := st.Load(id); err == nil {
		if !quiet {
			fmt.Fprintf(stderr, "drivecp: --restart: discarding checkpoint %s (%d of %d chunks done)\n", id, old.DoneCount(), old.Total)
		}
		if d := old.Extra[ExtraDrive]; d != "" && old.Extra[ExtraCreated] == "true" {
			fmt.Fprintf(stderr, "drivecp: warning: drive %s, created by the interrupted upload, is left as it is; delete it if you do not need it\n", d)
		}
	}
	if err := st.Remove(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Session) changedError(err error) error {
	return failure.WithHint(failure.Usagef("cannot resume: %w", err),
		"add --restart to start the transfer over, or discard the saved progress with 'drivecp checkpoint rm %s'", s.id)
}

// notef prints an informational line on stderr unless --quiet.
func (s *Session) notef(format string, args ...any) {
	if !s.cfg.Quiet {
		fmt.Fprintf(s.cfg.Stderr, "drivecp: "+format+"\n", args...)
	}
}

// Resumed reports whether the run continues an earlier one.
func (s *Session) Resumed() bool { return s.resumed }

// ID is the checkpoint's id, as `drivecp checkpoint` shows it.
func (s *Session) ID() string { return s.id }

// CheckSource compares an upload's source with what the checkpoint
// recorded (a changed image is refused, exit 2), or records it on a first
// run.
func (s *Session) CheckSource(src resume.Source) error {
	var err error
	s.saver.Update(func(c *resume.Checkpoint) {
		if s.resumed {
			err = c.CheckSource(src)
		} else {
			c.SetSource(src)
		}
	})
	if err != nil {
		return s.changedError(err)
	}
	return nil
}

// CheckDrive is CheckSource for a download: the drive's size must not have
// changed since the checkpoint was made.
func (s *Session) CheckDrive(size int64) error {
	var err error
	s.saver.Update(func(c *resume.Checkpoint) {
		if s.resumed {
			err = c.CheckDrive(size)
		} else {
			c.FileSize = size
		}
	})
	if err != nil {
		return s.changedError(err)
	}
	return nil
}

// Extra returns the value an earlier run (or this one) recorded under key.
func (s *Session) Extra(key string) string {
	var v string
	s.saver.View(func(c *resume.Checkpoint) { v = c.Extra[key] })
	return v
}

// extraValue is Extra that also says whether key was recorded at all.
func (s *Session) extraValue(key string) (string, bool) {
	var v string
	var ok bool
	s.saver.View(func(c *resume.Checkpoint) { v, ok = c.Extra[key] })
	return v, ok
}

// Record stores protocol state in the checkpoint and saves it at once: a
// created drive must be on disk before the first chunk goes to it, or a
// crash would make the next run create another. Keys in forget are
// removed in the same save.
func (s *Session) Record(kv map[string]string, forget ...string) error {
	s.saver.Update(func(c *resume.Checkpoint) {
		for _, k := range forget {
			delete(c.Extra, k)
		}
		for k, v := range kv {
			c.Extra[k] = v
		}
		if d := kv[ExtraDrive]; d != "" {
			c.Key.Drive = d
		}
	})
	if err := s.saver.Flush(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// UploadTarget returns the drive a new-drive upload writes: the one an
// interrupted run created and recorded (looked up with get; gone is an
// error suggesting --restart), or a new one from create, recorded durably
// before any chunk is sent to it.
func (s *Session) UploadTarget(ctx context.Context, get func(ctx context.Context, uuid string) (providers.Drive, error),
	create *Creation) (providers.Drive, error) {
	if id := s.Extra(ExtraDrive); s.resumed && id != "" {
		d, err := get(ctx, id)
		if errors.Is(err, providers.ErrNotFound) {
			return d, failure.WithHint(fmt.Errorf("drive %s, which the interrupted upload was writing, is gone: %w", id, err),
				"add --restart to upload into a new drive")
		}
		if err != nil {
			return d, err
		}
		s.notef("continuing the upload into drive %s", id)
		return d, nil
	}
	d, err := create.run(ctx, s)
	if err != nil {
		return d, err
	}
	return d, s.Record(map[string]string{ExtraDrive: d.UUID, ExtraCreated: "true"}, ExtraCreating)
}

// Attach wires the checkpoint into the engine options: the chunks of pieces
// done earlier go to o.Done (and a line on stderr says how much that is),
// and every chunk acknowledged from now on is saved before its worker
// moves on (see the durability rule on Session); see markZero for
// zero chunks.
func (s *Session) Attach(o *transfer.Options, pieces []chunker.Piece) {
	var done *resume.Checkpoint
	s.saver.View(func(c *resume.Checkpoint) { done = c.Clone() })
	var n int
	var doneBytes int64
	for _, p := range pieces {
		if _, ok := done.IsDone(p.Index); ok {
			n++
			doneBytes += p.Length
		}
	}
	upload := s.resumed && s.cfg.Key.Direction == resume.Upload
	if n > 0 {
		// Reading a large image again takes a while from a cold disk:
		// say why nothing moves yet.
		check := ""
		if upload {
			check = "; reading them again to check they did not change"
		}
		s.notef("resuming: %d of %d chunks already done (%s)%s", n, len(pieces), units.FormatSize(doneBytes), check)
	}
	o.Done = done
	o.OnChunkDone = s.markDone
	o.OnChunkZero = s.markZero
	if upload {
		// The image's size, modification time and first and last chunk
		// are as the checkpoint recorded them (CheckSource), but a write
		// in between, with the time put back, shows only in the chunks.
		o.RecheckDone = true
		o.OnDoneChanged = s.uploadChanged
	}
}

// uploadChanged is a resumed upload's OnDoneChanged: the chunks of changed
// were sent by an earlier run but hold other bytes in the image now. API
// 1.0 writes by offset and sends them again; an API 2.0 chunked upload
// cannot replace a chunk the server holds, so the run stops (exit 2) and
// --restart is the way on.
func (s *Session) uploadChanged(changed []int, checked int) error {
	path := s.cfg.Key.LocalPath
	if s.cfg.Key.API != resume.APIv1 {
		return s.changedError(fmt.Errorf("%w: %d of the %d chunks already uploaded changed since (the first at byte %d), "+
			"and an API 2.0 chunked upload cannot replace a chunk the server holds", resume.ErrChanged, len(changed), checked,
			int64(changed[0])*s.cfg.Key.ChunkSize))
	}
	s.notef("%d of the %d chunks already uploaded changed in %s since: sending them again", len(changed), checked, path)
	s.unmark(changed)
	return nil
}

// markDone is the engine's OnChunkDone: the chunk is in the checkpoint
// file, safe from the death of the process, when it returns (see the
// durability rule on Session). A failed save does not stop the
// transfer (the data still arrives; only a later resume would redo more):
// it is reported once.
func (s *Session) markDone(index int, hash uint64) {
	s.saver.Mark(index, hash)
	if err := s.saver.FlushNoSync(); err != nil {
		s.warnOnce.Do(func() {
			fmt.Fprintf(s.cfg.Stderr, "drivecp: warning: cannot save progress: %v\n", err)
		})
	}
}

// markZero is the engine's OnChunkZero. An upload's zero chunks stay in
// memory (a rerun finds the holes again without any request); a
// download's cost a request each to find again, so they are journaled like
// other chunks, without a stored hash.
func (s *Session) markZero(index int, hash uint64) {
	if s.cfg.Key.Direction != resume.Download {
		s.saver.MarkZero(index)
		return
	}
	s.saver.MarkZeroRecorded(index)
	if err := s.saver.FlushNoSync(); err != nil {
		s.warnOnce.Do(func() {
			fmt.Fprintf(s.cfg.Stderr, "drivecp: warning: cannot save progress: %v\n", err)
		})
	}
}

// unmark forgets the chunks of bad, so that they count as not done.
func (s *Session) unmark(bad []int) {
	s.saver.Update(func(c *resume.Checkpoint) {
		for _, i := range bad {
			c.Unmark(i)
		}
	})
}

// Close releases the transfer's lock. After a successful Finish it
// removes the checkpoint; otherwise it saves what is unsaved and keeps the
// checkpoint for the next run. It is safe to call more than once. Commands
// defer it in the function that prints the result, so the checkpoint goes
// only after the result is out: a crash in between leaves a complete
// checkpoint, and the rerun finds nothing to do and prints the result
// again instead of starting over (an upload would make a second drive).
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		err := s.saver.Close()
		if s.complete || s.discard {
			if rmErr := s.cfg.Store.Remove(s.id); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
				what := "transfer complete"
				if !s.complete {
					what = "nothing was transferred"
				}
				fmt.Fprintf(s.cfg.Stderr, "drivecp: warning: %s, but its checkpoint remains: %v\n", what, rmErr)
			}
			err = nil // the state is no longer needed
		}
		err = errors.Join(err, s.unlock())
		if s.unlockPart != nil {
			err = errors.Join(err, s.unlockPart())
		}
		s.closeErr = err
	})
	return s.closeErr
}

// Abandon closes the session of a transfer that failed before it did
// anything a rerun would continue: no chunk done, no drive created or
// being created (a wrong password, a --drive that does not exist). A
// checkpoint this run started is removed, so such a failure leaves
// nothing behind to hold the next, different command to its options; one
// it resumed stays as it was. Otherwise it is Close.
func (s *Session) Abandon() error {
	s.saver.View(func(c *resume.Checkpoint) {
		_, creating := c.Extra[ExtraCreating]
		s.discard = !s.resumed && c.DoneCount() == 0 && c.Extra[ExtraDrive] == "" && !creating
	})
	return s.Close()
}

// Finish ends the session with the transfer's outcome err and returns the
// error the command should return. After success, Close removes the
// checkpoint. A failure keeps it: when ctx was cancelled (Ctrl-C, SIGTERM,
// SIGHUP) and the checkpoint is safely on disk the result wraps
// failure.ErrInterrupted (exit 5); other failures are classified by SavedFailure
// (exit 5 when the same command can continue, else their own code) and
// gain a hint on what to do with the saved progress.
func (s *Session) Finish(ctx context.Context, err error) error {
	if err == nil {
		s.complete = true
		return nil
	}
	if errors.Is(err, resume.ErrChanged) {
		// The checkpoint no longer fits: the error says why and how on,
		// and "run the same command again" would be wrong.
		_ = s.Close()
		return err
	}
	if closeErr := s.Close(); closeErr != nil {
		return errors.Join(err, fmt.Errorf("progress could not be saved: %w", closeErr))
	}
	var done, total int
	s.saver.View(func(c *resume.Checkpoint) { done, total = c.DoneCount(), c.Total })
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%d of %d chunks done, checkpoint %s)", failure.ErrInterrupted, done, total, s.id)
	}
	if _, statErr := s.cfg.Store.Load(s.id); statErr == nil {
		return SavedFailure(err, done, total, s.id)
	}
	return err
}
