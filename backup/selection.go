package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// selected is one drive to back up, or why it cannot be.
type selected struct {
	uuid  string
	drive providers.Drive
	err   error
}

// selectDrives resolves the selection into drives. An unknown UUID fails
// that drive only; a listing that fails fails the run. With All it also
// returns the orphans among the account's drives (see orphan).
func (r *runner) selectDrives(ctx context.Context) ([]selected, []providers.Drive, error) {
	var out []selected
	if len(r.opts.Drives) > 0 {
		seen := map[string]bool{}
		for _, u := range r.opts.Drives {
			if seen[u] {
				continue
			}
			seen[u] = true
			var d providers.Drive
			err := r.retry(ctx, func(ctx context.Context) (err error) {
				d, err = r.deps.Drives.GetDrive(ctx, u)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, err
				}
				out = append(out, selected{uuid: u, err: err})
				continue
			}
			out = append(out, selected{uuid: u, drive: d})
		}
		return out, nil, nil
	}
	f := providers.DriveFilter{Tags: r.opts.Tags}
	var ds []providers.Drive
	err := r.retry(ctx, func(ctx context.Context) (err error) {
		ds, err = r.deps.Drives.ListDrives(ctx, f)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("select drives: %w", err)
	}
	var orphans []providers.Drive
	for _, d := range ds {
		if _, temp := tempSource(d.Name); temp {
			if r.opts.All && r.orphan(d, ds) {
				orphans = append(orphans, d)
			}
			continue // our own clones are not backed up
		}
		out = append(out, selected{uuid: d.UUID, drive: d})
	}
	return out, orphans, nil
}

// OrphanAge is how old a temporary clone of a drive that no longer exists
// must be before a run deletes it. The per-drive cleanup never meets such a
// clone, since no run backs up its drive again; but a clone this young may
// still be downloading in a run elsewhere, the last copy of a drive deleted
// meanwhile, and a backup of one drive does not take a week.
const OrphanAge = 7 * 24 * time.Hour

// orphan reports whether the temporary clone d is an orphan: the drive it
// was cloned from is not among all (the account's drives) and its run,
// dated by its name, began OrphanAge or more ago. A clone whose name cannot
// be dated is left alone.
func (r *runner) orphan(d providers.Drive, all []providers.Drive) bool {
	src, _ := tempSource(d.Name)
	if slices.ContainsFunc(all, func(x providers.Drive) bool { return x.UUID == src }) {
		return false
	}
	started, ok := runTime(strings.TrimPrefix(d.Name, TempName(src, "")))
	return ok && r.now().Sub(started) >= OrphanAge
}

// deleteOrphans deletes the orphan clones, on a context of its own like
// every cleanup, and returns the UUIDs it deleted and a warning for each
// it could not.
func (r *runner) deleteOrphans(ctx context.Context, orphans []providers.Drive) (deleted, warnings []string) {
	if len(orphans) == 0 {
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.CleanupTimeout)
	defer cancel()
	for _, d := range orphans {
		err := r.retry(cctx, func(ctx context.Context) error { return r.deps.Drives.DeleteDrives(ctx, d.UUID) })
		if err != nil && !errors.Is(err, providers.ErrNotFound) {
			msg := fmt.Sprintf("temporary clone %s (%s) of a drive that no longer exists: delete: %v", d.UUID, d.Name, err)
			warnings = append(warnings, msg)
			if r.opts.Warnf != nil {
				r.opts.Warnf("%s", msg)
			}
			continue
		}
		deleted = append(deleted, d.UUID)
		r.logf("deleted temporary clone %s (%s): the drive it was cloned from no longer exists", d.UUID, d.Name)
	}
	return deleted, warnings
}
