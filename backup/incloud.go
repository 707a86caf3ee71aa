package backup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// On clouds whose API has no byte path (Features.Backup is BackupSnapshot
// or BackupImage) a backup stays in the cloud: one snapshot (of the drive,
// or of its server where the cloud snapshots servers) or one image per
// drive per run. What drivecp made is known by name alone, since not every
// cloud keeps metadata on snapshots and images: InCloudPrefix, the target's
// ID, and the run's UTC time, which sorts by age.

// InCloudPrefix starts the name of every snapshot or image a backup makes.
const InCloudPrefix = "drivecp-backup-"

// InCloudOptions are the inputs of InCloud.
type InCloudOptions struct {
	// Drives are the drives to back up (IDs as the cloud names them).
	Drives []string
	// Keep is how many backups of each target to keep after a success,
	// the newest; 0 keeps all.
	Keep int
	// Made holds the backups drivecp made in earlier runs on this cloud,
	// for clouds that do not keep the name a snapshot was given; names
	// with InCloudPrefix count as drivecp's too.
	Made map[Made]bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Wait waits until a snapshot or image being made settles and returns
	// it as it is then.
	WaitSnapshot func(ctx context.Context, s providers.Snapshot) (providers.Snapshot, error)
	WaitImage    func(ctx context.Context, i providers.Image) (providers.Image, error)
}

// InCloudResult is one drive's outcome.
type InCloudResult struct {
	Drive   string   `json:"drive"`
	Target  string   `json:"target"` // what was snapshotted: the drive or its server
	Kind    string   `json:"kind"`   // "snapshot" or "image"
	ID      string   `json:"id,omitempty"`
	Name    string   `json:"name,omitempty"`
	Deleted []string `json:"deleted,omitempty"` // older backups removed by Keep
	Error   string   `json:"error,omitempty"`
	// Made is the backup made, for the record of InCloudOptions.Made
	// (zero if none); Forgotten are the backups Keep deleted.
	Made      Made   `json:"-"`
	Forgotten []Made `json:"-"`
}

// Made identifies one snapshot or image in the record of the backups
// drivecp made: its ID and the name the cloud gives it. The ID alone is not
// enough, since a cloud may reuse it: a CenturyLink snapshot is known by its
// server's name, so a snapshot a user takes after deleting drivecp's has the
// same ID, but another name (its creation time).
type Made struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InCloud backs each drive up inside the cloud and applies Keep. A failure
// of one drive does not stop the others; the error lists the failed ones.
func InCloud(ctx context.Context, p *providers.Provider, o InCloudOptions) ([]InCloudResult, error) {
	kind := p.Features.Backup
	switch {
	case kind == providers.BackupSnapshot && p.Snapshots == nil, kind == providers.BackupImage && p.Images == nil,
		kind != providers.BackupSnapshot && kind != providers.BackupImage:
		return nil, p.Lack("keep backups in the cloud")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	stamp := now().UTC().Format("20060102T150405Z")
	var results []InCloudResult
	done := map[string]bool{} // targets backed up in this run (several disks of one server)
	var failed []string
	for _, id := range o.Drives {
		r := InCloudResult{Drive: id, Kind: string(kind)}
		err := func() error {
			d, err := p.Drives.GetDrive(ctx, id)
			if err != nil {
				return err
			}
			r.Target = d.UUID
			if kind == providers.BackupSnapshot && p.Features.SnapshotOf == providers.SnapshotOfServer {
				if len(d.Servers) == 0 {
					return fmt.Errorf("%s %s belongs to no server, and %s snapshots servers", p.Features.DriveNoun, id, p.Cloud)
				}
				r.Target = d.Servers[0]
			}
			if done[r.Target] {
				r.Name = "(with " + r.Target + ")"
				return nil
			}
			done[r.Target] = true
			r.Name = InCloudPrefix + safeName(r.Target) + "-" + stamp
			if kind == providers.BackupSnapshot {
				return snapshotBackup(ctx, p, o, &r)
			}
			return imageBackup(ctx, p, o, &r)
		}()
		if err != nil {
			if ctx.Err() != nil {
				return results, err
			}
			r.Error = err.Error()
			failed = append(failed, id)
		}
		results = append(results, r)
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("backup of %d of %d drives failed: %s", len(failed), len(o.Drives), strings.Join(failed, ", "))
	}
	return results, nil
}

// safeName keeps the characters of id that every cloud accepts in a name.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, id)
}

