package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/drivecp/drivecp/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// File names inside a drive's backup folder.
const (
	stateFile = ".backup-state.json"
	lockFile  = ".backup.lock"
	// PartSuffix is appended to the target by the downloader while it
	// writes; it renames the file to the target only once complete.
	PartSuffix = ".part"
	// ImageSuffix ends the name of every backup image.
	ImageSuffix = ".img"
)

// stateFormat is the version of the state file layout.
const stateFormat = 1

// ErrLocked reports that another run is backing up the same drive into the
// same folder.
var ErrLocked = errors.New("another drivecp backup of this drive is running")

// state is what a run records about one drive while it works on it, so a
// rerun after a crash reuses the clone and continues the download into the
// same target (the downloader's checkpoint is keyed by the clone's UUID and
// the local path). It holds no credentials and no URLs.
type state struct {
	Format   int       `json:"format"`
	Run      string    `json:"run"`
	Drive    string    `json:"drive"`
	Snapshot string    `json:"snapshot,omitempty"`
	Clone    string    `json:"clone,omitempty"`
	Target   string    `json:"target"` // base name of the image, inside the drive's folder
	Created  time.Time `json:"created"`
}

// loadState reads the state file in dir; (nil, nil) when there is none.
func loadState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Format != stateFormat || st.Drive == "" || st.Target == "" || st.Target != filepath.Base(st.Target) {
		return nil, fmt.Errorf("state file %s: not a format %d state", filepath.Join(dir, stateFile), stateFormat)
	}
	return &st, nil
}

// save writes the state atomically (mode 0600).
func (st *state) save(dir string) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, stateFile), append(data, '\n'), atomicfile.Options{}); err != nil {
		return fmt.Errorf("save backup state: %w", err)
	}
	return nil
}

// removeState deletes the state file of dir; a missing one is fine.
func removeState(dir string) error {
	err := os.Remove(filepath.Join(dir, stateFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// lockDir takes an exclusive, non-blocking lock on dir's lock file. The
// lock dies with the process, so a crash never leaves it held.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
