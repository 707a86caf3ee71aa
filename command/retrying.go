package command

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
	"github.com/drivecp/drivecp/transfer"
)

// The management commands send a request or a few; over a flaky link one
// connection reset would end them. These wrappers repeat, with the retry
// policy of metaRetry, the requests that are safe to repeat: reads, and
// edits that send a whole definition. Creating, cloning, resizing and
// deleting go once, because repeating one whose answer was lost would act
// twice (or report a failure for what succeeded).

// withRetries wraps every service of s that is present.
func withRetries(c *cli.Context, s services) services {
	var o transfer.Options
	if c.Bool(flagDebug) {
		o.Logger = debugLogger(c)
	}
	o = metaRetry(o) // keeps the logger
	if s.drives != nil {
		s.drives = retryingDrives{s.drives, o}
	}
	if s.editor != nil {
		s.editor = retryingEditor{s.editor, o}
	}
	if s.snapshots != nil {
		s.snapshots = retryingSnapshots{s.snapshots, o}
	}
	if s.libdrives != nil {
		s.libdrives = retryingLibDrives{s.libdrives, o}
	}
	if s.jobs != nil {
		s.jobs = retryingJobs{s.jobs, o}
	}
	if s.limits != nil {
		s.limits = retryingLimits{s.limits, o}
	}
	return s
}

// retried runs fn under o's retry policy and returns its value.
func retried[T any](ctx context.Context, o transfer.Options, what string, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := transfer.Do(ctx, o, what, 0, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

type retryingDrives struct {
	providers.DriveService
	o transfer.Options
}

func (r retryingDrives) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	return retried(ctx, r.o, "drive listing", func(ctx context.Context) ([]providers.Drive, error) { return r.DriveService.ListDrives(ctx, f) })
}

func (r retryingDrives) GetDrive(ctx context.Context, uuid string) (providers.Drive, error) {
	return retried(ctx, r.o, "drive lookup", func(ctx context.Context) (providers.Drive, error) { return r.DriveService.GetDrive(ctx, uuid) })
}

type retryingEditor struct {
	providers.DriveEditor
	o transfer.Options
}

func (r retryingEditor) EditDrive(ctx context.Context, uuid string, edit providers.DriveEdit) (providers.Drive, error) {
	return retried(ctx, r.o, "drive edit", func(ctx context.Context) (providers.Drive, error) { return r.DriveEditor.EditDrive(ctx, uuid, edit) })
}

type retryingSnapshots struct {
	providers.SnapshotService
	o transfer.Options
}

func (r retryingSnapshots) ListSnapshots(ctx context.Context, drive string) ([]providers.Snapshot, error) {
	return retried(ctx, r.o, "snapshot listing", func(ctx context.Context) ([]providers.Snapshot, error) {
		return r.SnapshotService.ListSnapshots(ctx, drive)
	})
}

func (r retryingSnapshots) GetSnapshot(ctx context.Context, uuid string) (providers.Snapshot, error) {
	return retried(ctx, r.o, "snapshot lookup", func(ctx context.Context) (providers.Snapshot, error) {
		return r.SnapshotService.GetSnapshot(ctx, uuid)
	})
}

func (r retryingSnapshots) EditSnapshot(ctx context.Context, uuid string, name *string, meta map[string]string) (providers.Snapshot, error) {
	return retried(ctx, r.o, "snapshot edit", func(ctx context.Context) (providers.Snapshot, error) {
		return r.SnapshotService.EditSnapshot(ctx, uuid, name, meta)
	})
}

type retryingLibDrives struct {
	providers.LibDriveService
	o transfer.Options
}

func (r retryingLibDrives) ListLibDrives(ctx context.Context, os string) ([]providers.LibDrive, error) {
	return retried(ctx, r.o, "library drive listing", func(ctx context.Context) ([]providers.LibDrive, error) {
		return r.LibDriveService.ListLibDrives(ctx, os)
	})
}

func (r retryingLibDrives) GetLibDrive(ctx context.Context, uuid string) (providers.LibDrive, error) {
	return retried(ctx, r.o, "library drive lookup", func(ctx context.Context) (providers.LibDrive, error) {
		return r.LibDriveService.GetLibDrive(ctx, uuid)
	})
}

type retryingJobs struct {
	providers.JobService
	o transfer.Options
}

func (r retryingJobs) ListJobs(ctx context.Context) ([]providers.Job, error) {
	return retried(ctx, r.o, "job listing", r.JobService.ListJobs)
}

func (r retryingJobs) GetJob(ctx context.Context, uuid string) (providers.Job, error) {
	return retried(ctx, r.o, "job lookup", func(ctx context.Context) (providers.Job, error) { return r.JobService.GetJob(ctx, uuid) })
}

type retryingLimits struct {
	sizeRanger
	o transfer.Options
}

func (r retryingLimits) DriveSizeRange(ctx context.Context, storageType string) (rng wire.SizeRange, ok bool, err error) {
	err = transfer.Do(ctx, r.o, "capabilities lookup", 0, func(ctx context.Context) error {
		rng, ok, err = r.sizeRanger.DriveSizeRange(ctx, storageType)
		return err
	})
	return rng, ok, err
}

// lostAnswerHint explains a request that creates something (a drive, a
// clone, a snapshot) and failed in transit: the server may have acted
// before the connection broke, so running the command again blindly could
// make a second one. check is the command that tells. Refusals of the API
// and failures to connect at all are left as they are (the latter with
// unreachableHint's hint).
func lostAnswerHint(err error, what, check string) error {
	var apiErr *providers.APIError
	var op *net.OpError
	switch {
	case err == nil || errors.As(err, &apiErr) || !providers.IsRetryable(err) || errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &op) && op.Op == "dial":
		return unreachableHint(err)
	}
	return withHint(err, "the %s may have been created: check with '%s' before running this again", what, check)
}

// listCommand is the drive listing that finds a drive named name, or all
// drives when the API chooses the name.
func listCommand(name string) string {
	if name == "" {
		return "drivecp drive list"
	}
	if strings.ContainsAny(name, " \t'\"$`\\!*?[](){}<>|&;#~") {
		name = strconv.Quote(name)
	}
	return "drivecp drive list --name " + name
}
