package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/time/rate"

	"github.com/drivecp/drivecp/schedule"
	"github.com/drivecp/drivecp/transfer"
)

// Flags of the time-of-day rules of transfers on shared links.
const (
	flagBWLimit = "bwlimit"
	flagWindow  = "window"
)

func bwlimitFlag() cli.Flag {
	return &cli.StringFlag{Name: flagBWLimit,
		Usage: "bandwidth limit across all workers: 50M, or a timetable such as \"08:00,512K 12:00,10M 23:00,off\" (rclone's syntax; Mon-08:00,1M for days)"}
}

func windowFlag() cli.Flag {
	return &cli.StringFlag{Name: flagWindow,
		Usage: "transfer only between these times of day, e.g. 22:00-06:00; at the end the run stops, keeps its progress and exits 5"}
}

// bandwidthLimiter returns the limiter --bwlimit asks for, nil without one.
// A timetable's limit follows the clock for as long as the command runs.
// burst is the largest request (one chunk), so every request goes out
// whole while the average stays at the limit.
func bandwidthLimiter(c *cli.Context, burst int64) (*rate.Limiter, error) {
	s := c.String(flagBWLimit)
	if s == "" {
		return nil, nil
	}
	tt, err := schedule.ParseTimetable(s)
	if err != nil {
		return nil, withHint(usageErrorf("--bwlimit: %v", err), "give bytes per second such as 50M, or a timetable such as \"08:00,512K 23:00,off\"")
	}
	now := time.Now()
	l := transfer.LimitFor(tt, now, int(max(burst, 64<<10)))
	if !tt.NextChange(now).IsZero() {
		go transfer.FollowTimetable(c.Context, l, tt, transfer.SystemClock{})
	}
	return l, nil
}

// errWindowClosed is the cause of a run's context when its --window ends.
var errWindowClosed = errors.New("the transfer window closed")

// withWindow runs action inside the --window: outside it the command does
// nothing and exits 5 (the next run in the window does the work); inside,
// its context ends when the window does, which stops the transfer as
// Ctrl-C would (progress saved, the chunks in flight redone next time) and
// says why.
func withWindow(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		s := c.String(flagWindow)
		if s == "" {
			return action(c)
		}
		w, err := schedule.ParseWindow(s)
		if err != nil {
			return usageErrorf("--window: %v", err)
		}
		now := time.Now()
		if !w.Open(now) {
			return &resumableError{Err: withHint(fmt.Errorf("outside the transfer window %s: nothing was done", w),
				"it opens at %s: run the same command then", w.Opens(now).Format("15:04:05"))}
		}
		parent := c.Context
		ctx, cancel := context.WithDeadlineCause(parent, w.Closes(now), errWindowClosed)
		defer cancel()
		c.Context = ctx
		err = action(c)
		c.Context = parent
		if err != nil && errors.Is(context.Cause(ctx), errWindowClosed) && parent.Err() == nil &&
			(ExitCode(err) == ExitInterrupted || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			// Cut short on purpose, with its progress saved: exit 5, so
			// the next run in the window continues.
			return &resumableError{Err: fmt.Errorf("the transfer window %s closed: %w", w, err)}
		}
		return err
	}
}
