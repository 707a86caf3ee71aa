package cloudsigma

import (
	"fmt"
	"os"
	"strings"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

func (s *Store) validSize(field string, size int64) error {
	if size <= 0 {
		return invalid(field, "must be a positive number of bytes")
	}
	if size > s.maxDrive {
		return invalid(field, "must be at most %d bytes", s.maxDrive)
	}
	return nil
}

// MaxDriveSize returns the largest drive the store accepts.
func (s *Store) MaxDriveSize() int64 { return s.maxDrive }

// busyStatus reports whether a drive status forbids writes, deletes, clones
// and resizes.
func busyStatus(st string) bool {
	switch st {
	case wire.StatusCloningDst, wire.StatusCloningSrc, wire.StatusResizing, wire.StatusCreating:
		return true
	}
	return false
}

func (s *Store) getDriveLocked(id string) (*driveRec, error) {
	s.tickLocked()
	r, ok := s.drives[id]
	if !ok {
		return nil, notFound("uuid", "drive %s does not exist", id)
	}
	return r, nil
}

// CreateDrive creates an empty (all zeros) drive from d's name, size, media,
// storage type, affinities, tags and meta; the server assigns the UUID and
// the status `unmounted`.
func (s *Store) CreateDrive(d wire.Drive) (wire.Drive, error) {
	if strings.TrimSpace(d.Name) == "" {
		return wire.Drive{}, invalid("name", "this field is required")
	}
	if err := s.validSize("size", d.Size); err != nil {
		return wire.Drive{}, err
	}
	if d.Media != "" && d.Media != "disk" && d.Media != "cdrom" {
		return wire.Drive{}, invalid("media", "must be disk or cdrom")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.newDriveLocked(d, wire.StatusUnmounted)
	if err != nil {
		return wire.Drive{}, err
	}
	return s.driveView(r), nil
}

// ProvisionDrive creates a drive as the API does: like CreateDrive, but the
// drive is `creating` for the store's transition time before it becomes
// `unmounted`, and refuses writes, clones and deletes meanwhile.
func (s *Store) ProvisionDrive(d wire.Drive) (wire.Drive, error) {
	nd, err := s.CreateDrive(d)
	if err != nil || s.transition <= 0 {
		return nd, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.drives[nd.UUID]
	if !ok {
		return nd, nil
	}
	s.settleLocked(r, wire.StatusCreating, wire.StatusUnmounted)
	return s.driveView(r), nil
}

// settleLocked puts drive r in transitional status now for the store's
// transition time, after which it takes status then.
func (s *Store) settleLocked(r *driveRec, now, then string) {
	r.D.Status, r.SettlesTo = now, then
	r.Settles = s.now().Add(s.transition)
	_ = s.saveDrive(r)
}

// newDriveLocked creates the drive's sparse file and metadata.
func (s *Store) newDriveLocked(d wire.Drive, status string) (*driveRec, error) {
	d.UUID = shared.NewUUID()
	d.Status = status
	d.Jobs, d.Snapshots, d.Runtime = nil, nil, nil
	normalizeDrive(&d)
	r := &driveRec{D: d, Seq: s.nextSeq()}
	if err := shared.CreateSparse(s.drivePath(d.UUID, ".img"), d.Size); err != nil {
		return nil, fmt.Errorf("emulator: create drive: %w", err)
	}
	if err := s.saveDrive(r); err != nil {
		s.removeDriveFiles(d.UUID)
		return nil, err
	}
	s.drives[d.UUID] = r
	return r, nil
}

// GetDrive returns one drive.
func (s *Store) GetDrive(id string) (wire.Drive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		return wire.Drive{}, err
	}
	return s.driveView(r), nil
}

// ListDrives returns every drive, oldest first.
func (s *Store) ListDrives() []wire.Drive {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	out := []wire.Drive{}
	for _, r := range sortedBySeq(s.drives, func(r *driveRec) int64 { return r.Seq }) {
		out = append(out, s.driveView(r))
	}
	return out
}

// UpdateDrive edits a drive: fn receives a copy and may change name, media,
// storage type, affinities, tags, meta, allow_multimount and size (grow
// only; the data file grows at once, the drive is `resizing` for the
// store's transition time). Other members are ignored.
func (s *Store) UpdateDrive(id string, fn func(*wire.Drive) error) (wire.Drive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		return wire.Drive{}, err
	}
	d := s.driveView(r)
	if err := fn(&d); err != nil {
		return wire.Drive{}, err
	}
	if strings.TrimSpace(d.Name) == "" {
		return wire.Drive{}, invalid("name", "this field is required")
	}
	if d.Media != "disk" && d.Media != "cdrom" {
		return wire.Drive{}, invalid("media", "must be disk or cdrom")
	}
	if d.Size != r.D.Size {
		if err := s.checkResizeLocked(r, d.Size); err != nil {
			return wire.Drive{}, err
		}
		if err := os.Truncate(s.drivePath(id, ".img"), d.Size); err != nil {
			return wire.Drive{}, fmt.Errorf("emulator: resize: %w", err)
		}
	}
	nd := r.D
	nd.Name, nd.Media, nd.StorageType, nd.Size = d.Name, d.Media, d.StorageType, d.Size
	nd.Affinities, nd.Tags, nd.Meta, nd.AllowMultimount = d.Affinities, d.Tags, d.Meta, d.AllowMultimount
	normalizeDrive(&nd)
	old := r.D
	r.D = nd
	if err := s.saveDrive(r); err != nil {
		r.D = old
		return wire.Drive{}, err
	}
	if nd.Size != old.Size && s.transition > 0 {
		// The data file grew at once; the API reports the resize as a
		// while in `resizing`, as its resize action does.
		s.settleLocked(r, wire.StatusResizing, old.Status)
	}
	return s.driveView(r), nil
}

func (s *Store) checkResizeLocked(r *driveRec, size int64) error {
	if err := s.validSize("size", size); err != nil {
		return err
	}
	if size < r.D.Size {
		return invalid("size", "cannot shrink a drive from %d to %d bytes", r.D.Size, size)
	}
	if busyStatus(r.D.Status) || r.D.Status == wire.StatusUploading || r.handles > 0 || r.copying > 0 {
		return busy("status", "drive %s is %s", r.D.UUID, s.describeBusy(r))
	}
	return nil
}

func (s *Store) describeBusy(r *driveRec) string {
	switch {
	case r.copying > 0:
		return "being copied"
	case r.handles > 0:
		return "being read or written"
	}
	return r.D.Status
}

// ResizeDrive grows a drive to size bytes. The drive is `resizing` until the
// returned job finishes, then `unmounted`.
func (s *Store) ResizeDrive(id string, size int64) (wire.Drive, wire.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		return wire.Drive{}, wire.Job{}, err
	}
	if err := s.checkResizeLocked(r, size); err != nil {
		return wire.Drive{}, wire.Job{}, err
	}
	if err := os.Truncate(s.drivePath(id, ".img"), size); err != nil {
		return wire.Drive{}, wire.Job{}, fmt.Errorf("emulator: resize: %w", err)
	}
	prev := r.D.Status
	r.D.Size = size
	r.D.Status = wire.StatusResizing
	if err := s.saveDrive(r); err != nil {
		return wire.Drive{}, wire.Job{}, err
	}
	j := s.newJobLocked("drive_resize", size, []string{id}, []statusChange{{UUID: id, From: wire.StatusResizing, To: prev}})
	return s.driveView(r), jobView(j), nil
}

// DeleteDrive removes a drive, its data and its snapshots.
func (s *Store) DeleteDrive(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		return err
	}
	if busyStatus(r.D.Status) || r.handles > 0 || r.copying > 0 {
		return busy("status", "drive %s is %s", id, s.describeBusy(r))
	}
	for sid, sn := range s.snaps {
		if sn.S.Drive != nil && sn.S.Drive.UUID == id && sn.copying > 0 {
			return busy("snapshots", "snapshot %s of drive %s is being copied", sid, id)
		}
	}
	delete(s.drives, id)
	s.removeDriveFiles(id)
	for sid, sn := range s.snaps {
		if sn.S.Drive != nil && sn.S.Drive.UUID == id {
			delete(s.snaps, sid)
			s.removeSnapFiles(sid)
		}
	}
	return nil
}
