package transfer

import (
	"testing"
	"time"
)

// TestSummaryRateOnlyWhenMeaningful: a run that sent nothing (every chunk
// already done) or ran for a blink states no rate; one that sent bytes for
// long enough does.
func TestSummaryRateOnlyWhenMeaningful(t *testing.T) {
	var none counters
	s := Summary{LogicalBytes: 41 << 20}
	s.finish(time.Now().Add(-time.Second), &none)
	if s.MBps != 0 || s.WireMBps != 0 {
		t.Errorf("nothing sent: rates %.1f/%.1f MB/s, want none", s.MBps, s.WireMBps)
	}
	var blink counters
	blink.wire.Store(1 << 20)
	s = Summary{LogicalBytes: 41 << 20}
	s.finish(time.Now(), &blink)
	if s.MBps != 0 {
		t.Errorf("a blink of a run: rate %.1f MB/s, want none", s.MBps)
	}
	var sent counters
	sent.wire.Store(2e6)
	s = Summary{LogicalBytes: 2e6}
	s.finish(time.Now().Add(-time.Second), &sent)
	if s.MBps < 1 || s.MBps > 2.1 || s.WireMBps < 1 {
		t.Errorf("2 MB in about 1s: rates %.2f/%.2f MB/s", s.MBps, s.WireMBps)
	}
}
