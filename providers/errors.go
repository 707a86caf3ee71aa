package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Error kinds every provider maps its failures to, so callers (the command
// layer's exit codes, the retry wrapper) classify with errors.Is and never
// look at message text.
var (
	// ErrNotFound: the drive, snapshot, job or library drive does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAuth: the credentials were refused.
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the credentials are valid but the action is not allowed.
	ErrPermission = errors.New("permission denied")
	// ErrInvalid: the request was rejected as invalid input.
	ErrInvalid = errors.New("invalid request")
	// ErrUnsupported: the provider does not offer this operation.
	ErrUnsupported = errors.New("not supported by this provider")
	// ErrExpired: a signed transfer URL was refused or expired; ask the API
	// for a fresh one.
	ErrExpired = errors.New("transfer URL expired or refused")
	// ErrNotCloudSigma: the endpoint answered, but not like a CloudSigma API.
	ErrNotCloudSigma = errors.New("endpoint does not speak the CloudSigma API")
	// ErrProtocol: the endpoint answered, but not as its cloud's API does.
	// It is ErrNotCloudSigma, the only cloud whose clients report it yet,
	// under a name cloud-neutral code can use.
	ErrProtocol = ErrNotCloudSigma
)

// APIError is an error answered by a provider's API. It matches the error
// kinds above with errors.Is according to its status code and type.
type APIError struct {
	Op         string        // what was attempted, e.g. "create drive"
	Status     int           // HTTP status code
	Type       string        // API 2.0 error_type (validation, notexist, ...), if any
	Message    string        // the API's message
	Point      string        // the field the API blamed (error_point), if any
	RetryAfter time.Duration // from a Retry-After header, if any
}

// Error renders one line: `create drive: 400 validation: size: too small`.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Type != "" {
		s += ": " + e.Type
	}
	if e.Point != "" {
		s += ": " + e.Point
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is maps the status and type to the package's error kinds.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Type == "notexist"
	case ErrAuth:
		return e.Status == http.StatusUnauthorized
	case ErrPermission:
		return e.Status == http.StatusForbidden || e.Type == "permission"
	case ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusLengthRequired ||
			e.Status == http.StatusRequestEntityTooLarge || e.Type == "validation"
	}
	return false
}

// Temporary reports whether the same request may succeed when repeated:
// server errors, gateway timeouts, 409 busy, 429 and 503 concurrency or
// capacity errors.
func (e *APIError) Temporary() bool {
	switch {
	case e.Status >= 500, e.Status == http.StatusConflict, e.Status == http.StatusTooManyRequests,
		e.Status == http.StatusRequestTimeout, e.Type == "concurrency":
		return true
	}
	return false
}

// ErrStalled is returned when a request makes no progress for the stall
// timeout. It is retryable.
var ErrStalled = errors.New("transfer stalled")

// IsRetryable reports whether err is worth retrying: temporary API errors,
// stalls, timeouts, resets and truncated bodies. Cancellation of the caller's
// context is never retryable.
func IsRetryable(err error) bool {
	if errors.Is(err, ErrExpired) {
		// Checked before the permission kinds it also matches: a refused
		// signed URL is cured by asking the API for a fresh one.
		return true
	}
	var tooMany *APIError
	if errors.As(err, &tooMany) && tooMany.Status == http.StatusTooManyRequests {
		// A request limit says "later" whatever its body calls the error.
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalid) ||
		errors.Is(err, ErrAuth) || errors.Is(err, ErrPermission) || errors.Is(err, ErrNotFound) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	if errors.Is(err, ErrStalled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound // a name that does not exist will not appear on retry
	}
	// Failures of the connection itself; *url.Error also implements
	// net.Error, so look below it rather than at it.
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return false
}

// RetryAfter returns the server's requested delay, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter, true
	}
	return 0, false
}
