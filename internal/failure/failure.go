// Package failure holds the kinds of error that decide drivecp's exit
// status, so that the code that finds a failure (a transfer session, a
// command) and the code that turns it into an exit code (command.ExitCode)
// share them without depending on each other. Callers classify with
// errors.As and errors.Is, never by text.
package failure

import (
	"errors"
	"fmt"
)

// ErrInterrupted reports that a transfer stopped early but saved its state:
// running the same command again continues it.
var ErrInterrupted = errors.New("interrupted; progress was saved, run the same command again to continue")

// Usage marks bad usage or bad input: the same command would fail again
// the same way (exit 2).
type Usage struct{ Err error }

// Error is the wrapped error's message.
func (e *Usage) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Usage) Unwrap() error { return e.Err }

// Usagef returns a bad-usage error.
func Usagef(format string, args ...any) error {
	return &Usage{fmt.Errorf(format, args...)}
}

// Hint carries a suggestion, printed on its own line after the error.
type Hint struct {
	Err  error
	Hint string
}

// Error is the wrapped error's message.
func (e *Hint) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Hint) Unwrap() error { return e.Err }

// WithHint attaches a hint to err; a nil err stays nil.
func WithHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Hint{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// Resumable marks a transfer stopped by a failure that its saved progress
// lets the same command get past once the cause is gone: the network or
// the server gave out, the disk filled up. Like an interruption it exits
// 5, so a script can tell "run me again" from a failure that would repeat.
type Resumable struct{ Err error }

// Error is the wrapped error's message.
func (e *Resumable) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Resumable) Unwrap() error { return e.Err }
