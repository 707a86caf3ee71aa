package retry

import (
	"context"

	"github.com/drivecp/drivecp/providers"
)

// Wrap returns s with every service present put behind p: the reads and
// whole-definition edits of each are repeated, everything else goes once
// (see the package doc). Absent services stay nil.
func Wrap(s providers.Services, p Policy) providers.Services {
	if s.Drives != nil {
		s.Drives = drives{s.Drives, p}
	}
	if s.DriveEditor != nil {
		s.DriveEditor = editor{s.DriveEditor, p}
	}
	if s.Snapshots != nil {
		s.Snapshots = snapshots{s.Snapshots, p}
	}
	if s.LibDrives != nil {
		s.LibDrives = libDrives{s.LibDrives, p}
	}
	if s.Images != nil {
		s.Images = images{s.Images, p}
	}
	if s.Jobs != nil {
		s.Jobs = jobs{s.Jobs, p}
	}
	if s.Servers != nil {
		s.Servers = servers{s.Servers, p}
	}
	if s.Limits != nil {
		s.Limits = limits{s.Limits, p}
	}
	// SnapshotRestorer, ServerPower, ServerDeleter and Attacher only act:
	// they go once.
	return s
}

// WrapDrives is Wrap for a lone drive service (a transfer API's).
func WrapDrives(d providers.DriveService, p Policy) providers.DriveService {
	if d == nil {
		return nil
	}
	return drives{d, p}
}

type drives struct {
	providers.DriveService
	p Policy
}

func (r drives) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	return Value(ctx, r.p, "drive listing", func(ctx context.Context) ([]providers.Drive, error) { return r.DriveService.ListDrives(ctx, f) })
}

func (r drives) GetDrive(ctx context.Context, id string) (providers.Drive, error) {
	return Value(ctx, r.p, "drive lookup", func(ctx context.Context) (providers.Drive, error) { return r.DriveService.GetDrive(ctx, id) })
}

type editor struct {
	providers.DriveEditor
	p Policy
}

// EditDrive sends the whole definition, so repeating it is harmless.
func (r editor) EditDrive(ctx context.Context, id string, e providers.DriveEdit) (providers.Drive, error) {
	return Value(ctx, r.p, "drive edit", func(ctx context.Context) (providers.Drive, error) { return r.DriveEditor.EditDrive(ctx, id, e) })
}

type snapshots struct {
	providers.SnapshotService
	p Policy
}

func (r snapshots) ListSnapshots(ctx context.Context, drive string) ([]providers.Snapshot, error) {
	return Value(ctx, r.p, "snapshot listing", func(ctx context.Context) ([]providers.Snapshot, error) {
		return r.SnapshotService.ListSnapshots(ctx, drive)
	})
}

func (r snapshots) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	return Value(ctx, r.p, "snapshot lookup", func(ctx context.Context) (providers.Snapshot, error) {
		return r.SnapshotService.GetSnapshot(ctx, id)
	})
}

func (r snapshots) EditSnapshot(ctx context.Context, id string, name *string, meta map[string]string) (providers.Snapshot, error) {
	return Value(ctx, r.p, "snapshot edit", func(ctx context.Context) (providers.Snapshot, error) {
		return r.SnapshotService.EditSnapshot(ctx, id, name, meta)
	})
}

type libDrives struct {
	providers.LibDriveService
	p Policy
}

func (r libDrives) ListLibDrives(ctx context.Context, os string) ([]providers.LibDrive, error) {
	return Value(ctx, r.p, "library drive listing", func(ctx context.Context) ([]providers.LibDrive, error) {
		return r.LibDriveService.ListLibDrives(ctx, os)
	})
}

func (r libDrives) GetLibDrive(ctx context.Context, id string) (providers.LibDrive, error) {
	return Value(ctx, r.p, "library drive lookup", func(ctx context.Context) (providers.LibDrive, error) {
		return r.LibDriveService.GetLibDrive(ctx, id)
	})
}

type images struct {
	providers.ImageService
	p Policy
}

func (r images) ListImages(ctx context.Context) ([]providers.Image, error) {
	return Value(ctx, r.p, "image listing", r.ImageService.ListImages)
}

func (r images) GetImage(ctx context.Context, id string) (providers.Image, error) {
	return Value(ctx, r.p, "image lookup", func(ctx context.Context) (providers.Image, error) { return r.ImageService.GetImage(ctx, id) })
}

type jobs struct {
	providers.JobService
	p Policy
}

func (r jobs) ListJobs(ctx context.Context) ([]providers.Job, error) {
	return Value(ctx, r.p, "job listing", r.JobService.ListJobs)
}

func (r jobs) GetJob(ctx context.Context, id string) (providers.Job, error) {
	return Value(ctx, r.p, "job lookup", func(ctx context.Context) (providers.Job, error) { return r.JobService.GetJob(ctx, id) })
}

type servers struct {
	providers.ServerService
	p Policy
}

func (r servers) ListServers(ctx context.Context) ([]providers.Server, error) {
	return Value(ctx, r.p, "server listing", r.ServerService.ListServers)
}

func (r servers) GetServer(ctx context.Context, id string) (providers.Server, error) {
	return Value(ctx, r.p, "server lookup", func(ctx context.Context) (providers.Server, error) { return r.ServerService.GetServer(ctx, id) })
}

type limits struct {
	providers.DriveLimits
	p Policy
}

func (r limits) DriveSizeRange(ctx context.Context, storageType string) (lo, hi int64, ok bool, err error) {
	err = r.p.Do(ctx, "capabilities lookup", func(ctx context.Context) error {
		lo, hi, ok, err = r.DriveLimits.DriveSizeRange(ctx, storageType)
		return err
	})
	return lo, hi, ok, err
}
