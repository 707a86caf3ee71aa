// Package filelock holds the advisory locks that keep two drivecp runs
// from writing the same checkpoint or the same FILE.part: flock(2) on an
// open file, and the check that the locked file is still the one at its
// path (a run that renamed or removed it in between would otherwise leave
// the lock guarding nothing).
package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Flock applies flock(2) operation how (unix.LOCK_EX|unix.LOCK_NB, ...) to
// f, repeating it when a signal interrupts it.
func Flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), how)
			if !errors.Is(ferr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}

// SamePath reports whether the open file f is still the file at path.
func SamePath(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}
