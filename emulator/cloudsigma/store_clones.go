package cloudsigma

import (
	"context"
	"fmt"
	"slices"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// CloneSpec describes the drive a clone creates. Empty members are taken
// from the source; Size, when set, must be at least the source's size
// (API 1.0 asks for it, API 2.0 does not).
type CloneSpec struct {
	Name        string
	Media       string
	StorageType string
	Affinities  []string
	Size        int64
}

// CloneDrive copies drive src into a new drive. The copy is made (sparsely)
// before it returns; the new drive is `cloning_dst` and src `cloning_src`
// until the returned job finishes.
func (s *Store) CloneDrive(ctx context.Context, src string, spec CloneSpec) (wire.Drive, wire.Job, error) {
	return s.cloneDrive(ctx, src, spec, false)
}

// cloneDrive implements CloneDrive; instant finishes the job at once, for
// API 1.0 whose clone is synchronous.
func (s *Store) cloneDrive(ctx context.Context, src string, spec CloneSpec, instant bool) (wire.Drive, wire.Job, error) {
	s.mu.Lock()
	r, err := s.getDriveLocked(src)
	if err != nil {
		s.mu.Unlock()
		return wire.Drive{}, wire.Job{}, err
	}
	if busyStatus(r.D.Status) || r.D.Status == wire.StatusUploading || r.writers > 0 {
		s.mu.Unlock()
		return wire.Drive{}, wire.Job{}, busy("status", "drive %s is %s", src, s.describeBusy(r))
	}
	base := r.D
	if spec.Name == "" {
		spec.Name = base.Name
	}
	if spec.Media == "" {
		spec.Media = base.Media
	}
	if spec.StorageType == "" {
		spec.StorageType = base.StorageType
	}
	if spec.Affinities == nil {
		spec.Affinities = slices.Clone(base.Affinities)
	}
	s.mu.Unlock()
	return s.cloneFrom(ctx, spec, base.Size, s.drivePath(src, ".img"), instant,
		func() (func(), error) {
			// Re-checked under the lock: the source may have changed while
			// the lock was released.
			r, ok := s.drives[src]
			if !ok {
				return nil, notFound("uuid", "drive %s does not exist", src)
			}
			if busyStatus(r.D.Status) || r.D.Status == wire.StatusUploading || r.writers > 0 {
				return nil, busy("status", "drive %s is %s", src, s.describeBusy(r))
			}
			r.copying++
			return func() { r.copying-- }, nil
		}, src, "drive_clone")
}

// cloneFrom creates the destination drive in `cloning_dst`, copies srcPath
// into it outside the lock and registers the job. lockSrc runs under the
// lock, marks the source busy and returns the function that releases it.
// srcDrive, when not empty, is set to `cloning_src` for the job's duration.
func (s *Store) cloneFrom(ctx context.Context, spec CloneSpec, srcSize int64, srcPath string, instant bool,
	lockSrc func() (func(), error), srcDrive, operation string) (wire.Drive, wire.Job, error) {
	size := srcSize
	if spec.Size != 0 {
		if spec.Size < srcSize {
			return wire.Drive{}, wire.Job{}, invalid("size", "the clone's size %d is less than the original's %d", spec.Size, srcSize)
		}
		size = spec.Size
	}
	if err := s.validSize("size", size); err != nil {
		return wire.Drive{}, wire.Job{}, err
	}
	if spec.Media != "disk" && spec.Media != "cdrom" {
		return wire.Drive{}, wire.Job{}, invalid("media", "must be disk or cdrom")
	}

	s.mu.Lock()
	release, err := lockSrc()
	if err != nil {
		s.mu.Unlock()
		return wire.Drive{}, wire.Job{}, err
	}
	dst, err := s.newDriveLocked(wire.Drive{Name: spec.Name, Size: size, Media: spec.Media,
		StorageType: spec.StorageType, Affinities: spec.Affinities}, wire.StatusCloningDst)
	if err != nil {
		release()
		s.mu.Unlock()
		return wire.Drive{}, wire.Job{}, err
	}
	dst.copying++ // nobody deletes or writes it while the copy runs
	changes := []statusChange{{UUID: dst.D.UUID, From: wire.StatusCloningDst, To: wire.StatusUnmounted}}
	resources := []string{dst.D.UUID}
	if srcDrive != "" {
		sr := s.drives[srcDrive]
		if sr.D.Status != wire.StatusCloningSrc {
			changes = append(changes, statusChange{UUID: srcDrive, From: wire.StatusCloningSrc, To: sr.D.Status})
			sr.D.Status = wire.StatusCloningSrc
			_ = s.saveDrive(sr) // best effort: a stale status is repaired when the job ends
		}
		resources = append(resources, srcDrive)
	}
	j := s.newJobLocked(operation, size, resources, changes)
	j.Pending = true
	_ = s.saveJob(j)
	s.mu.Unlock()

	_, cerr := shared.SparseCopy(ctx, s.drivePath(dst.D.UUID, ".img"), srcPath, srcSize)

	s.mu.Lock()
	defer s.mu.Unlock()
	release()
	dst.copying--
	j.Pending = false
	if cerr != nil {
		s.failJobLocked(j)
		delete(s.drives, dst.D.UUID)
		s.removeDriveFiles(dst.D.UUID)
		return wire.Drive{}, wire.Job{}, fmt.Errorf("emulator: clone: %w", cerr)
	}
	if instant {
		j.Duration = 0
	}
	_ = s.saveJob(j)
	s.tickLocked()
	return s.driveView(dst), jobView(j), nil
}
