package resume

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/filelock"
	"golang.org/x/sys/unix"
)

const (
	checkpointExt = ".checkpoint"
	lockExt       = ".lock"
	tempInfix     = ".tmp-"
	idLen         = 16
)

// DefaultDir is where checkpoints live unless configured otherwise:
// $XDG_STATE_HOME/drivecp, or ~/.local/state/drivecp when XDG_STATE_HOME is
// unset or not absolute (as the XDG base directory spec asks).
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "drivecp"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("checkpoint directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "drivecp"), nil
}

// Store keeps checkpoints as files in Dir, which is created with mode 0700
// on first write; files are created 0600. Its methods are safe for concurrent
// use, but two writers of the same checkpoint must be kept apart with Lock.
type Store struct{ Dir string }

// LoadError is a checkpoint file List could not read.
type LoadError struct {
	ID  string
	Err error
}

func (e *LoadError) Error() string { return fmt.Sprintf("checkpoint %s: %v", e.ID, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// ValidID reports whether id has the form Key.ID returns; only such ids name
// files, so an id typed on the command line cannot reach outside Dir.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for _, r := range id {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id, ext string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w: %q", ErrBadID, id)
	}
	return filepath.Join(s.Dir, id+ext), nil
}

// Load reads checkpoint id: its snapshot plus the chunks its journal
// recorded since (see journal.go). A missing checkpoint is an error matching
// fs.ErrNotExist; a truncated or damaged one wraps ErrCorrupt; one in another
// format version wraps ErrVersion.
func (s *Store) Load(id string) (*Checkpoint, error) {
	p, err := s.path(id, checkpointExt)
	if err != nil {
		return nil, err
	}
	// The journal first: a running transfer may compact between the two
	// reads, and compaction renames the snapshot into place before the
	// journal, so a journal read first is never newer than the snapshot
	// read after it (an older one is ignored; the snapshot holds its
	// records). Read the other way round, a reader could meet an old
	// snapshot and the new journal and take a live checkpoint for corrupt.
	jp, journal, err := s.readJournal(id)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	c, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", p, err)
	}
	if c.ID() != id {
		return nil, fmt.Errorf("load checkpoint %s: %w: it describes transfer %s", p, ErrCorrupt, c.ID())
	}
	if journal != nil {
		if _, err := applyJournal(c, journal); err != nil {
			return nil, fmt.Errorf("load checkpoint journal %s: %w", jp, err)
		}
	}
	return c, nil
}

// Find loads the checkpoint of the transfer k and checks that it fits k (see
// Checkpoint.CheckKey). No checkpoint is an error matching fs.ErrNotExist.
// k must be valid, so a download must name its drive; an upload may leave
// Drive empty and gets the checkpoint of the same file to the same endpoint.
func (s *Store) Find(k Key, total int) (*Checkpoint, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	c, err := s.Load(k.ID())
	if err != nil {
		return nil, err
	}
	if err := c.CheckKey(k, total); err != nil {
		return nil, err
	}
	return c, nil
}

// Save writes c atomically and durably as a new snapshot, setting c.Updated
// and moving c to the next journal generation: it writes a temporary file
// in Dir, fsyncs it, renames it over the old checkpoint and fsyncs Dir, then
// replaces the journal with an empty one of the new generation the same
// way, so a crash of the process or of the machine at any moment leaves
// either the old or the new checkpoint, whole (an old journal beside a new
// snapshot is ignored: the snapshot holds its records). It refuses (wrapping
// ErrInvalidKey) a checkpoint whose key is invalid or whose Extra holds a URL
// with credentials or a query string.
func (s *Store) Save(c *Checkpoint) error { return s.save(c, true) }

// SaveNoSync is Save without the fsyncs: the new checkpoint replaces the old
// one by rename, so it survives the death of the process (SIGKILL, a panic,
// Ctrl-C) whole, since the page cache outlives the process; but until a
// later Save it may not be on the disk. A power loss or kernel crash
// before then may bring back the previous checkpoint or, on a file system
// that does not order a rename after the data it renames, leave a file that
// Load reports as ErrCorrupt rather than wrong state. It costs a fraction of
// Save, which pays four disk flushes.
func (s *Store) SaveNoSync(c *Checkpoint) error { return s.save(c, false) }

