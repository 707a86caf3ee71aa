package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"time"
)

// peakRSS follows a child's peak resident memory while it runs.
//
// getrusage's ru_maxrss cannot be trusted alone: Go starts children with
// vfork (CLONE_VM), and Linux folds the high-water mark of the memory the
// child shared with its parent, at exec, into the child's ru_maxrss. A
// child smaller than the bench process (which holds the emulator) would
// then report the parent's size. So the child's own VmHWM is read from
// /proc while it runs, and ru_maxrss is believed only when it exceeds the
// parent's VmHWM, in which case it can only be the child's.
type peakRSS struct {
	stop chan struct{}
	done chan struct{}
	max  int64
}

// watchRSS polls pid's VmHWM every 10 ms until stopped.
func watchRSS(pid int) *peakRSS {
	p := &peakRSS{stop: make(chan struct{}), done: make(chan struct{})}
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	go func() {
		defer close(p.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := readVmHWM(path); ok && v > p.max {
				p.max = v
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// result stops the watch and returns the child's peak in bytes, given
// ru_maxrss in bytes.
func (p *peakRSS) result(maxrss int64) int64 {
	close(p.stop)
	<-p.done
	if self, ok := readVmHWM("/proc/self/status"); ok && maxrss > self {
		return max(maxrss, p.max)
	}
	if p.max == 0 {
		return maxrss
	}
	return p.max
}

// readVmHWM returns the VmHWM line of a /proc status file in bytes.
func readVmHWM(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			fields := bytes.Fields(rest)
			if len(fields) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
