package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"
)

func TestAPIErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		err  *APIError
		kind error
		temp bool
	}{
		{&APIError{Status: 404}, ErrNotFound, false},
		{&APIError{Status: 400, Type: "notexist"}, ErrNotFound, false},
		{&APIError{Status: 401}, ErrAuth, false},
		{&APIError{Status: 403, Type: "permission"}, ErrPermission, false},
		{&APIError{Status: 400, Type: "validation"}, ErrInvalid, false},
		{&APIError{Status: 503, Type: "concurrency"}, nil, true},
		{&APIError{Status: 409}, nil, true},
		{&APIError{Status: 500}, nil, true},
		// A request limit: retried whatever its body calls the error.
		{&APIError{Status: 429}, nil, true},
		{&APIError{Status: 429, Type: "permission"}, ErrPermission, true},
	} {
		wrapped := fmt.Errorf("upload: %w", tc.err)
		if tc.kind != nil && !errors.Is(wrapped, tc.kind) {
			t.Errorf("%v: not %v", tc.err, tc.kind)
		}
		if got := IsRetryable(wrapped); got != tc.temp {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.temp)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	reset := &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{reset, true},
		{io.ErrUnexpectedEOF, true},
		{ErrStalled, true},
		{fmt.Errorf("range: %w: %w", ErrExpired, &APIError{Status: 403}), true},
		{&url.Error{Op: "Get", URL: "ftp://x", Err: errors.New("unsupported protocol scheme")}, false},
		{&url.Error{Op: "Get", URL: "http://nosuch.invalid", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, false},
		{fmt.Errorf("write: %w", ErrInvalid), false},
		{errors.New("something else"), false},
	} {
		if got := IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if d, ok := RetryAfter(fmt.Errorf("w: %w", &APIError{Status: 503, RetryAfter: 2 * time.Second})); !ok || d != 2*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
}
