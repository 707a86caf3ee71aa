package session

import (
	"context"
	"errors"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// target is the drive an upload writes and the sink that writes it, looked
// up or created on a goroutine of its own while the engine already reads
// and hashes the first chunks (see transfer.PendingSink): the round trips
// that find, create and wait for the drive no longer stand between the
// command's start and its first chunk on the wire.
type target struct {
	sink   *transfer.PendingSink
	cancel context.CancelFunc
	done   chan struct{}
	drive  providers.Drive
	err    error
}

// startTarget runs prepare, which returns the drive and the sink that
// writes it, beside the transfer. prepare must do all that has to precede
// the first byte sent (checks, records): the engine sends nothing before
// it returns.
func startTarget(ctx context.Context, prepare func(ctx context.Context) (providers.Drive, transfer.Sink, error)) *target {
	ctx, cancel := context.WithCancel(ctx)
	t := &target{sink: transfer.NewPendingSink(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		d, sink, err := prepare(ctx)
		t.drive, t.err = d, err
		if err != nil {
			t.sink.Fail(err)
			return
		}
		t.sink.Resolve(sink)
	}()
	return t
}

// finish waits for prepare, stopping it first when the transfer failed
// (xferErr) for a reason of its own, and returns the drive with
// failed set when prepare's failure is what ended the transfer (or the
// transfer had nothing to wait for): nothing was sent then, and that
// failure is the one to report.
func (t *target) finish(xferErr error) (d providers.Drive, failed error) {
	if xferErr != nil {
		t.cancel()
	}
	<-t.done
	t.cancel()
	if t.err != nil && (xferErr == nil || errors.Is(xferErr, t.err)) {
		return t.drive, t.err
	}
	return t.drive, nil
}
