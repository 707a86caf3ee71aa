package transfer

import (
	"context"
	"testing"
	"time"
)

// simLink drives an adaptiveGate the way a transfer does, on a fake clock,
// against a link whose throughput depends on the chunks in flight.
type simLink struct {
	g       *adaptiveGate
	now     time.Time
	retries int64
	pending float64 // bytes moved, not yet a whole chunk
	chunk   float64
	moved   float64
	refused int64
	done    int64

	lastRefusal time.Time
	best        int // what the gate said reached the best rate
}

// retryEvery is how often a refused request comes back: the first
// backoffs of the transfer's retry policy.
const retryEvery = 250 * time.Millisecond

func newSimLink(limit int) *simLink { return newSimLinkFrom(limit, AutoStart{}) }

func newSimLinkFrom(limit int, from AutoStart) *simLink {
	s := &simLink{now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), chunk: 4 << 20}
	s.g = newAdaptiveGateFrom(limit, from, func() int64 { return s.retries }, nil, func(n int) { s.best = n })
	s.g.now = func() time.Time { return s.now }
	s.g.winStart = s.now
	return s
}

// run advances d in 10 ms steps: rate(n) bytes per second move with n in
// flight, and maxConcurrent (0: none) refuses every request beyond it once
// per retryEvery, as a server answering 503 to a client retrying after a
// backoff would.
func (s *simLink) run(d time.Duration, rate func(n int) float64, maxConcurrent int) {
	const step = 10 * time.Millisecond
	for t := time.Duration(0); t < d; t += step {
		s.now = s.now.Add(step)
		n := s.g.current()
		served := n
		if maxConcurrent > 0 && n > maxConcurrent {
			served = maxConcurrent
			if s.now.Sub(s.lastRefusal) >= retryEvery {
				s.lastRefusal = s.now
				s.retries += int64(n - maxConcurrent)
				s.refused += int64(n - maxConcurrent)
			}
		}
		s.pending += rate(served) * step.Seconds()
		for s.pending >= s.chunk {
			s.pending -= s.chunk
			s.moved += s.chunk
			s.done++
			s.g.mu.Lock()
			s.g.inFlight++
			s.g.mu.Unlock()
			s.g.release(int64(s.chunk))
		}
	}
}

// throughput measures the rate over the next d.
func (s *simLink) throughput(d time.Duration, rate func(n int) float64, maxConcurrent int) float64 {
	before := s.moved
	s.run(d, rate, maxConcurrent)
	return (s.moved - before) / d.Seconds()
}

const mb = 1e6

func TestAdaptiveGateFindsTheKnee(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    func(n int) float64
		maxConc int
		best    float64
	}{
		{"40 MB/s total, 10 per connection", func(n int) float64 { return min(10*mb*float64(n), 40*mb) }, 0, 40 * mb},
		{"80 MB/s total, 5 per connection", func(n int) float64 { return min(5*mb*float64(n), 80*mb) }, 0, 80 * mb},
		{"at most 4 at once", func(n int) float64 { return 10 * mb * float64(n) }, 4, 40 * mb},
		{"unshaped, CPU-bound at 6", func(n int) float64 { return 100 * mb * float64(min(n, 6)) / 6 }, 0, 100 * mb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSimLink(32)
			s.run(20*time.Second, tc.rate, tc.maxConc) // find it
			doneBefore, refusedBefore := s.done, s.refused
			got := s.throughput(60*time.Second, tc.rate, tc.maxConc) // and keep it
			if got < 0.95*tc.best {
				t.Errorf("%.1f MB/s at concurrency %d, best is %.1f", got/mb, s.g.current(), tc.best/mb)
			}
			refused := float64(s.refused-refusedBefore) / float64(s.done-doneBefore+s.refused-refusedBefore)
			if refused > 0.02 {
				t.Errorf("%.1f%% of requests refused", 100*refused)
			}
			t.Logf("%.1f MB/s at concurrency %d, %.2f%% refused", got/mb, s.g.current(), 100*refused)
		})
	}
}

// TestAdaptiveGateWarmStart: a run that starts where the last one ended
// (and, where that one was refused, climbs one at a time) moves a short
// transfer at the best rate from its start, where a cold start spends its
// first seconds climbing, and is refused no more than 2% of its requests.
func TestAdaptiveGateWarmStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    func(n int) float64
		maxConc int
		best    float64
	}{
		{"40 MB/s total, 10 per connection", func(n int) float64 { return min(10*mb*float64(n), 40*mb) }, 0, 40 * mb},
		{"80 MB/s total, 5 per connection", func(n int) float64 { return min(5*mb*float64(n), 80*mb) }, 0, 80 * mb},
		{"at most 4 at once", func(n int) float64 { return 10 * mb * float64(n) }, 4, 40 * mb},
		{"unshaped, CPU-bound at 6", func(n int) float64 { return 100 * mb * float64(min(n, 6)) / 6 }, 0, 100 * mb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const short = 6 * time.Second // a 400 MiB image at 70 MB/s
			cold := newSimLink(32)
			coldRate := cold.throughput(short, tc.rate, tc.maxConc)
			cold.run(60*time.Second, tc.rate, tc.maxConc)
			from := AutoStart{Concurrency: cold.best, Refused: cold.refused > 0}
			warm := newSimLinkFrom(32, from)
			warmRate := warm.throughput(short, tc.rate, tc.maxConc)
			refused := float64(warm.refused) / float64(warm.done+warm.refused)
			t.Logf("cold %.1f MB/s, warm from %+v %.1f MB/s (%.2f%% refused), best %.1f",
				coldRate/mb, from, warmRate/mb, 100*refused, tc.best/mb)
			if warmRate < 0.95*tc.best || warmRate < coldRate {
				t.Errorf("warm %.1f MB/s, cold %.1f, best %.1f", warmRate/mb, coldRate/mb, tc.best/mb)
			}
			if refused > 0.02 {
				t.Errorf("%.1f%% of the warm run's requests refused", 100*refused)
			}
		})
	}
}

// TestAdaptiveGateFollowsTheLink: when the link gets faster (each
// connection keeps its cap), the gate climbs to the new knee.
func TestAdaptiveGateFollowsTheLink(t *testing.T) {
	s := newSimLink(32)
	slow := func(n int) float64 { return min(10*mb*float64(n), 40*mb) }
	fast := func(n int) float64 { return min(10*mb*float64(n), 120*mb) }
	s.run(20*time.Second, slow, 0)
	s.run(40*time.Second, fast, 0)
	if got := s.throughput(20*time.Second, fast, 0); got < 0.9*120*mb {
		t.Errorf("after the link tripled: %.1f MB/s at concurrency %d", got/mb, s.g.current())
	}
}

// TestAdaptiveGateAcquire: acquire waits for room and honours ctx.
func TestAdaptiveGateAcquire(t *testing.T) {
	g := newAdaptiveGate(8, func() int64 { return 0 }, nil)
	for range autoStart {
		if err := g.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := g.acquire(ctx); err == nil {
		t.Fatal("acquired past the limit")
	}
	got := make(chan error, 1)
	go func() { got <- g.acquire(context.Background()) }()
	g.release(0)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
