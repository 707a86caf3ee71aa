package transfer

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// gate bounds the chunks in flight: a fixed number of them, or as many as
// an adaptiveGate finds worth it.
type gate interface {
	// acquire waits for room for one more chunk.
	acquire(ctx context.Context) error
	// release frees a chunk's room; moved is the bytes it moved when it
	// succeeded (0 when it failed or moved nothing).
	release(moved int64)
	// max is the most chunks the gate may ever let in at once, which
	// sizes buffers and workers.
	max() int
}

// fixedGate lets n chunks in at once.
type fixedGate struct {
	sem *semaphore.Weighted
	n   int
}

func newFixedGate(n int) *fixedGate {
	return &fixedGate{sem: semaphore.NewWeighted(int64(n)), n: n}
}

func (g *fixedGate) acquire(ctx context.Context) error { return g.sem.Acquire(ctx, 1) }
func (g *fixedGate) release(int64)                     { g.sem.Release(1) }
func (g *fixedGate) max() int                          { return g.n }

// Tuning of the adaptive gate.
const (
	// autoStart is where the search starts: enough to fill a fast link
	// quickly, few enough not to trip a server's limit at once.
	autoStart = 4
	// autoMinWindow is the shortest stretch a rate is measured over; a
	// window also waits for as many chunks as are in flight, so that a
	// rate is never one chunk's.
	autoMinWindow = 500 * time.Millisecond
	// autoGain is the improvement that counts as one: noise on a shared
	// link is a few percent. autoLeap is one so large that the knee is far
	// off: the concurrency doubles instead of growing by half.
	autoGain = 1.05
	autoLeap = 1.3
	// autoLoss is the fall that says the link changed or the concurrency
	// went past what helps.
	autoLoss = 0.8
	// autoProbeEvery is how many windows without a gain pass before one
	// more chunk in flight is tried, so a link that got faster is found.
	autoProbeEvery = 4
	// autoRefusedShare of refused (retried) requests in a window means
	// too many at once: back off, and do not try that many again for
	// autoCeilingWindows windows.
	autoRefusedShare   = 0.05
	autoCeilingWindows = 60
	// autoWarmWindows are the windows a warm start (AutoStart) spends
	// measuring the concurrency it was given before it moves.
	autoWarmWindows = 2
)

// adaptiveGate finds the concurrency that maximises acknowledged
// throughput by climbing: while more chunks in flight raise the rate, it
// adds half as many again; when they do not, it goes back to the fewest
// that reached the best rate, holds there and now and then tries one more,
// so it follows a link that gets faster; when the rate falls at that best
// concurrency it takes the lower rate as the link's new one; when the
// server refuses requests (retries), it backs off by a quarter and keeps
// below that for a while.
type adaptiveGate struct {
	mu       sync.Mutex
	lim      int // chunks allowed in flight now
	ceiling  int // lim may not reach it until ceilingLeft windows pass
	limit    int // the most ever
	inFlight int
	wake     chan struct{} // closed when room may have appeared

	retries  func() int64 // requests retried so far
	now      func() time.Time
	onChange func(limit int)
	onBest   func(limit int)

	winStart    time.Time
	winBytes    int64
	winDone     int
	winRetries  int64 // retries() at the window's start
	best        float64
	bestLim     int
	plateau     int
	ceilingLeft int
	// warm: lim came from an earlier run, so the first windows only
	// measure it; cautious: that run was refused requests, so climbing
	// goes one chunk at a time.
	warm, cautious bool
	windows        int // windows ended so far
}

// AutoStart is what an earlier run of the same transfer learnt, for
// AutoConcurrency to start from instead of climbing from 4 again.
type AutoStart struct {
	// Concurrency is the value it ended at (0: none, start at 4).
	Concurrency int
	// Refused is true when the server refused (or failed) some of its
	// requests: the limit lies near, so go above it one at a time.
	Refused bool
}

func newAdaptiveGate(limit int, retries func() int64, onChange func(int)) *adaptiveGate {
	return newAdaptiveGateFrom(limit, AutoStart{}, retries, onChange, nil)
}

// newAdaptiveGateFrom is an adaptive gate that starts where from says.
// onBest, when not nil, hears the fewest chunks in flight that reached the
// best rate so far each time that changes: where a later run may start.
func newAdaptiveGateFrom(limit int, from AutoStart, retries func() int64, onChange, onBest func(int)) *adaptiveGate {
	start := autoStart
	if from.Concurrency > 0 {
		start = from.Concurrency
	}
	g := &adaptiveGate{lim: max(1, min(start, limit)), limit: limit, ceiling: limit + 1, wake: make(chan struct{}),
		retries: retries, now: time.Now, onChange: onChange, onBest: onBest, warm: from.Concurrency > 0, cautious: from.Refused}
	g.winStart, g.winRetries = g.now(), retries()
	if onChange != nil {
		onChange(g.lim)
	}
	return g
}

