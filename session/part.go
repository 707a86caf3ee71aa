package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// LockOutput takes the lock on a download's FILE.part
// (transfer.LockPart) and turns its failures into one clear line: another
// run writing there, or an output folder that is missing, not writable or
// on a read-only file system, are bad input (usage errors) found before any
// checkpoint is created. A concurrent run is refused rather than waited
// for, like a second run of the same transfer (a usage error too): the command
// as given cannot run now, and a script that retries exit 1 as a
// transient failure must not loop on it.
func LockOutput(out string) (unlock func() error, err error) {
	unlock, err = transfer.LockPart(out)
	switch {
	case err == nil:
		return unlock, nil
	case errors.Is(err, transfer.ErrPartLocked):
		return nil, failure.WithHint(failure.Usagef("another drivecp is writing %s", transfer.PartPath(out)),
			"wait for it to finish, or choose another -o: two downloads must not share an output file")
	case errors.Is(err, transfer.ErrNotRegular):
		return nil, failure.WithHint(failure.Usagef("%s is not a regular file", transfer.PartPath(out)),
			"move it away: the download writes there before renaming it to %s", out)
	case errors.Is(err, fs.ErrNotExist):
		return nil, failure.Usagef("cannot write %s: folder %s does not exist", out, filepath.Dir(out))
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is in the message already
	}
	return nil, failure.Usagef("cannot write %s: %w", out, err)
}

// CheckPart prepares a resumed download: a missing part file means
// starting over; otherwise every chunk the checkpoint calls done is read
// back from part and hashed, and chunks whose bytes no longer match (a
// crash of the machine before the page cache reached the disk, someone
// writing to the file) are downloaded again.
func (s *Session) CheckPart(ctx context.Context, part string, pieces []chunker.Piece, concurrency int) error {
	if !s.resumed {
		return nil
	}
	f, err := os.Open(part)
	if err == nil && len(pieces) > 0 {
		// Every run sizes FILE.part to the drive before it writes a byte:
		// an empty one is the one lockOutput just created in place of a
		// FILE.part that was gone.
		if fi, statErr := f.Stat(); statErr == nil && fi.Size() == 0 {
			f.Close()
			err = fs.ErrNotExist
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		s.notef("%s is gone: starting the download over", part)
		s.saver.Update(func(c *resume.Checkpoint) { c.Reset() })
		s.resumed = false
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()

	var done *resume.Checkpoint
	s.saver.View(func(c *resume.Checkpoint) { done = c.Clone() })
	bad, checked, err := transfer.Recheck(ctx, f, pieces, done, concurrency)
	if err != nil {
		return fmt.Errorf("check %s: %w", part, err)
	}
	if len(bad) > 0 {
		s.notef("%d of the %d chunks already in %s do not match the checkpoint: downloading them again", len(bad), checked, part)
		s.unmark(bad)
	}
	return nil
}
