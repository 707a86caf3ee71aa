package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/drivecp/drivecp/internal/filelock"
	"golang.org/x/sys/unix"
)

// ErrPartLocked is returned by LockPart when another process holds the
// lock of the same FILE.part.
var ErrPartLocked = errors.New("another process is writing this file")

// PartPath is the file a download into path writes before renaming it to
// path.
func PartPath(path string) string { return path + ".part" }

// LockPart takes an exclusive, non-blocking flock on path's FILE.part,
// creating it empty (mode 0600) when it does not exist, and returns the
// function that releases it. Two downloads into the same path, whatever
// drives they read, must not write the same FILE.part, or the rename at
// the end would publish a file that is neither: the caller holds this lock
// from before it looks at FILE.part (or its checkpoint) until after the
// rename. A process that dies releases the lock with its descriptors.
//
// Opening FILE.part for writing also proves, before any other state is
// created, that the folder exists and is writable.
//
// DownloadFile, StreamFile and DownloadSegments do not take the lock
// themselves: the lock must also cover what the caller does before and
// after them.
func LockPart(path string) (unlock func() error, err error) {
	part := PartPath(path)
	// Neither follow a symbolic link nor wait for a FIFO's other end: such
	// a FILE.part is refused, never opened.
	const flags = os.O_RDWR | unix.O_NOFOLLOW | unix.O_NONBLOCK
	for {
		created := true
		f, err := os.OpenFile(part, flags|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			created = false
			f, err = os.OpenFile(part, flags, 0)
		}
		if errors.Is(err, fs.ErrNotExist) && !created {
			continue // removed between the two opens
		}
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s: %w", part, ErrNotRegular)
		}
		if err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			if err == nil {
				err = ErrNotRegular
			}
			return nil, fmt.Errorf("%s: %w", part, err)
		}
		if err := filelock.Flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("%s: %w", part, ErrPartLocked)
			}
			return nil, fmt.Errorf("lock %s: %w", part, err)
		}
		// The holder may have renamed or removed the file we locked before
		// it let go; then the lock guards nothing and we try again on the
		// file now at part.
		same, err := filelock.SamePath(f, part)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", part, err)
		}
		if !same {
			f.Close()
			continue
		}
		return sync.OnceValue(func() error {
			// An empty FILE.part this run created and never wrote (it failed
			// before the download began) is not left behind. Checked under
			// the lock, and only while part still names our file.
			var rmErr error
			if created {
				if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
					if same, _ := filelock.SamePath(f, part); same {
						rmErr = os.Remove(part)
					}
				}
			}
			return errors.Join(rmErr, f.Close()) // closing releases the flock
		}), nil
	}
}
