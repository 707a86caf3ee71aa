package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/drivecp/drivecp/internal/poll"
	"github.com/drivecp/drivecp/providers"
)

// defaultWaitTimeout is the --timeout of asynchronous commands.
const defaultWaitTimeout = poll.DefaultTimeout

// Names of the flags every asynchronous command shares.
const (
	flagNoWait  = "no-wait"
	flagTimeout = "timeout"
)

// waitFlags are the flags of the commands that start asynchronous work.
func waitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagNoWait, Usage: "print the new ID at once instead of waiting for the operation to finish (the operation's ID where only it can be followed, for 'drivecp job wait')"},
		&cli.DurationFlag{Name: flagTimeout, Value: defaultWaitTimeout, Usage: "give up waiting after this long (the operation goes on)"},
	}
}

// waitOptions says whether and how to wait for an asynchronous operation.
type waitOptions struct {
	NoWait  bool
	Timeout time.Duration // 0: defaultWaitTimeout
	// Progress receives a status line rewritten in place while waiting;
	// nil prints nothing (not a terminal, or --quiet).
	Progress io.Writer
	// Notes receives the note that says what a change not waited for is
	// doing; nil (--quiet) prints none.
	Notes io.Writer
	// Interval and MaxInterval bound the exponential backoff between polls;
	// zero means the defaults. Tests shorten them.
	Interval, MaxInterval time.Duration
}

// waitOptionsFrom reads the wait flags and decides where progress goes.
func waitOptionsFrom(c *cli.Context) waitOptions {
	o := waitOptions{NoWait: c.Bool(flagNoWait), Timeout: c.Duration(flagTimeout)}
	if !c.Bool(flagQuiet) {
		o.Notes = c.App.ErrWriter
		if isTerminal(c.App.ErrWriter) {
			o.Progress = c.App.ErrWriter
		}
	}
	return o
}

// isTerminal reports whether w (or r) is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// errWaitTimeout marks a wait that ran out of time; the operation itself
// goes on.
var errWaitTimeout = poll.ErrTimeout

// pollFunc checks once whether the awaited operation is done. status is
// shown in the progress line.
type pollFunc = poll.Check

// waitFor calls check until it reports done, sleeping with exponential
// backoff between calls, for at most o.Timeout (poll.Until). what names
// the operation in the progress line and in a timeout error.
func waitFor(ctx context.Context, o waitOptions, what string, check pollFunc) error {
	return poll.Until(ctx, poll.Options{Timeout: o.Timeout, Progress: o.Progress, Interval: o.Interval, MaxInterval: o.MaxInterval}, what, check)
}

// jobStatus is a job's state word and, where the API tells it, its
// progress, for the progress line.
func jobStatus(j providers.Job) string {
	if j.Progress < 0 {
		return j.Status
	}
	return fmt.Sprintf("%s %d%%", j.Status, j.Progress)
}

// waitDrive waits until drive d leaves its transitional status and, when it
// names a job and jobs is not nil, until that job has succeeded, showing the
// job's progress. It returns the drive as it is at the end. what names the
// operation ("clone of X").
func waitDrive(ctx context.Context, drives providers.DriveService, jobs providers.JobService,
	d providers.Drive, what string, o waitOptions) (providers.Drive, error) {
	jobID := ""
	if jobs != nil && len(d.Jobs) > 0 {
		// A drive lists its past jobs too; the operation just started is
		// the last.
		jobID = d.Jobs[len(d.Jobs)-1]
	}
	if d.State.Settled() && jobID == "" {
		return d, nil
	}
	cur := d
	err := waitFor(ctx, o, what, func(ctx context.Context) (bool, string, error) {
		jobState, progress := providers.StateReady, -1
		if jobID != "" {
			j, err := jobs.GetJob(ctx, jobID)
			switch {
			case errors.Is(err, providers.ErrNotFound):
				jobID = "" // finished jobs may be purged: the drive status tells the rest
			case err != nil:
				return false, "", err
			case j.State == providers.StateFailed:
				return false, "", fmt.Errorf("%s: job %s %s", what, j.UUID, j.Status)
			default:
				jobState, progress = j.State, j.Progress
			}
		}
		got, err := drives.GetDrive(ctx, d.UUID)
		if err != nil {
			return false, "", err
		}
		cur = got
		status := got.Status
		if progress >= 0 {
			status = fmt.Sprintf("%s %d%%", status, progress)
		}
		done := got.State.Settled() && jobState == providers.StateReady
		return done, status, nil
	})
	return cur, err
}

// waitJob waits until a job leaves the started state; a failed job is an
// error.
func waitJob(ctx context.Context, jobs providers.JobService, uuid string, o waitOptions) (providers.Job, error) {
	var cur providers.Job
	check := func(ctx context.Context) (bool, string, error) {
		j, err := jobs.GetJob(ctx, uuid)
		if err != nil {
			return false, "", err
		}
		cur = j
		if j.State == providers.StateFailed {
			return false, "", fmt.Errorf("job %s (%s) %s", j.UUID, j.Operation, j.Status)
		}
		return j.State == providers.StateReady, jobStatus(j), nil
	}
	// A job that is already over needs no wait at all.
	if done, _, err := check(ctx); err != nil || done {
		return cur, err
	}
	err := waitFor(ctx, o, "job "+uuid, check)
	return cur, err
}

// waitSnapshot waits until a snapshot is no longer being created.
func waitSnapshot(ctx context.Context, snaps providers.SnapshotService, s providers.Snapshot, o waitOptions) (providers.Snapshot, error) {
	if s.State.Settled() {
		return s, nil
	}
	cur := s
	err := waitFor(ctx, o, "snapshot "+s.UUID, func(ctx context.Context) (bool, string, error) {
		got, err := snaps.GetSnapshot(ctx, s.UUID)
		if err != nil {
			return false, "", err
		}
		cur = got
		return got.State.Settled(), got.Status, nil
	})
	return cur, err
}
