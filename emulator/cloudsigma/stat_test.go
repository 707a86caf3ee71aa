package cloudsigma

import "syscall"

type unixStat struct{ blocks int64 }

func statAlloc(path string, st *unixStat) error {
	var s syscall.Stat_t
	if err := syscall.Stat(path, &s); err != nil {
		return err
	}
	st.blocks = s.Blocks
	return nil
}
