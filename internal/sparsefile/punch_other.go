//go:build !linux

package sparsefile

import (
	"errors"
	"os"
)

// PunchHole is not available here: callers write the zeros instead,
// which reads the same and only costs space.
func PunchHole(*os.File, int64, int64) error { return errors.ErrUnsupported }
