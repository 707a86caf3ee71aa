package backupstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/filelock"
)

// PruneOptions adjust Prune.
type PruneOptions struct {
	// DryRun counts what would be removed and removes nothing.
	DryRun bool
	// Without are backups to count as forgotten, for the dry run of a
	// forget that did not remove their manifests.
	Without []string
}

// PruneReport is the outcome of Prune.
type PruneReport struct {
	Backups      int   `json:"backups"`       // manifests that were kept
	Kept         int   `json:"kept"`          // chunks referenced, kept
	KeptBytes    int64 `json:"kept_bytes"`    // their size on disk
	Removed      int   `json:"removed"`       // chunks no backup references, removed
	RemovedBytes int64 `json:"removed_bytes"` // their size on disk
	Temps        int   `json:"temps"`         // temporary files of crashed writers, removed
	// DryRun is set when nothing was removed, only counted.
	DryRun bool `json:"dry_run,omitempty"`
}

// Prune removes the chunks no backup references and the temporary files
// that crashed writers left. It needs the store to itself: it takes the
// store lock exclusive (an error matching ErrBusy when another Store is
// open) and gives it back shared when it is done. Every manifest must be
// readable, or nothing is removed: a manifest Prune cannot read may
// reference any chunk. A crash during Prune leaves fewer unreferenced
// chunks, never a referenced one missing, so it is safe to run again.
func (s *Store) Prune(ctx context.Context, o PruneOptions) (rep PruneReport, err error) {
	dryRun := o.DryRun
	rep.DryRun = dryRun
	err = filelock.Flock(s.lock, unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		// Converting the lock may have dropped the shared one: take it back.
		if lerr := lockShared(ctx, s.lock); lerr != nil {
			return rep, errors.Join(ErrBusy, lerr)
		}
		if errors.Is(err, unix.EWOULDBLOCK) {
			return rep, ErrBusy
		}
		return rep, fmt.Errorf("lock the backup store: %w", err)
	}
	defer func() {
		if lerr := lockShared(context.WithoutCancel(ctx), s.lock); lerr != nil && err == nil {
			err = lerr
		}
	}()
	backups, err := s.List()
	if err != nil {
		return rep, fmt.Errorf("read the backups (nothing removed): %w", err)
	}
	refs := map[Hash]bool{}
	for _, m := range backups {
		if slices.Contains(o.Without, m.ID) {
			continue
		}
		rep.Backups++
		for _, h := range m.Chunks {
			refs[h] = true
		}
	}
	dirs := map[string]bool{}
	remove := func(path string) (bool, error) {
		if dryRun {
			return true, nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		dirs[filepath.Dir(path)] = true
		return true, nil
	}
	err = s.walkChunks(ctx, func(path string, h Hash, size int64) error {
		if refs[h] {
			rep.Kept++
			rep.KeptBytes += size
			return nil
		}
		ok, err := remove(path)
		if ok {
			rep.Removed++
			rep.RemovedBytes += size
		}
		return err
	}, func(path string) error {
		ok, err := remove(path)
		if ok {
			rep.Temps++
		}
		return err
	})
	if err != nil {
		return rep, err
	}
	// Manifests that a crash left half-written.
	bdir := filepath.Join(s.dir, backupsDir)
	entries, err := os.ReadDir(bdir)
	if err != nil {
		return rep, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			ok, err := remove(filepath.Join(bdir, e.Name()))
			if err != nil {
				return rep, err
			}
			if ok {
				rep.Temps++
			}
		}
	}
	for d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
