package cloudsigma

import (
	"os"
	"path/filepath"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// loadRecords reads every `<uuid>.json` record of the store's folder dir
// into m. A record whose own UUID (from key, with its sequence number)
// differs from its file name is skipped; the store's sequence is raised
// past every record's.
func loadRecords[T any](s *Store, dir string, m map[string]*T, key func(*T) (string, int64)) error {
	return shared.LoadJSONDir(filepath.Join(s.dir, dir), func(name string, r *T) {
		if uuid, seq := key(r); uuid == name {
			m[uuid] = r
			s.seq = max(s.seq, seq)
		}
	})
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

func (s *Store) drivePath(id, ext string) string {
	return filepath.Join(s.dir, drivesDir, id+ext)
}

func (s *Store) snapPath(id, ext string) string {
	return filepath.Join(s.dir, snapshotsDir, id+ext)
}

func (s *Store) saveDrive(r *driveRec) error {
	return shared.WriteJSON(s.drivePath(r.D.UUID, ".json"), r)
}

func (s *Store) saveSnap(r *snapRec) error {
	return shared.WriteJSON(s.snapPath(r.S.UUID, ".json"), r)
}

func (s *Store) saveJob(r *jobRec) error {
	return shared.WriteJSON(filepath.Join(s.dir, jobsDir, r.J.UUID+".json"), r)
}

func (s *Store) removeDriveFiles(id string) {
	_ = os.Remove(s.drivePath(id, ".json"))
	_ = os.Remove(s.drivePath(id, ".img"))
}

func (s *Store) removeSnapFiles(id string) {
	_ = os.Remove(s.snapPath(id, ".json"))
	_ = os.Remove(s.snapPath(id, ".img"))
}
