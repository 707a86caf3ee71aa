package backup

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/drivecp/drivecp/providers"
)

// cleanupContext is a context for cleanup that outlives the run's
// cancellation but not CleanupTimeout.
func (j *job) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), j.r.opts.CleanupTimeout)
}

// cleanupSucceeded deletes the clone and the snapshot (or keeps it,
// renamed and unmarked), removes the state, sweeps duplicates and prunes old
// backups. Its failures are warnings: the backup itself is complete.
func (j *job) cleanupSucceeded(ctx context.Context) {
	cctx, cancel := j.cleanupContext(ctx)
	defer cancel()
	st := j.st
	keep := map[string]bool{}
	if st.Clone != "" {
		if err := j.deleteDrive(cctx, st.Clone); err != nil {
			j.warnf("delete temporary clone %s: %v", st.Clone, err)
		}
	}
	if st.Snapshot != "" {
		if j.r.opts.KeepSnapshot {
			name := "drivecp-backup-" + j.d.UUID + "-" + st.Created.Format(timestampLayout)
			meta := map[string]string{MetaBackup: KeptMark, MetaSource: j.d.UUID, "drivecp:image": st.Target}
			err := j.r.retry(cctx, func(ctx context.Context) error {
				_, err := j.r.deps.Snapshots.EditSnapshot(ctx, st.Snapshot, &name, meta)
				return err
			})
			keep[st.Snapshot] = true // even unrenamed: the user asked to keep it
			if err != nil {
				j.warnf("mark snapshot %s as kept: %v (a later backup may delete it as a leftover)", st.Snapshot, err)
			}
			j.rep.Snapshot = st.Snapshot
		} else if err := j.deleteSnapshot(cctx, st.Snapshot); err != nil {
			j.warnf("delete temporary snapshot %s: %v", st.Snapshot, err)
		}
	}
	if err := removeState(j.dir); err != nil {
		j.warnf("remove state file: %v", err)
	}
	if err := j.sweepKeeping(cctx, keep); err != nil {
		j.warnf("%v", err)
	}
	pruned, err := prune(j.dir, j.st.Target, j.r.opts.Keep)
	j.rep.Pruned = pruned
	if err != nil {
		j.warnf("prune: %v", err)
	}
}

// cleanupFailed undoes a failed backup: temporaries deleted, partial and
// unverified files removed, state removed. It runs on a fresh context.
func (j *job) cleanupFailed(ctx context.Context) {
	cctx, cancel := j.cleanupContext(ctx)
	defer cancel()
	if st := j.st; st != nil {
		if st.Clone != "" {
			if err := j.deleteDrive(cctx, st.Clone); err != nil {
				j.warnf("delete temporary clone %s: %v", st.Clone, err)
			}
		}
		if st.Snapshot != "" {
			if err := j.deleteSnapshot(cctx, st.Snapshot); err != nil {
				j.warnf("delete temporary snapshot %s: %v", st.Snapshot, err)
			}
		}
		t := j.target()
		for _, p := range []string{ManifestPath(t), t, t + PartSuffix} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				j.warnf("remove %s: %v", p, err)
			}
		}
		if err := removeState(j.dir); err != nil {
			j.warnf("remove state file: %v", err)
		}
	}
	if err := j.sweepKeeping(cctx, nil); err != nil {
		j.warnf("%v", err)
	}
}

// deleteDrive deletes a temporary drive; one already gone is fine. A drive
// still being cloned refuses deletion (busy), so it is waited for first.
func (j *job) deleteDrive(ctx context.Context, uuid string) error {
	var d providers.Drive
	err := j.r.retry(ctx, func(ctx context.Context) (err error) {
		d, err = j.r.deps.Drives.GetDrive(ctx, uuid)
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err == nil && !d.State.Settled() {
		// Best effort: if the wait fails, the delete below says why.
		_, _ = j.r.deps.WaitClone(ctx, d)
	}
	err = j.r.retry(ctx, func(ctx context.Context) error {
		return j.r.deps.Drives.DeleteDrives(ctx, uuid)
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err == nil {
		j.logf("deleted temporary drive %s", uuid)
	}
	return err
}

// deleteSnapshot deletes a temporary snapshot; one already gone is fine.
func (j *job) deleteSnapshot(ctx context.Context, uuid string) error {
	err := j.r.retry(ctx, func(ctx context.Context) error {
		return j.r.deps.Snapshots.DeleteSnapshots(ctx, uuid)
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err == nil {
		j.logf("deleted temporary snapshot %s", uuid)
	}
	return err
}

// sweep deletes the temporaries of this drive that st does not reference.
// Only cancellation of ctx is an error; failures are warnings.
func (j *job) sweep(ctx context.Context, st *state) error {
	keep := map[string]bool{}
	if st != nil {
		keep[st.Snapshot], keep[st.Clone] = true, true
	}
	if err := j.sweepKeeping(ctx, keep); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.warnf("%v", err)
	}
	return nil
}

// sweepKeeping deletes every temporary snapshot and clone of this drive
// except those in keep.
func (j *job) sweepKeeping(ctx context.Context, keep map[string]bool) error {
	r := j.r
	var errs []error
	var snaps []providers.Snapshot
	err := r.retry(ctx, func(ctx context.Context) (err error) {
		snaps, err = r.deps.Snapshots.ListSnapshots(ctx, j.d.UUID)
		return err
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("list snapshots for leftovers: %w", err))
	}
	var drives []providers.Drive
	err = r.retry(ctx, func(ctx context.Context) (err error) {
		drives, err = r.deps.Drives.ListDrives(ctx, providers.DriveFilter{})
		return err
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("list drives for leftovers: %w", err))
	}
	// Clones before snapshots: a snapshot may not be deletable while a
	// clone of it is being made.
	for _, d := range drives {
		if src, ok := tempSource(d.Name); ok && src == j.d.UUID && !keep[d.UUID] {
			if err := j.deleteDrive(ctx, d.UUID); err != nil {
				errs = append(errs, fmt.Errorf("delete leftover drive %s: %w", d.UUID, err))
			}
		}
	}
	for _, s := range snaps {
		if isTempSnapshot(s, j.d.UUID) && !keep[s.UUID] {
			if err := j.deleteSnapshot(ctx, s.UUID); err != nil {
				errs = append(errs, fmt.Errorf("delete leftover snapshot %s: %w", s.UUID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// isTempSnapshot reports whether s is a temporary snapshot of drive,
// marked by name or by metadata.
func isTempSnapshot(s providers.Snapshot, drive string) bool {
	if src, ok := tempSource(s.Name); ok && src == drive {
		return true
	}
	return s.Meta[MetaBackup] == TempMark && s.Meta[MetaSource] == drive
}
