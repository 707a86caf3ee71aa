package cloudsigma

import (
	"cmp"
	"context"
	"fmt"
	"maps"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// CreateSnapshot takes a snapshot of a drive: a copy of its data now. The
// snapshot is `creating` until the returned job finishes, then `available`.
func (s *Store) CreateSnapshot(ctx context.Context, drive, name string, meta map[string]string) (wire.Snapshot, wire.Job, error) {
	s.mu.Lock()
	r, err := s.getDriveLocked(drive)
	if err != nil {
		s.mu.Unlock()
		return wire.Snapshot{}, wire.Job{}, &FieldError{Kind: ErrNotFound, Field: "drive", Msg: MessageOf(err)}
	}
	if busyStatus(r.D.Status) || r.D.Status == wire.StatusUploading || r.writers > 0 {
		s.mu.Unlock()
		return wire.Snapshot{}, wire.Job{}, busy("drive", "drive %s is %s", drive, s.describeBusy(r))
	}
	if name == "" {
		name = r.D.Name + " snapshot"
	}
	id := shared.NewUUID()
	now := s.now().UTC()
	sn := &snapRec{
		S: wire.Snapshot{UUID: id, Name: name, Drive: &wire.Ref{UUID: drive, ResourceURI: driveURI(drive)},
			Status: wire.StatusCreating, Timestamp: now.Format("2006-01-02 15:04:05.000000-07:00"),
			Meta: maps.Clone(meta), Tags: []wire.Ref{}, Owner: owner(), ResourceURI: snapURI(id)},
		Seq:  s.nextSeq(),
		Size: r.D.Size,
	}
	if sn.S.Meta == nil {
		sn.S.Meta = map[string]string{}
	}
	r.copying++
	sn.copying++
	s.snaps[id] = sn
	j := s.newJobLocked("snapshot", r.D.Size, []string{id, drive},
		[]statusChange{{Snapshot: true, UUID: id, From: wire.StatusCreating, To: wire.StatusAvailable}})
	j.Pending = true
	_ = s.saveJob(j)
	s.mu.Unlock()

	n, cerr := shared.SparseCopy(ctx, s.snapPath(id, ".img"), s.drivePath(drive, ".img"), sn.Size)

	s.mu.Lock()
	defer s.mu.Unlock()
	r.copying--
	sn.copying--
	j.Pending = false
	if cerr == nil {
		sn.S.AllocatedSize = n
		cerr = s.saveSnap(sn)
	}
	if cerr != nil {
		s.failJobLocked(j)
		delete(s.snaps, id)
		s.removeSnapFiles(id)
		return wire.Snapshot{}, wire.Job{}, fmt.Errorf("emulator: snapshot: %w", cerr)
	}
	_ = s.saveJob(j)
	s.tickLocked()
	return s.snapView(sn), jobView(j), nil
}

// GetSnapshot returns one snapshot.
func (s *Store) GetSnapshot(id string) (wire.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	sn, ok := s.snaps[id]
	if !ok {
		return wire.Snapshot{}, notFound("uuid", "snapshot %s does not exist", id)
	}
	return s.snapView(sn), nil
}

// ListSnapshots returns the snapshots, oldest first; a non-empty drive keeps
// only that drive's.
func (s *Store) ListSnapshots(drive string) []wire.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	out := []wire.Snapshot{}
	for _, sn := range sortedBySeq(s.snaps, func(r *snapRec) int64 { return r.Seq }) {
		if drive == "" || (sn.S.Drive != nil && sn.S.Drive.UUID == drive) {
			out = append(out, s.snapView(sn))
		}
	}
	return out
}

// UpdateSnapshot edits a snapshot: fn may change name, meta and tags.
func (s *Store) UpdateSnapshot(id string, fn func(*wire.Snapshot) error) (wire.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	sn, ok := s.snaps[id]
	if !ok {
		return wire.Snapshot{}, notFound("uuid", "snapshot %s does not exist", id)
	}
	v := s.snapView(sn)
	if err := fn(&v); err != nil {
		return wire.Snapshot{}, err
	}
	old := sn.S
	sn.S.Name, sn.S.Meta, sn.S.Tags = v.Name, v.Meta, v.Tags
	if sn.S.Meta == nil {
		sn.S.Meta = map[string]string{}
	}
	if sn.S.Tags == nil {
		sn.S.Tags = []wire.Ref{}
	}
	if err := s.saveSnap(sn); err != nil {
		sn.S = old
		return wire.Snapshot{}, err
	}
	return s.snapView(sn), nil
}

// DeleteSnapshot removes a snapshot.
func (s *Store) DeleteSnapshot(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	sn, ok := s.snaps[id]
	if !ok {
		return notFound("uuid", "snapshot %s does not exist", id)
	}
	if sn.copying > 0 {
		return busy("status", "snapshot %s is being copied", id)
	}
	delete(s.snaps, id)
	s.removeSnapFiles(id)
	return nil
}

// CloneSnapshot makes a new drive from an available snapshot, as a job like
// CloneDrive. Empty spec members are taken from the snapshot's drive (or
// defaults when the drive is gone).
func (s *Store) CloneSnapshot(ctx context.Context, id string, spec CloneSpec) (wire.Drive, wire.Job, error) {
	s.mu.Lock()
	s.tickLocked()
	sn, ok := s.snaps[id]
	if !ok {
		s.mu.Unlock()
		return wire.Drive{}, wire.Job{}, notFound("uuid", "snapshot %s does not exist", id)
	}
	if sn.S.Status != wire.StatusAvailable {
		s.mu.Unlock()
		return wire.Drive{}, wire.Job{}, busy("status", "snapshot %s is %s", id, sn.S.Status)
	}
	if spec.Name == "" {
		spec.Name = sn.S.Name
	}
	if sn.S.Drive != nil {
		if r, ok := s.drives[sn.S.Drive.UUID]; ok {
			spec.Media = cmp.Or(spec.Media, r.D.Media)
			spec.StorageType = cmp.Or(spec.StorageType, r.D.StorageType)
		}
	}
	spec.Media = cmp.Or(spec.Media, "disk")
	size := sn.Size
	s.mu.Unlock()
	return s.cloneFrom(ctx, spec, size, s.snapPath(id, ".img"), false, func() (func(), error) {
		sn, ok := s.snaps[id]
		if !ok {
			return nil, notFound("uuid", "snapshot %s does not exist", id)
		}
		sn.copying++
		return func() { sn.copying-- }, nil
	}, "", "snapshot_clone")
}
