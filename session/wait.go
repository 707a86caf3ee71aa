package session

import (
	"context"
	"io"
	"time"

	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/internal/poll"
	"github.com/drivecp/drivecp/providers"
)

// Defaults of the waits an upload makes.
const (
	// DefaultReadyTimeout bounds the wait for a drive the upload created
	// to leave a transitional state (being created) before chunks go to
	// it: creation takes seconds.
	DefaultReadyTimeout = 5 * time.Minute
	// DefaultFinishTimeout bounds the wait, after the last chunk, for a
	// chunked upload's drive to leave `uploading`: the cloud assembles the
	// drive asynchronously.
	DefaultFinishTimeout = 10 * time.Minute
)

// Waits bound the waits of an upload.
type Waits struct {
	// Ready bounds the wait for a created drive to become writable;
	// 0 means DefaultReadyTimeout.
	Ready time.Duration
	// Finish bounds the wait for a chunked upload's drive to be assembled;
	// 0 means DefaultFinishTimeout.
	Finish time.Duration
	// Progress receives a status line rewritten in place while waiting;
	// nil prints none.
	Progress io.Writer
	// Interval and MaxInterval bound the backoff between polls; zero
	// means poll's defaults. Tests shorten them.
	Interval, MaxInterval time.Duration
}

func (w Waits) options(timeout, def time.Duration) poll.Options {
	if timeout <= 0 {
		timeout = def
	}
	return poll.Options{Timeout: timeout, Progress: w.Progress, Interval: w.Interval, MaxInterval: w.MaxInterval}
}

// transitional reports whether a drive in state s is still changing by
// itself (being created, say), so that writing to it must wait. A state
// the provider does not know counts as transitional; a provider that
// reports no state at all has none.
func transitional(s providers.State) bool {
	return s == providers.StateBusy || s == providers.StateUnknown
}

// WaitReady returns d once it has left a transitional state, asking drives
// for it with backoff, for at most w.Ready. A drive already settled in the
// answer that made it costs no request.
func WaitReady(ctx context.Context, drives providers.DriveService, d providers.Drive, w Waits) (providers.Drive, error) {
	if !transitional(d.State) {
		return d, nil
	}
	cur := d
	err := poll.Until(ctx, w.options(w.Ready, DefaultReadyTimeout), "drive "+d.UUID+" becoming ready", func(ctx context.Context) (bool, string, error) {
		got, err := drives.GetDrive(ctx, d.UUID)
		if err != nil {
			return false, "", err
		}
		cur = got
		return !transitional(got.State), got.Status, nil
	})
	return cur, err
}

// waitUploaded polls the drive until it leaves `uploading`, for at most
// w.Finish.
func waitUploaded(ctx context.Context, drives providers.DriveService, id string, w Waits) (providers.Drive, error) {
	var d providers.Drive
	check := func(ctx context.Context) (bool, string, error) {
		var err error
		d, err = drives.GetDrive(ctx, id)
		if err != nil {
			return false, "", err
		}
		return d.State != providers.StateUploading, d.Status, nil
	}
	// Asked at once, right after the last chunk: the drive is usually
	// done, and the poll's first sleep was a quarter second of idle link.
	if done, _, err := check(ctx); err == nil && done {
		return d, nil
	}
	err := poll.Until(ctx, w.options(w.Finish, DefaultFinishTimeout), "drive "+id+" finishing its upload", check)
	if err != nil {
		return d, failure.WithHint(err, "run the same command again: it asks the server which chunks it is missing")
	}
	return d, nil
}
