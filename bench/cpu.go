package bench

import (
	"syscall"
	"time"
)

// ProcessCPU is the user plus system CPU time this process has used so
// far, or 0 where the system cannot say. Differences of it measure work that
// runs in this process, such as an in-process emulator.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
