package retry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers"
)

var (
	busy    = &providers.APIError{Op: "x", Status: http.StatusServiceUnavailable, Type: "concurrency"}
	invalid = &providers.APIError{Op: "x", Status: http.StatusBadRequest, Type: "validation"}
	fast    = Policy{Base: time.Microsecond, Max: time.Millisecond}
)

func TestDo(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         Policy
		errs      []error // answers of the attempts, in order; then success
		wantCalls int
		wantErr   error
		wantText  string
	}{
		{"success at once", fast, nil, 1, nil, ""},
		{"retryable then success", fast, []error{busy, busy}, 3, nil, ""},
		{"not retryable", fast, []error{invalid}, 1, providers.ErrInvalid, ""},
		{"gives up after the attempts", Policy{Attempts: 3, Base: time.Microsecond}, []error{busy, busy, busy, busy}, 3, busy, "gave up after 3 attempts"},
		{"no retries with one attempt", Policy{Attempts: 1}, []error{busy}, 1, busy, "gave up after 1 attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, retries := 0, 0
			p := tc.p
			p.OnRetry = func(Retry) { retries++ }
			err := p.Do(context.Background(), "thing", func(context.Context) error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || retries != calls-1 {
				t.Errorf("calls %d, retries %d; want %d and one less", calls, retries, tc.wantCalls)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)) {
				t.Errorf("err = %v, want it to say %q", err, tc.wantText)
			}
		})
	}
}

func TestDoHonoursRetryAfterAndElapsed(t *testing.T) {
	slow := &providers.APIError{Op: "x", Status: http.StatusServiceUnavailable, RetryAfter: time.Hour}
	p := Policy{MaxElapsed: 50 * time.Millisecond, Max: time.Hour}
	start := time.Now()
	err := p.Do(context.Background(), "thing", func(context.Context) error { return slow })
	if err == nil || !strings.Contains(err.Error(), "gave up after 1 attempts in") || time.Since(start) > time.Second {
		t.Errorf("a Retry-After beyond MaxElapsed: %v after %s; want an at-once give-up", err, time.Since(start))
	}
	if d := (Policy{Max: time.Second}).Backoff(1, &providers.APIError{Status: 503, RetryAfter: 200 * time.Millisecond}); d != 200*time.Millisecond {
		t.Errorf("Backoff with Retry-After 200ms = %s", d)
	}
}

func TestDoStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Base: time.Hour, Max: time.Hour, MaxElapsed: 2 * time.Hour}
	done := make(chan error, 1)
	go func() { done <- p.Do(ctx, "thing", func(context.Context) error { return busy }) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not stop on cancel")
	}
}

// countingDrives fails every call once with a retryable error.
type countingDrives struct {
	providers.DriveService
	calls map[string]int
}

func (c *countingDrives) fail(op string) error {
	c.calls[op]++
	if c.calls[op] == 1 {
		return busy
	}
	return nil
}

func (c *countingDrives) ListDrives(context.Context, providers.DriveFilter) ([]providers.Drive, error) {
	return nil, c.fail("list")
}

func (c *countingDrives) GetDrive(context.Context, string) (providers.Drive, error) {
	return providers.Drive{}, c.fail("get")
}

func (c *countingDrives) CreateDrive(context.Context, providers.DriveSpec) (providers.Drive, error) {
	return providers.Drive{}, c.fail("create")
}

func (c *countingDrives) DeleteDrives(context.Context, ...string) error { return c.fail("delete") }

func TestWrapRepeatsOnlyWhatIsSafe(t *testing.T) {
	c := &countingDrives{calls: map[string]int{}}
	s := Wrap(providers.Services{Drives: c}, fast)
	ctx := context.Background()
	if _, err := s.Drives.ListDrives(ctx, providers.DriveFilter{}); err != nil {
		t.Errorf("list: %v", err)
	}
	if _, err := s.Drives.GetDrive(ctx, "d"); err != nil {
		t.Errorf("get: %v", err)
	}
	if _, err := s.Drives.CreateDrive(ctx, providers.DriveSpec{}); !errors.Is(err, busy) {
		t.Errorf("create: %v, want the first failure, unrepeated", err)
	}
	if err := s.Drives.DeleteDrives(ctx, "d"); !errors.Is(err, busy) {
		t.Errorf("delete: %v, want the first failure, unrepeated", err)
	}
	want := map[string]int{"list": 2, "get": 2, "create": 1, "delete": 1}
	for op, n := range want {
		if c.calls[op] != n {
			t.Errorf("%s called %d times, want %d", op, c.calls[op], n)
		}
	}
	if s.Snapshots != nil || s.Servers != nil {
		t.Errorf("Wrap filled in absent services: %+v", s)
	}
}
