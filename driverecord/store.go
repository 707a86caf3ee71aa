package driverecord

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/internal/atomicfile"
)

// ErrNotFound reports that no record exists for a drive.
var ErrNotFound = errors.New("no record of the drive's content")

// recordsDir is the folder of records inside the state folder.
const recordsDir = "drives"

// Store keeps records in Dir/drives, created 0700, files 0600.
type Store struct{ Dir string }

// path names the record of a drive: a hash of cloud, endpoint and UUID,
// so a file name never carries what a user did not choose as one.
func (s Store) path(cloud, endpoint, drive string) string {
	sum := sha256.Sum256([]byte(cloud + "\x00" + endpoint + "\x00" + drive))
	return filepath.Join(s.Dir, recordsDir, hex.EncodeToString(sum[:16])+".json")
}

// Load returns the record of a drive, or an error matching ErrNotFound.
func (s Store) Load(cloud, endpoint, drive string) (*Record, error) {
	p := s.path(cloud, endpoint, drive)
	r, err := readRecord(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s", ErrNotFound, drive)
	}
	if err != nil {
		return nil, err
	}
	if r.Cloud != cloud || r.Endpoint != endpoint || r.Drive != drive {
		return nil, fmt.Errorf("%w %s (%s holds another drive's)", ErrNotFound, drive, p)
	}
	return r, nil
}

// Save replaces the record of r's drive.
func (s Store) Save(r *Record) error {
	if err := r.Check(); err != nil {
		return err
	}
	if err := checkEndpoint(r.Endpoint); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p := s.path(r.Cloud, r.Endpoint, r.Drive)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(p, data, atomicfile.Options{})
}

// Remove forgets the record of a drive; none is not an error.
func (s Store) Remove(cloud, endpoint, drive string) error {
	err := os.Remove(s.path(cloud, endpoint, drive))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// checkEndpoint accepts a bare host[:port], so that credentials or a
// signed URL never reach a record.
func checkEndpoint(h string) error {
	for _, c := range h {
		switch c {
		case '/', '\\', '?', '#', '@', ' ', '\t', '\r', '\n', 0:
			return fmt.Errorf("record endpoint %q is not a bare host name", h)
		}
	}
	return nil
}

func readRecord(path string) (*Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// ReadBase reads what a user names with --base: a record file, or a backup
// manifest of a backup store (DIR/backups/ID.json), whose chunk list is the
// drive's content at the backup's time. The result names no cloud or
// endpoint; the caller decides which drive it describes.
func ReadBase(path string) (*Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		ID     string `json:"id"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a drive record or backup manifest: %w", path, err)
	}
	if probe.ID == "" {
		r, err := readRecord(path)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	var m backupstore.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := FromManifest(&m, FromBackup)
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// FromManifest returns the record a backup's manifest stands for: the
// drive held its chunks when the backup was taken.
func FromManifest(m *backupstore.Manifest, source string) *Record {
	return &Record{Format: Format, Drive: m.Drive, Size: m.Size, ChunkSize: m.ChunkSize,
		Chunks: m.Chunks, Source: source, Time: m.Time}
}
