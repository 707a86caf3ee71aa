// Package poll waits for asynchronous work (a clone, a job, a drive that
// is being created or assembled) by asking until it is done, with
// exponential backoff and a timeout, tolerating a few temporary errors.
package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// Defaults of Options.
const (
	DefaultTimeout = 30 * time.Minute
	// The first poll comes soon (a small clone is done in a second or two),
	// then the interval grows by half up to the maximum: a job is noticed
	// at most half its duration late, and a 30-minute wait stays a few
	// hundred requests, far below the APIs' rate limits.
	DefaultInterval    = 250 * time.Millisecond
	DefaultMaxInterval = 5 * time.Second
	// MaxFailures is how many temporary errors in a row a wait tolerates.
	MaxFailures = 5
)

// ErrTimeout marks a wait that ran out of time; the operation itself goes
// on.
var ErrTimeout = errors.New("timed out waiting")

// Options bound a wait.
type Options struct {
	// Timeout bounds the whole wait; 0 means DefaultTimeout.
	Timeout time.Duration
	// Progress receives a status line rewritten in place while waiting;
	// nil prints nothing (not a terminal, or --quiet).
	Progress io.Writer
	// Interval and MaxInterval bound the exponential backoff between polls;
	// zero means the defaults. Tests shorten them.
	Interval, MaxInterval time.Duration
}

// Check asks once whether the awaited operation is done. status is shown in
// the progress line and named by a timeout error.
type Check func(ctx context.Context) (done bool, status string, err error)

// Until calls check until it reports done, sleeping with exponential
// backoff between calls (the first call comes after one interval), for at
// most o.Timeout. what names the operation in the progress line and in a
// timeout error, which wraps ErrTimeout. A cancelled ctx returns ctx.Err().
func Until(ctx context.Context, o Options, what string, check Check) error {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	delay, maxDelay := o.Interval, o.MaxInterval
	if delay <= 0 {
		delay = DefaultInterval
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxInterval
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	shown := false
	defer func() {
		if shown {
			fmt.Fprintln(o.Progress)
		}
	}()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	status := ""
	failures := 0 // consecutive retryable errors
	for {
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return timeoutError(what, timeout, status)
		case <-timer.C:
		}
		done, st, err := check(wctx)
		switch {
		case err == nil:
			failures = 0
		case ctx.Err() == nil && wctx.Err() != nil:
			return timeoutError(what, timeout, status)
		case providers.IsRetryable(err) && ctx.Err() == nil && failures < MaxFailures:
			// A long wait must not end on one 503 or reset: the operation
			// goes on regardless, so ask again after the next interval.
			failures++
			delay = min(delay*3/2, maxDelay)
			timer.Reset(delay)
			continue
		default:
			return err
		}
		status = st
		if o.Progress != nil {
			// \r and erase-line rewrite one status line in place.
			fmt.Fprintf(o.Progress, "\r\x1b[K%s: %s (%s)", what, st, time.Since(start).Round(time.Second))
			shown = true
		}
		if done {
			return nil
		}
		delay = min(delay*3/2, maxDelay)
		timer.Reset(delay)
	}
}

func timeoutError(what string, timeout time.Duration, status string) error {
	if status != "" {
		return fmt.Errorf("%w for %s after %s (last status: %s); it goes on in the background", ErrTimeout, what, timeout, status)
	}
	return fmt.Errorf("%w for %s after %s; it goes on in the background", ErrTimeout, what, timeout)
}
