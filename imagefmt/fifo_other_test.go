//go:build !unix

package imagefmt

import "errors"

func mkfifo(string) error { return errors.New("named pipes need unix") }
