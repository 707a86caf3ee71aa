package cloudsigma

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// loadRecords reads every `<uuid>.json` record of the store's folder dir
// into m. A record whose own UUID (from key, with its sequence number)
// differs from its file name is skipped; the store's sequence is raised
// past every record's.
func loadRecords[T any](s *Store, dir string, m map[string]*T, key func(*T) (string, int64)) error {
	dir = filepath.Join(s.dir, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		r := new(T)
		if err := json.Unmarshal(b, r); err != nil {
			return fmt.Errorf("emulator: %s: %w", filepath.Join(dir, name), err)
		}
		if uuid, seq := key(r); uuid == strings.TrimSuffix(name, ".json") {
			m[uuid] = r
			s.seq = max(s.seq, seq)
		}
	}
	return nil
}

func (s *Store) load() error {
	if err := loadRecords(s, drivesDir, s.drives, func(r *driveRec) (string, int64) { return r.D.UUID, r.Seq }); err != nil {
		return err
	}
	if err := loadRecords(s, snapshotsDir, s.snaps, func(r *snapRec) (string, int64) { return r.S.UUID, r.Seq }); err != nil {
		return err
	}
	if err := loadRecords(s, jobsDir, s.jobs, func(r *jobRec) (string, int64) { return r.J.UUID, r.Seq }); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.J.State == wire.JobStarted && j.Pending {
			s.abandonJobLocked(j)
		}
	}
	// Jobs that ended while the emulator was stopped finish now.
	s.tickLocked()
	return nil
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Store) drivePath(id, ext string) string {
	return filepath.Join(s.dir, drivesDir, id+ext)
}

func (s *Store) snapPath(id, ext string) string {
	return filepath.Join(s.dir, snapshotsDir, id+ext)
}

// writeJSONAtomic writes v to path so that a killed emulator leaves either
// the old or the new file, never a torn one.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	// Atomic replacement survives a killed emulator, which is what tests
	// and restarts need. No fsync: metadata is saved after every chunk of
	// a chunked upload, and the emulator must not be what the benchmarks
	// measure; a power loss is not a case this test double serves.
	if err := atomicfile.Write(path, b, atomicfile.Options{NoSync: true}); err != nil {
		return fmt.Errorf("emulator: save %s: %w", filepath.Base(path), err)
	}
	return nil
}

func (s *Store) saveDrive(r *driveRec) error {
	return writeJSONAtomic(s.drivePath(r.D.UUID, ".json"), r)
}

func (s *Store) saveSnap(r *snapRec) error {
	return writeJSONAtomic(s.snapPath(r.S.UUID, ".json"), r)
}

func (s *Store) saveJob(r *jobRec) error {
	return writeJSONAtomic(filepath.Join(s.dir, jobsDir, r.J.UUID+".json"), r)
}

func (s *Store) removeDriveFiles(id string) {
	_ = os.Remove(s.drivePath(id, ".json"))
	_ = os.Remove(s.drivePath(id, ".img"))
}

func (s *Store) removeSnapFiles(id string) {
	_ = os.Remove(s.snapPath(id, ".json"))
	_ = os.Remove(s.snapPath(id, ".img"))
}

// createSparse creates path as an empty file of size bytes, which costs no
// disk space whatever the size.
func createSparse(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
