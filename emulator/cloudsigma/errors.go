package cloudsigma

import (
	"errors"
	"fmt"
)

// Error kinds of the store. Handlers map them to status codes with errors.Is:
// ErrNotFound → 404, ErrInvalid → 400, ErrBusy → 409 (API 1.0) or 503
// concurrency (API 2.0).
var (
	// ErrNotFound: no drive, snapshot, library drive or job has that UUID.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request is not valid; FieldOf tells which field.
	ErrInvalid = errors.New("invalid")
	// ErrBusy: the resource is in a state that forbids the operation right
	// now (cloning, resizing, being written to); retrying later may work.
	ErrBusy = errors.New("busy")
)

// FieldError is an error about one field of a request. It wraps one of the
// kinds above.
type FieldError struct {
	Kind  error  // ErrInvalid, ErrNotFound or ErrBusy
	Field string // e.g. "size"; may be empty
	Msg   string
}

// Error renders `kind: field: message`.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Kind.Error() + ": " + e.Msg
	}
	return e.Kind.Error() + ": " + e.Field + ": " + e.Msg
}

// Unwrap lets errors.Is classify the error by kind.
func (e *FieldError) Unwrap() error { return e.Kind }

// FieldOf returns the field an error blames, or "".
func FieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// MessageOf returns the human part of a store error, without the kind and
// field prefixes, for error bodies that carry the field separately.
func MessageOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Kind: ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func notFound(field, format string, args ...any) error {
	return &FieldError{Kind: ErrNotFound, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func busy(field, format string, args ...any) error {
	return &FieldError{Kind: ErrBusy, Field: field, Msg: fmt.Sprintf(format, args...)}
}
