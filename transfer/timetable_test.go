package transfer

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/drivecp/drivecp/schedule"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.mu.Unlock()
	return ch
}

// pending is the number of waiters not yet woken.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// advance sets the time to t and wakes the waiters due by then.
func (c *fakeClock) advance(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// TestFollowTimetable: the limit changes at the boundaries, across
// midnight, and only there.
func TestFollowTimetable(t *testing.T) {
	tt, err := schedule.ParseTimetable("08:00,512K 23:00,off")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 2, 22, 59, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	l := LimitFor(tt, start, 4<<20)
	if l.Limit() != 512<<10 {
		t.Fatalf("limit at 22:59: %v", l.Limit())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); FollowTimetable(ctx, l, tt, clock) }()

	for _, step := range []struct {
		to    time.Time
		limit rate.Limit
	}{
		{start.Add(30 * time.Second), 512 << 10},            // not yet 23:00: no change
		{start.Add(time.Minute), rate.Inf},                  // 23:00
		{start.Add(9*time.Hour + 59*time.Second), rate.Inf}, // 07:59:59 the next day
		{start.Add(9*time.Hour + time.Minute), 512 << 10},   // 08:00, across midnight
	} {
		deadline := time.Now().Add(5 * time.Second)
		for clock.pending() != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // until FollowTimetable waits for its next boundary
		}
		clock.advance(step.to)
		for l.Limit() != step.limit && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if l.Limit() != step.limit {
			t.Fatalf("at %v: limit %v, want %v", step.to, l.Limit(), step.limit)
		}
	}
	cancel()
	<-done
}

// TestFollowTimetableConstant returns at once for a constant limit.
func TestFollowTimetableConstant(t *testing.T) {
	tt, _ := schedule.ParseTimetable("10M")
	l := LimitFor(tt, time.Now(), 1<<20)
	FollowTimetable(context.Background(), l, tt, SystemClock{})
	if l.Limit() != 10<<20 {
		t.Fatalf("limit %v", l.Limit())
	}
}