func (s *Store) save(c *Checkpoint, durable bool) error {
	if err := c.checkSafe(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	c.Version = Version
	c.Updated = time.Now().UTC()
	c.gen++
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	data, err := e.encode(c)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	id := c.ID()
	final, err := s.path(id, checkpointExt)
	if err != nil {
		return err
	}
	if err := s.mkdir(); err != nil {
		return err
	}
	opts := atomicfile.Options{TempPattern: id + tempInfix + "*", NoSync: !durable}
	if err := atomicfile.Write(final, data, opts); err != nil {
		c.gen--
		return fmt.Errorf("save checkpoint %s: %w", id, err)
	}
	jp, err := s.path(id, journalExt)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(jp, encodeJournalHeader(c.gen), opts); err != nil {
		// The snapshot of c.gen is on disk; the old journal is stale now.
		return fmt.Errorf("save checkpoint journal %s: %w", id, err)
	}
	return nil
}

func (s *Store) mkdir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	return nil
}

// Remove deletes checkpoint id. A missing checkpoint is an error matching
// fs.ErrNotExist, which callers that do not care can ignore.
func (s *Store) Remove(id string) error {
	p, err := s.path(id, checkpointExt)
	if err != nil {
		return err
	}
	// The journal first: a crash in between leaves a snapshot that knows
	// fewer chunks (they would be transferred again), never records
	// without their snapshot.
	if jp, err := s.path(id, journalExt); err == nil {
		if err := os.Remove(jp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove checkpoint journal: %w", err)
		}
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove checkpoint: %w", err)
	}
	return nil
}

// List loads every checkpoint in Dir, most recently updated first. Files it
// cannot read do not stop it: it returns the readable checkpoints together
// with an error joining one *LoadError per unreadable file (each wrapping
// ErrCorrupt, ErrVersion or an I/O error), so `drivecp checkpoint list` can
// show what it can and warn about the rest. A missing Dir is an empty list.
func (s *Store) List() ([]*Checkpoint, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var (
		cs   []*Checkpoint
		errs []error
	)
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), checkpointExt)
		if !ok || !ValidID(id) || !e.Type().IsRegular() {
			continue // lock files, temporary files, strangers
		}
		c, err := s.Load(id)
		if err != nil {
			errs = append(errs, &LoadError{ID: id, Err: err})
			continue
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *Checkpoint) int {
		return cmp.Or(b.Updated.Compare(a.Updated), strings.Compare(a.ID(), b.ID()))
	})
	return cs, errors.Join(errs...)
}

// Resolve expands a unique prefix of a checkpoint id (as a user types it)
// to the full id. No match is an error matching fs.ErrNotExist; several
// matches are an error too.
func (s *Store) Resolve(prefix string) (string, error) {
	if prefix == "" || len(prefix) > idLen || !ValidID(prefix+strings.Repeat("0", idLen-len(prefix))) {
		return "", fmt.Errorf("%w: %q", ErrBadID, prefix)
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("find checkpoint: %w", err)
	}
	var found []string
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), checkpointExt)
		if ok && ValidID(id) && strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("checkpoint %s: %w", prefix, fs.ErrNotExist)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("checkpoint id %s is ambiguous: %s", prefix, strings.Join(found, ", "))
	}
}

// Lock takes an exclusive, non-blocking flock on the transfer's lock file, so
// two processes (or two runs in one process) never work on the same transfer
// at once. If it is held elsewhere the error wraps ErrLocked. The lock goes
// away when the process dies; unlock releases it earlier and removes the
// lock file. Calling unlock more than once is harmless.
func (s *Store) Lock(id string) (unlock func() error, err error) {
	p, err := s.path(id, lockExt)
	if err != nil {
		return nil, err
	}
	if err := s.mkdir(); err != nil {
		return nil, err
	}
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock checkpoint %s: %w", id, err)
		}
		err = filelock.Flock(f, unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("checkpoint %s: %w", id, ErrLocked)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock checkpoint %s: %w", id, err)
		}
		// The holder removes the file before releasing it, so the file we
		// locked may have been unlinked in between; then the lock guards
		// nothing and we try again on the file now at p.
		if same, err := filelock.SamePath(f, p); err != nil || !same {
			f.Close()
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("lock checkpoint %s: %w", id, err)
			}
			continue
		}
		// Once: a second call must not remove a lock file that another
		// process has created and locked since.
		return sync.OnceValue(func() error {
			rmErr := os.Remove(p)
			if errors.Is(rmErr, fs.ErrNotExist) {
				rmErr = nil
			}
			// Closing the descriptor releases the flock.
			return errors.Join(rmErr, f.Close())
		}), nil
	}
}

// snapshotSize is the size of checkpoint id's snapshot file.
func (s *Store) snapshotSize(id string) (int64, error) {
	p, err := s.path(id, checkpointExt)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	return fi.Size(), nil
}
