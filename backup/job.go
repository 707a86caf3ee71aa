package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// job is the backup of one drive.
type job struct {
	r   *runner
	d   providers.Drive
	dir string
	rep *DriveReport
	st  *state
}

func (j *job) logf(format string, args ...any) {
	j.r.logf("%s (%s): "+format, append([]any{j.d.Name, j.d.UUID}, args...)...)
}

func (j *job) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	j.rep.Warnings = append(j.rep.Warnings, msg)
	if j.r.opts.Warnf != nil {
		j.r.opts.Warnf("%s (%s): %s", j.d.Name, j.d.UUID, msg)
	}
}

func (j *job) target() string { return filepath.Join(j.dir, j.st.Target) }

// run takes the drive from its state file (or from nothing) to a verified
// backup, then cleans up.
func (j *job) run(ctx context.Context) error {
	st, err := loadState(j.dir)
	if err != nil {
		j.warnf("ignoring the state of an earlier run: %v", err)
		st = nil
	}
	if st != nil && st.Drive != j.d.UUID {
		st = nil
	}
	// Leftovers first: temporaries of earlier runs the state does not
	// reference cost money and would only be found again next time.
	if err := j.sweep(ctx, st); err != nil {
		return err
	}
	if st != nil {
		j.rep.Resumed = true
		j.st = st // a failure from here on cleans up what the state names
		if err := j.reuse(ctx, st); err != nil {
			return err
		}
	} else {
		now := j.r.now()
		st = &state{Format: stateFormat, Run: j.r.run, Drive: j.d.UUID, Created: now.UTC(),
			Target: newTarget(j.dir, now)}
	}
	j.st = st
	if err := st.save(j.dir); err != nil {
		return err
	}
	m, err := ReadManifest(ManifestPath(j.target()))
	if err != nil {
		// Not finished yet: the normal case.
		if m, err = j.produce(ctx); err != nil {
			return err
		}
	} else {
		j.logf("image and manifest already complete")
	}
	// Only now is there a backup to name.
	j.rep.Bytes = m.Size
	j.rep.File, j.rep.Manifest = j.target(), ManifestPath(j.target())
	j.cleanupSucceeded(ctx)
	return nil
}

// reuse checks which resources of an earlier run's state still exist and
// drops the ones that do not. A new clone means a new target: the partial
// download of the old one belongs to a drive that is gone, and the
// downloader's checkpoint is keyed by the clone.
func (j *job) reuse(ctx context.Context, st *state) error {
	if _, err := os.Stat(filepath.Join(j.dir, st.Target)); err == nil {
		// The downloader renames only a complete image: what is missing is
		// the manifest, the cleanup, or both.
		j.logf("download of the earlier run is complete")
		return nil
	}
	if st.Clone != "" {
		err := j.r.retry(ctx, func(ctx context.Context) error {
			_, err := j.r.deps.Drives.GetDrive(ctx, st.Clone)
			return err
		})
		switch {
		case errors.Is(err, providers.ErrNotFound):
			j.logf("clone %s of the earlier run is gone", st.Clone)
			st.Clone = ""
		case err != nil:
			return fmt.Errorf("check the earlier run's clone: %w", err)
		default:
			j.logf("resuming with clone %s of the earlier run", st.Clone)
			return nil
		}
	}
	if st.Snapshot != "" {
		err := j.r.retry(ctx, func(ctx context.Context) error {
			_, err := j.r.deps.Snapshots.GetSnapshot(ctx, st.Snapshot)
			return err
		})
		switch {
		case errors.Is(err, providers.ErrNotFound):
			st.Snapshot = ""
		case err != nil:
			return fmt.Errorf("check the earlier run's snapshot: %w", err)
		default:
			j.logf("resuming from snapshot %s of the earlier run", st.Snapshot)
		}
	}
	part := filepath.Join(j.dir, st.Target) + PartSuffix
	if err := os.Remove(part); err != nil && !os.IsNotExist(err) {
		return err
	}
	st.Target = newTarget(j.dir, j.r.now())
	return nil
}

