package backup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drivecp/drivecp/internal/atomicfile"
)

// prune keeps the newest keep backups of a drive folder (current always
// among them) and removes older ones, image first and then manifest, so
// nothing half-removed looks like a backup. It also removes partial
// downloads and manifests without an image, which no state references
// once a backup has succeeded. keep 0 prunes no backups.
func prune(dir, current string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	var removed []string
	var errs []error
	remove := func(name string) bool {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
			return false
		}
		removed = append(removed, name)
		return true
	}
	var backups []string
	for name := range names {
		switch {
		case strings.HasSuffix(name, ImageSuffix) && names[name+ManifestSuffix]:
			if name != current {
				backups = append(backups, name)
			}
		case strings.HasSuffix(name, ImageSuffix+PartSuffix):
			remove(name)
		case strings.HasSuffix(name, ImageSuffix+ManifestSuffix) && !names[strings.TrimSuffix(name, ManifestSuffix)]:
			remove(name)
		}
	}
	if keep > 0 {
		slices.Sort(backups)
		slices.Reverse(backups)
		for i, name := range backups {
			if i < keep-1 {
				continue
			}
			if remove(name) {
				remove(name + ManifestSuffix)
			}
		}
	}
	slices.Sort(removed)
	if len(removed) > 0 {
		if err := atomicfile.SyncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}
