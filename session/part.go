package session

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/drivecp/drivecp/internal/failure"
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