// produce downloads the image unless an earlier run finished that, then
// reads it back into a manifest and writes it.
func (j *job) produce(ctx context.Context) (*Manifest, error) {
	r, st := j.r, j.st
	target := j.target()
	size := int64(-1) // unknown when an earlier run downloaded the image
	var stats DownloadStats
	if _, err := os.Stat(target); err != nil {
		clone, err := j.prepareClone(ctx)
		if err != nil {
			return nil, err
		}
		size = clone.Size
		j.logf("downloading %s to %s", units.FormatSize(size), target)
		stats, err = r.deps.Download(ctx, clone.UUID, size, target, r.budget)
		j.rep.Downloaded = stats.Bytes
		if err != nil {
			return nil, fmt.Errorf("download clone %s: %w", clone.UUID, err)
		}
	}
	info := DriveInfo{UUID: j.d.UUID, Name: j.d.Name, Size: j.d.Size, Tags: j.d.Tags, Meta: j.d.Meta}
	m, err := BuildManifest(ctx, target, r.opts.ChunkSize, ManifestMeta{Drive: info, Snapshot: st.Snapshot, Created: st.Created})
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		if err := checkDownload(m, size, stats); err != nil {
			return nil, err
		}
	}
	if err := WriteManifest(target, m); err != nil {
		return nil, err
	}
	j.logf("manifest written, xxh64 %s", m.XXH64)
	return m, nil
}

// prepareClone makes the snapshot and the clone the state does not have
// yet, recording each in the state file as soon as it exists, and waits
// until the clone can be read.
func (j *job) prepareClone(ctx context.Context) (providers.Drive, error) {
	r, st := j.r, j.st
	name := TempName(j.d.UUID, r.run)
	if st.Clone == "" && st.Snapshot == "" {
		meta := map[string]string{MetaBackup: TempMark, MetaRun: r.run, MetaSource: j.d.UUID}
		var sn providers.Snapshot
		err := r.retry(ctx, func(ctx context.Context) (err error) {
			sn, err = r.deps.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: j.d.UUID, Name: name, Meta: meta})
			return err
		})
		if err != nil {
			return providers.Drive{}, fmt.Errorf("snapshot: %w", err)
		}
		st.Snapshot = sn.UUID
		if err := st.save(j.dir); err != nil {
			return providers.Drive{}, err
		}
		j.logf("snapshot %s", sn.UUID)
	}
	var clone providers.Drive
	if st.Clone == "" {
		var sn providers.Snapshot
		err := r.retry(ctx, func(ctx context.Context) (err error) {
			sn, err = r.deps.Snapshots.GetSnapshot(ctx, st.Snapshot)
			return err
		})
		if err == nil {
			sn, err = r.deps.WaitSnapshot(ctx, sn)
		}
		if err != nil {
			return providers.Drive{}, fmt.Errorf("snapshot %s: %w", st.Snapshot, err)
		}
		if sn.State != providers.StateReady {
			return providers.Drive{}, fmt.Errorf("snapshot %s is %s, not available", sn.UUID, sn.Status)
		}
		err = r.retry(ctx, func(ctx context.Context) (err error) {
			clone, err = r.deps.Snapshots.CloneSnapshot(ctx, st.Snapshot, providers.CloneSpec{Name: name})
			return err
		})
		if err != nil {
			return providers.Drive{}, fmt.Errorf("clone snapshot %s: %w", st.Snapshot, err)
		}
		st.Clone = clone.UUID
		if err := st.save(j.dir); err != nil {
			return providers.Drive{}, err
		}
		j.logf("clone %s", clone.UUID)
	} else {
		err := r.retry(ctx, func(ctx context.Context) (err error) {
			clone, err = r.deps.Drives.GetDrive(ctx, st.Clone)
			return err
		})
		if err != nil {
			return providers.Drive{}, fmt.Errorf("clone %s: %w", st.Clone, err)
		}
	}
	clone, err := r.deps.WaitClone(ctx, clone)
	if err != nil {
		return providers.Drive{}, fmt.Errorf("clone %s: %w", st.Clone, err)
	}
	if !clone.State.Usable() {
		return providers.Drive{}, fmt.Errorf("clone %s is %s", clone.UUID, clone.Status)
	}
	return clone, nil
}

// checkDownload compares the image read back from disk with what the
// downloader said it received.
func checkDownload(m *Manifest, size int64, stats DownloadStats) error {
	if m.Size != size {
		return fmt.Errorf("downloaded image is %d bytes, the drive %d", m.Size, size)
	}
	if stats.ChunkHashes == nil || stats.ChunkSize != m.ChunkSize {
		return nil
	}
	if len(stats.ChunkHashes) != len(m.Chunks) {
		return fmt.Errorf("downloader reported %d chunk hashes, the image has %d chunks", len(stats.ChunkHashes), len(m.Chunks))
	}
	for i, h := range stats.ChunkHashes {
		if formatHash(h) != m.Chunks[i].XXH64 {
			return fmt.Errorf("image on disk differs from the downloaded data at chunk %d (offset %d)", i, int64(i)*m.ChunkSize)
		}
	}
	return nil
}