func snapshotBackup(ctx context.Context, p *providers.Provider, o InCloudOptions, r *InCloudResult) error {
	spec := providers.SnapshotSpec{Target: r.Target, Name: r.Name}
	// A cloud that keeps one snapshot per target replaces the previous
	// backup; a snapshot there that drivecp did not make is not replaced.
	if p.Features.MaxSnapshotsPerTarget == 1 {
		old, err := p.Snapshots.ListSnapshots(ctx, r.Target)
		if err != nil {
			return err
		}
		for _, s := range old {
			if !o.ours(s.UUID, s.Name, r.Target) {
				return fmt.Errorf("%s keeps one snapshot per %s and %s already has %q, which drivecp did not make; not replacing it",
					p.Cloud, p.Features.SnapshotOf, r.Target, s.Name)
			}
		}
		spec.Replace = len(old) > 0
	}
	sn, err := p.Snapshots.CreateSnapshot(ctx, spec)
	if err != nil {
		return err
	}
	r.ID = sn.UUID
	if o.WaitSnapshot != nil {
		if sn, err = o.WaitSnapshot(ctx, sn); err != nil {
			return err
		}
	}
	if sn.State != providers.StateReady {
		return fmt.Errorf("snapshot %s is %s, not ready", sn.UUID, sn.Status)
	}
	r.Made = Made{sn.UUID, sn.Name}
	if o.Keep == 0 {
		return nil
	}
	all, err := p.Snapshots.ListSnapshots(ctx, r.Target)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	var ours []named
	for _, s := range all {
		if s.Drive == r.Target && s.UUID != sn.UUID && o.ours(s.UUID, s.Name, r.Target) {
			ours = append(ours, named{s.UUID, s.Name})
		}
	}
	for _, old := range expired(ours, o.Keep) {
		if err := p.Snapshots.DeleteSnapshots(ctx, old.id); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("retention: %w", err)
		}
		r.Deleted = append(r.Deleted, old.id)
		r.Forgotten = append(r.Forgotten, Made{old.id, old.name})
	}
	return nil
}

func imageBackup(ctx context.Context, p *providers.Provider, o InCloudOptions, r *InCloudResult) error {
	if p.Images.ImageSource() != "drive" {
		return p.Lack("make images of drives")
	}
	img, err := p.Images.CreateImage(ctx, providers.ImageSpec{Name: r.Name, From: r.Target})
	if err != nil {
		return err
	}
	r.ID = img.ID
	if o.WaitImage != nil {
		if img, err = o.WaitImage(ctx, img); err != nil {
			return err
		}
	}
	if img.State != providers.StateReady {
		return fmt.Errorf("image %s is %s, not ready", img.ID, img.Status)
	}
	r.Made = Made{img.ID, img.Name}
	if o.Keep == 0 {
		return nil
	}
	all, err := p.Images.ListImages(ctx)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	var ours []named
	for _, i := range all {
		if !i.Public && i.ID != img.ID && o.ours(i.ID, i.Name, r.Target) {
			ours = append(ours, named{i.ID, i.Name})
		}
	}
	for _, old := range expired(ours, o.Keep) {
		if err := p.Images.DeleteImages(ctx, old.id); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("retention: %w", err)
		}
		r.Deleted = append(r.Deleted, old.id)
		r.Forgotten = append(r.Forgotten, Made{old.id, old.name})
	}
	return nil
}

// ours reports whether the snapshot or image id, named name, is a backup
// of target drivecp made.
func (o InCloudOptions) ours(id, name, target string) bool {
	return o.Made[Made{id, name}] || strings.HasPrefix(name, InCloudPrefix+safeName(target)+"-")
}

type named struct{ id, name string }

// expired returns the older backups beyond the keep newest, the one just
// made counting as the first; names end in the run's time, so they sort
// by age.
func expired(older []named, keep int) []named {
	slices.SortFunc(older, func(a, b named) int { return cmp.Compare(b.name, a.name) })
	if len(older) <= keep-1 {
		return nil
	}
	return older[keep-1:]
}
