package cloudsigma

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// libDriveSize is the apparent size of every generated library drive.
const libDriveSize int64 = 1 << 30

// libDriveData is how many bytes of pseudo-random content start each library
// drive; the rest is a hole.
const libDriveData = 4 << 20

// libDriveDefs are the generated library drives. Their UUIDs are fixed so
// they are the same in every emulator and across restarts. Like the
// manual's examples (§9.2) the library has a paid, licensed
// pre-installed image and an install CD beside free disks; Media and
// ImageType default to disk and install.
var libDriveDefs = [...]wire.LibDrive{
	{UUID: "6a1b7c3e-0d4f-4e2a-9b1c-000000000001", Name: "Debian 12 (emulated)", OS: "linux", Distribution: "Debian", Version: "12", Arch: "64", Description: "Deterministic test image: 4 MiB of pseudo-random data, then zeros."},
	{UUID: "6a1b7c3e-0d4f-4e2a-9b1c-000000000002", Name: "Ubuntu 24.04 (emulated)", OS: "linux", Distribution: "Ubuntu", Version: "24.04", Arch: "64", Description: "Deterministic test image: 4 MiB of pseudo-random data, then zeros."},
	{UUID: "6a1b7c3e-0d4f-4e2a-9b1c-000000000003", Name: "FreeBSD 14 (emulated)", OS: "other", Distribution: "FreeBSD", Version: "14", Arch: "64", Description: "Deterministic test image: 4 MiB of pseudo-random data, then zeros."},
	{UUID: "6a1b7c3e-0d4f-4e2a-9b1c-000000000004", Name: "Windows Server 2022 Standard (emulated)", OS: "windows", Version: "2022", Arch: "64", Paid: true, ImageType: "preinst", Description: "Deterministic test image standing for a licensed, pre-installed system: 4 MiB of pseudo-random data, then zeros."},
	{UUID: "6a1b7c3e-0d4f-4e2a-9b1c-000000000005", Name: "VirtIO Drivers for Windows (emulated)", OS: "windows", Arch: "64", Media: "cdrom", Description: "Deterministic test CD image: 4 MiB of pseudo-random data, then zeros."},
}

// LibDriveContent returns the first libDriveData bytes of library drive i
// (0-based): a pure function of i, so tests can check a clone's data.
func LibDriveContent(i int) []byte {
	return shared.SeededBytes(fmt.Sprintf("drivecp-libdrive-%d", i), libDriveData)
}

func (s *Store) libPath(id string) string { return filepath.Join(s.dir, libDir, id+".img") }

// initLibDrives generates the library drives' images that are missing.
func (s *Store) initLibDrives() error {
	for i, def := range libDriveDefs {
		l := def
		l.Size, l.Status, l.StorageType = libDriveSize, wire.StatusUnmounted, "dssd"
		l.Media = cmp.Or(l.Media, "disk")
		l.ImageType = cmp.Or(l.ImageType, "install")
		l.ResourceURI = libURI(l.UUID)
		path := s.libPath(l.UUID)
		if fi, err := os.Stat(path); err != nil || fi.Size() != libDriveSize {
			if err := writeLibImage(path, LibDriveContent(i)); err != nil {
				return fmt.Errorf("emulator: library drive %s: %w", l.Name, err)
			}
		}
		s.libs[l.UUID] = &libRec{L: l}
	}
	return nil
}

// writeLibImage writes the image beside its final name and renames it, so a
// crash never leaves a short image that would be taken as complete.
func writeLibImage(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(libDriveSize)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// ListLibDrives returns the library drives in a fixed order.
func (s *Store) ListLibDrives() []wire.LibDrive {
	out := make([]wire.LibDrive, 0, len(libDriveDefs))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, def := range libDriveDefs {
		if l, ok := s.libs[def.UUID]; ok {
			out = append(out, l.L)
		}
	}
	return out
}

// GetLibDrive returns one library drive.
func (s *Store) GetLibDrive(id string) (wire.LibDrive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.libs[id]
	if !ok {
		return wire.LibDrive{}, notFound("uuid", "library drive %s does not exist", id)
	}
	return l.L, nil
}

// CloneLibDrive copies a library drive into a new drive of the user's, as a
// job like CloneDrive.
func (s *Store) CloneLibDrive(ctx context.Context, id string, spec CloneSpec) (wire.Drive, wire.Job, error) {
	l, err := s.GetLibDrive(id)
	if err != nil {
		return wire.Drive{}, wire.Job{}, err
	}
	if spec.Name == "" {
		spec.Name = l.Name
	}
	if spec.Media == "" {
		spec.Media = l.Media
	}
	if spec.StorageType == "" {
		spec.StorageType = l.StorageType
	}
	return s.cloneFrom(ctx, spec, l.Size, s.libPath(id), false,
		func() (func(), error) { return func() {}, nil }, "", "libdrive_clone")
}
