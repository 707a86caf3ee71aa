package sparsefile

import (
	"os"

	"golang.org/x/sys/unix"
)

// PunchHole deallocates n bytes of f at off, keeping its size, so they read
// as zeros and take no space.
func PunchHole(f *os.File, off, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}
