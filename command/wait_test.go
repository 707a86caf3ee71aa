package command

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/internal/poll"
	"github.com/drivecp/drivecp/providers"
)

func TestPollToleratesTemporaryErrors(t *testing.T) {
	busy := &providers.APIError{Op: "get job j", Status: http.StatusServiceUnavailable, Type: "concurrency"}
	calls := 0
	err := waitFor(context.Background(), fastWait, "job j", func(context.Context) (bool, string, error) {
		calls++
		if calls <= 2 {
			return false, "", busy
		}
		return calls == 4, "started", nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("poll = %v after %d calls, want success after 4", err, calls)
	}

	calls = 0
	err = waitFor(context.Background(), fastWait, "job j", func(context.Context) (bool, string, error) {
		calls++
		return false, "", busy
	})
	if !errors.Is(err, busy) || calls != poll.MaxFailures+1 {
		t.Errorf("endless 503: %v after %d calls", err, calls)
	}

	gone := &providers.APIError{Op: "get job j", Status: http.StatusNotFound}
	calls = 0
	err = waitFor(context.Background(), fastWait, "job j", func(context.Context) (bool, string, error) {
		calls++
		return false, "", gone
	})
	if !errors.Is(err, providers.ErrNotFound) || calls != 1 {
		t.Errorf("404 must end the wait at once: %v after %d calls", err, calls)
	}
}

func TestPollTimeoutAndCancel(t *testing.T) {
	o := fastWait
	o.Timeout = 10 * time.Millisecond
	var progress bytes.Buffer
	o.Progress = &progress
	err := waitFor(context.Background(), o, "clone of x", func(context.Context) (bool, string, error) { return false, "cloning_dst 40%", nil })
	if !errors.Is(err, errWaitTimeout) || !strings.Contains(err.Error(), "last status: cloning_dst 40%") {
		t.Errorf("timeout: %v", err)
	}
	if p := progress.String(); !strings.Contains(p, "\r\x1b[Kclone of x: cloning_dst 40% (") || !strings.HasSuffix(p, "\n") {
		t.Errorf("progress = %q", p)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitFor(ctx, fastWait, "x", func(context.Context) (bool, string, error) { return false, "", nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
