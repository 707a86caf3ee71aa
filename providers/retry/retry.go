// Package retry repeats provider requests that failed for a reason that may
// pass (providers.IsRetryable: 5xx, 409/503 concurrency answers, resets,
// timeouts, stalls), with exponential backoff and full jitter, honouring
// Retry-After. It is the one retry loop of drivecp: the transfer engine runs
// each chunk through Policy.Do, and Wrap puts a provider's management
// services behind it once, when the provider is opened (restic's retry
// backend is the model).
//
// What Wrap repeats: reads (lists, lookups) and edits that send a whole
// definition, which are safe to repeat. Creations, clones, resizes,
// deletions, restores and power actions go once: repeating one whose answer
// was lost would act twice, or report a failure for what succeeded; the
// caller tells the user how to check instead.
package retry

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// Policy governs how one request is repeated. Zero fields take defaults.
type Policy struct {
	// Attempts is the most tries per request, the first included (default
	// 10; 1 disables retries).
	Attempts int
	// MaxElapsed bounds the time one request may spend retrying (default
	// 5 minutes).
	MaxElapsed time.Duration
	// Base is the first backoff ceiling (default 250 ms); it doubles per
	// attempt up to Max (default 30 s). The sleep is uniform in [0, ceiling]
	// (full jitter), or the server's Retry-After when it sent one.
	Base, Max time.Duration
	// Logger, when set, receives one line per retry.
	Logger *log.Logger
	// OnRetry, when set, is called before each repeated attempt (counters,
	// event logs), from the goroutine that runs Do.
	OnRetry func(Retry)
}

// WithDefaults returns p with its zero fields set to the defaults.
func (p Policy) WithDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = 10
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 5 * time.Minute
	}
	if p.Base <= 0 {
		p.Base = 250 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	return p
}

// Backoff returns the sleep before retry number n (1-based) after err.
func (p Policy) Backoff(n int, err error) time.Duration {
	p = p.WithDefaults()
	if d, ok := providers.RetryAfter(err); ok {
		return min(d, p.Max)
	}
	ceil := p.Base << min(n-1, 20)
	if ceil <= 0 || ceil > p.Max {
		ceil = p.Max
	}
	return rand.N(ceil + 1)
}

// Retry describes one repeated attempt, for Policy.OnRetry.
type Retry struct {
	What     string        // the request, as Do names it
	Attempt  int           // the attempt about to run, 2 or more
	Attempts int           // the most attempts the policy makes
	Wait     time.Duration // the sleep before it
	Err      error         // why the previous attempt failed
}

// Do runs attempt until it succeeds, fails with an error that is not
// retryable, or runs out of attempts or time; what names the request in log
// lines. Cancellation of ctx ends it with ctx's cause.
func (p Policy) Do(ctx context.Context, what string, attempt func(ctx context.Context) error) error {
	p = p.WithDefaults()
	start := time.Now()
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !providers.IsRetryable(err) {
			return err
		}
		if n >= p.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, n)
		}
		d := p.Backoff(n, err)
		if time.Since(start)+d > p.MaxElapsed {
			return fmt.Errorf("%w (gave up after %d attempts in %s)", err, n, time.Since(start).Round(time.Millisecond))
		}
		if p.OnRetry != nil {
			p.OnRetry(Retry{What: what, Attempt: n + 1, Attempts: p.Attempts, Wait: d, Err: err})
		}
		if p.Logger != nil {
			p.Logger.Printf("retrying %s in %s (attempt %d of %d): %v", what, d.Round(time.Millisecond), n+1, p.Attempts, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// Value is Do for a request that returns a value.
func Value[T any](ctx context.Context, p Policy, what string, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := p.Do(ctx, what, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}
