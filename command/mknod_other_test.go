//go:build !linux

package command

import "errors"

// mknodNull is only tried on Linux, where the tests run; elsewhere the
// device-node case is skipped.
func mknodNull(string) error { return errors.New("device nodes are only made on Linux") }
