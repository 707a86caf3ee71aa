package transfer

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/drivecp/drivecp/schedule"
)

// Clock is the time source of FollowTimetable; tests pass a fake one.
type Clock interface {
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// LimitFor returns a limiter that caps bytes per second across the workers
// of a transfer at the timetable's current rate, with bursts of burst bytes
// (one chunk, so every request goes out whole while the average stays at
// the limit).
func LimitFor(tt schedule.Timetable, now time.Time, burst int) *rate.Limiter {
	return rate.NewLimiter(limitOf(tt.At(now)), burst)
}

// FollowTimetable changes l's limit at each boundary of tt until ctx ends,
// so a transfer that runs across 08:00 slows down at 08:00. It returns at
// once for a timetable whose rate never changes. Run it in a goroutine.
func FollowTimetable(ctx context.Context, l *rate.Limiter, tt schedule.Timetable, clock Clock) {
	for {
		now := clock.Now()
		l.SetLimitAt(now, limitOf(tt.At(now)))
		next := tt.NextChange(now)
		if next.IsZero() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-clock.After(next.Sub(now)):
		}
	}
}

// limitOf converts a timetable rate to the limiter's.
func limitOf(bps int64) rate.Limit {
	if bps == schedule.Unlimited {
		return rate.Inf
	}
	return rate.Limit(bps)
}
