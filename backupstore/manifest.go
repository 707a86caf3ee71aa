package backupstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/drivecp/drivecp/internal/atomicfile"
)

// ManifestFormat is the version of the manifest layout.
const ManifestFormat = 1

// manifestSuffix ends the name of every manifest file.
const manifestSuffix = ".json"

// idLayout starts every backup ID: the UTC time of the backup, sortable
// and without colons.
const idLayout = "20060102T150405Z"

// ErrExists reports a manifest ID that another backup already has.
var ErrExists = errors.New("a different backup with this ID exists")

// Manifest is one backup: the chunks of an image, in order.
type Manifest struct {
	Format    int       `json:"format"`
	ID        string    `json:"id"`
	Drive     string    `json:"drive"` // UUID of the drive backed up
	Name      string    `json:"name"`  // its name at the time
	Snapshot  string    `json:"snapshot,omitempty"`
	Time      time.Time `json:"time"` // when the backup was taken (the snapshot), UTC
	Size      int64     `json:"size"`
	ChunkSize int64     `json:"chunk_size"`
	// SHA256 is the SHA-256 (hex) of the whole image, for a check with
	// sha256sum after a restore.
	SHA256 string `json:"sha256"`
	// Added is how many bytes of new chunk files this backup wrote: what
	// it cost on top of the backups before it.
	Added  int64  `json:"added"`
	Chunks []Hash `json:"chunks"` // chunk i covers [i*ChunkSize, min((i+1)*ChunkSize, Size))
}

// NewID returns the ID of a backup of drive taken at t: the UTC time, then
// the first 8 characters of the drive UUID, so IDs sort by time and a
// rerun of the same backup gets the same ID.
func NewID(drive string, t time.Time) string {
	short := drive
	if len(short) > 8 {
		short = short[:8]
	}
	return t.UTC().Format(idLayout) + "-" + sanitizeID(short)
}

// sanitizeID keeps letters, digits, dot, dash and underscore.
func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// checkID refuses IDs that are not file names made by NewID's alphabet.
func checkID(id string) error {
	if id == "" || id[0] == '.' || id[0] == '-' || sanitizeID(id) != id {
		return fmt.Errorf("backup ID %q: only letters, digits, '.', '-' and '_', not first '.' or '-'", id)
	}
	return nil
}

// Chunks returns how many chunks an image of size bytes has.
func chunkCount(size, chunkSize int64) int64 { return (size + chunkSize - 1) / chunkSize }

// check finds a manifest inconsistent with itself.
func (m *Manifest) check() error {
	switch {
	case m.Format != ManifestFormat:
		return fmt.Errorf("manifest format %d, want %d", m.Format, ManifestFormat)
	case checkID(m.ID) != nil:
		return checkID(m.ID)
	case m.Drive == "":
		return errors.New("manifest names no drive")
	case m.Size < 0 || m.ChunkSize <= 0:
		return fmt.Errorf("manifest size %d, chunk size %d", m.Size, m.ChunkSize)
	case int64(len(m.Chunks)) != chunkCount(m.Size, m.ChunkSize):
		return fmt.Errorf("manifest lists %d chunks, an image of %d bytes has %d", len(m.Chunks), m.Size, chunkCount(m.Size, m.ChunkSize))
	case len(m.SHA256) != 64:
		return errors.New("manifest has no image SHA-256")
	}
	return nil
}

// ChunkLen returns the length of chunk i.
func (m *Manifest) ChunkLen(i int) int64 {
	return min(m.ChunkSize, m.Size-int64(i)*m.ChunkSize)
}

// Referenced returns the distinct stored chunks of m (zero chunks left out).
func (m *Manifest) Referenced() map[Hash]bool {
	refs := make(map[Hash]bool, len(m.Chunks))
	for _, h := range m.Chunks {
		if !h.IsZeroChunk() {
			refs[h] = true
		}
	}
	return refs
}

func (s *Store) manifestPath(id string) string {
	return filepath.Join(s.dir, backupsDir, id+manifestSuffix)
}

// WriteManifest records a backup, after syncing the chunk files written
// so far, atomically (mode 0600). Every chunk it names must be in the
// store. A manifest with the same ID is kept when it describes the same
// image of the same drive at the same time (a rerun after a crash), and is
// otherwise an error matching ErrExists.
func (s *Store) WriteManifest(m *Manifest) error {
	if m.Format == 0 {
		m.Format = ManifestFormat
	}
	if err := m.check(); err != nil {
		return err
	}
	for _, h := range m.Chunks {
		ok, err := s.HasChunk(h)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("backup %s names chunk %s, which the store does not hold", m.ID, h)
		}
	}
	if old, err := s.Load(m.ID); err == nil {
		if old.Drive == m.Drive && old.SHA256 == m.SHA256 && old.Time.Equal(m.Time) {
			return nil
		}
		return fmt.Errorf("backup %s: %w", m.ID, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.SyncChunks(); err != nil {
		return fmt.Errorf("sync chunks: %w", err)
	}
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.manifestPath(m.ID), append(data, '\n'), atomicfile.Options{TempPattern: tempPrefix + m.ID + "-*"})
}

// Load reads the manifest of backup id; an error matching ErrNotFound when
// there is none.
func (s *Store) Load(id string) (*Manifest, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	data, err := os.ReadFile(s.manifestPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backup %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", s.manifestPath(id), err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", s.manifestPath(id), err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("manifest %s holds backup %s", s.manifestPath(id), m.ID)
	}
	return &m, nil
}

// List returns every backup of the store, oldest first (ties by ID). An
// unreadable manifest is an error: callers that delete chunks must not
// miss what it references.
func (s *Store) List() ([]*Manifest, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, backupsDir))
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), manifestSuffix)
		if !ok || strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		m, err := s.Load(id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Manifest) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Remove deletes the manifests of the backups ids (their chunks stay until
// Prune). A missing one is no error.
func (s *Store) Remove(ids ...string) error {
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return err
		}
		if err := os.Remove(s.manifestPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return atomicfile.SyncDir(filepath.Join(s.dir, backupsDir))
}