func (g *adaptiveGate) acquire(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.inFlight < g.lim {
			g.inFlight++
			g.mu.Unlock()
			return nil
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

func (g *adaptiveGate) release(moved int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if moved > 0 {
		g.winBytes += moved
		g.winDone++
	}
	g.adjustLocked()
	close(g.wake)
	g.wake = make(chan struct{})
}

func (g *adaptiveGate) max() int { return g.limit }

// current returns the concurrency in force.
func (g *adaptiveGate) current() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lim
}

// adjustLocked ends the window once it is long enough and moves lim.
func (g *adaptiveGate) adjustLocked() {
	now := g.now()
	elapsed := now.Sub(g.winStart)
	if g.lim > g.bestLim && g.bestLim > 0 && g.retries() > g.winRetries {
		// Refused while trying more than a concurrency known to work:
		// back to it at once, each refusal costs a request, and try no
		// more than it for a while: the server's limit lies in between.
		old := g.lim
		g.ceiling, g.ceilingLeft = g.bestLim+1, autoCeilingWindows
		g.lim, g.plateau = g.bestLim, 0
		g.winStart, g.winBytes, g.winDone, g.winRetries = now, 0, 0, g.retries()
		if g.onChange != nil && g.lim != old {
			g.onChange(g.lim)
		}
		return
	}
	if elapsed < autoMinWindow || g.winDone < g.lim {
		return
	}
	rate := float64(g.winBytes) / elapsed.Seconds()
	refused := g.retries() - g.winRetries
	old, oldBest := g.lim, g.bestLim
	if g.ceilingLeft > 0 {
		if g.ceilingLeft--; g.ceilingLeft == 0 {
			g.ceiling = g.limit + 1
		}
	}
	switch {
	case g.warm && g.windows < autoWarmWindows && refused == 0:
		// A concurrency that served an earlier run: measure it before
		// trying more (the plateau's probes do). The first window is
		// short of a full one (the chunks start together), so a rise in
		// the next is no reason to climb.
		g.best, g.bestLim, g.plateau = max(g.best, rate), g.lim, 0
	case float64(refused) > autoRefusedShare*float64(g.winDone+int(refused)):
		// Too many at once for the server: back off and stay below.
		g.ceiling, g.ceilingLeft = g.lim, autoCeilingWindows
		g.lim = max(1, g.lim-max(1, g.lim/4))
		g.best, g.bestLim, g.plateau = 0, g.lim, 0
	case rate > g.best*autoGain:
		step := max(1, g.lim/2)
		switch {
		case g.cautious:
			step = 1 // refusals were seen near here
		case rate > g.best*autoLeap:
			step = g.lim
		}
		g.best, g.bestLim, g.plateau = rate, g.lim, 0
		g.lim += step
	case rate < g.best*autoLoss:
		if g.lim > g.bestLim {
			g.lim = g.bestLim // past what helps
		} else {
			g.best = rate // the link got slower: measure from here
		}
		g.plateau = 0
	case g.lim > g.bestLim:
		// More in flight bought nothing: go back to the fewest that
		// reached the best rate.
		g.lim, g.plateau = g.bestLim, 0
	default:
		if g.plateau++; g.plateau >= autoProbeEvery {
			g.plateau = 0
			g.lim++
		}
	}
	g.lim = max(1, min(g.lim, g.limit, g.ceiling-1))
	g.windows++
	g.winStart, g.winBytes, g.winDone, g.winRetries = now, 0, 0, g.retries()
	if g.lim != old && g.onChange != nil {
		g.onChange(g.lim)
	}
	if g.bestLim != oldBest && g.bestLim > 0 && g.onBest != nil {
		g.onBest(g.bestLim)
	}
}

// chosen is the concurrency an adaptive gate ended at, 0 for a fixed one.
func chosen(g gate) int {
	if a, ok := g.(*adaptiveGate); ok {
		return a.current()
	}
	return 0
}

// slot is one chunk's room in a gate, held by the goroutine working on
// the chunk. Under an adaptive gate a request that is refused and waits to
// retry gives its room up and queues for it again before the next attempt
// (rejoin), so a concurrency the gate has just lowered is not exceeded by
// requests that were already in flight, which the server would keep
// refusing.
type slot struct {
	g    gate
	held bool
}

type slotKey struct{}

// withSlot returns ctx carrying s, for rejoin; only adaptive gates' slots
// are carried.
func withSlot(ctx context.Context, s *slot) context.Context {
	if _, ok := s.g.(*adaptiveGate); !ok {
		return ctx
	}
	return context.WithValue(ctx, slotKey{}, s)
}

// rejoin gives up the room of ctx's slot, if it carries one, and waits for
// room again.
func rejoin(ctx context.Context) error {
	s, ok := ctx.Value(slotKey{}).(*slot)
	if !ok || !s.held {
		return nil
	}
	s.g.release(0)
	s.held = false
	if err := s.g.acquire(ctx); err != nil {
		return err
	}
	s.held = true
	return nil
}

// done releases the slot's room, if it still holds it.
func (s *slot) done(moved int64) {
	if s.held {
		s.held = false
		s.g.release(moved)
	}
}
