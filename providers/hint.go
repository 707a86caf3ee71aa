package providers

import "fmt"

// HintError carries a suggestion of what to do next; the command line
// prints it on a line of its own after the error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }

// Unwrap returns the error the hint is about.
func (e *HintError) Unwrap() error { return e.Err }

// WithHint attaches a hint to err; a nil err stays nil.
func WithHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: fmt.Sprintf(format, args...)}
}
