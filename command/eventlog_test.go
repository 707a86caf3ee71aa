package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/retry"
	"github.com/drivecp/drivecp/transfer"
)

// TestPhaseProgressRateAndETA: no rate before the second tick (resumed
// bytes arrive at once); then the rate of the last seconds, and a time
// left that counts the chunks in flight since the last acknowledgement.
func TestPhaseProgressRateAndETA(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	now := t0
	p := &phaseProgress{total: 100 << 20, now: func() time.Time { return now }}
	p.Settled(40 << 20) // done by an earlier run: not toward the rate
	now = t0.Add(time.Second)
	if _, _, _, ok := p.sample(now); ok {
		t.Fatal("a rate from the first tick")
	}
	now = t0.Add(1500 * time.Millisecond)
	p.Add(10 << 20) // 10 MiB/s from here on
	now = t0.Add(2 * time.Second)
	done, rate, eta, ok := p.sample(now)
	if !ok || done != 50<<20 || rate != 10<<20 {
		t.Fatalf("second tick: done %d rate %.0f ok %v", done, rate, ok)
	}
	// 50 MiB left at 10 MiB/s, of which half a second has moved since
	// the last acknowledgement.
	if eta != 4500*time.Millisecond {
		t.Errorf("eta %v, want 4.5s", eta)
	}
	// Past the window, old samples stop counting.
	for i := 3; i <= 9; i++ {
		now = t0.Add(time.Duration(i) * time.Second)
		p.Add(1 << 20)
		_, rate, _, _ = p.sample(now)
	}
	if rate != 1<<20 {
		t.Errorf("rate after the window moved on: %.0f, want %d", rate, 1<<20)
	}
}

// TestEventLogLines: each event is one JSON line with its time; retries
// carry the chunk's offset and HTTP status, stalls are named, and nothing
// that signs a request survives.
func TestEventLogLines(t *testing.T) {
	var out bytes.Buffer
	l, err := openEventLog("-", &out)
	if err != nil {
		t.Fatal(err)
	}
	l.retry(transfer.RetryEvent{Retry: retry.Retry{What: "chunk 3", Attempt: 2, Attempts: 10, Wait: 250 * time.Millisecond,
		Err: &providers.APIError{Op: "write", Status: 503, Message: "busy"}}, Offset: 12 << 20})
	l.retry(transfer.RetryEvent{Retry: retry.Retry{What: "read", Attempt: 3, Attempts: 10,
		Err: fmt.Errorf("get https://h/x?expires=1&sig=abc: %w", providers.ErrStalled)}, Offset: -1})
	l.summary("uploaded", transfer.Summary{LogicalBytes: 5, Chunks: 1})
	if err := l.close(errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["time"])); err != nil {
			t.Errorf("time of %v: %v", ev, err)
		}
		events = append(events, ev)
	}
	if len(events) != 4 {
		t.Fatalf("%d events: %v", len(events), events)
	}
	if e := events[0]; e["event"] != "retry" || e["offset"] != float64(12<<20) || e["status"] != float64(503) || e["wait_ms"] != float64(250) {
		t.Errorf("retry: %v", e)
	}
	if e := events[1]; e["event"] != "stall" || e["offset"] != nil || strings.Contains(fmt.Sprint(e["error"]), "abc") {
		t.Errorf("stall: %v", e)
	}
	if e := events[2]; e["event"] != "summary" || e["logical_bytes"] != float64(5) || e["verb"] != "uploaded" {
		t.Errorf("summary: %v", e)
	}
	if e := events[3]; e["event"] != "end" || e["exit_code"] != float64(ExitFailure) || e["error"] != "boom" {
		t.Errorf("end: %v", e)
	}
}
