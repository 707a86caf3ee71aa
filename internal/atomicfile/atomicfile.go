// Package atomicfile replaces files so that a crash leaves either the old
// content or the new, never a torn file: a temporary file in the same
// folder (mode 0600), an fsync, a rename over the target, an fsync of the
// folder. It is how drivecp persists checkpoints, manifests, backup state
// and the emulator's metadata.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Options adjust Write.
type Options struct {
	// TempPattern names the temporary file (an os.CreateTemp pattern);
	// empty means ".<name>.tmp-*", hidden beside the target.
	TempPattern string
	// NoSync skips both fsyncs: the result survives a crash of the process
	// (the page cache keeps it) but not a power loss. For state rewritten
	// so often that the caller syncs on its own schedule.
	NoSync bool
}

// Write replaces path with data.
func Write(path string, data []byte, o Options) (err error) {
	dir := filepath.Dir(path)
	pattern := o.TempPattern
	if pattern == "" {
		pattern = "." + filepath.Base(path) + ".tmp-*"
	}
	f, err := os.CreateTemp(dir, pattern) // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if !o.NoSync {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if o.NoSync {
		return nil
	}
	// The rename is durable only once the folder's entry is.
	return SyncDir(dir)
}

// SyncDir makes the entries of dir (renames, removals) durable. File
// systems that cannot fsync a folder (EINVAL) are accepted as they are.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, unix.EINVAL) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
