package providers

import "context"

// Server is a provider-neutral virtual machine, as far as drivecp needs it:
// to find the drives it uses and whether they may be changed now.
type Server struct {
	ID     string
	Name   string
	Status string // the cloud's own status word
	State  State  // StateReady when stopped, StateInUse when running, StateBusy in between
	// Drives are the drives attached to the server, in the cloud's order.
	Drives []ServerDrive
	Jobs   []string // jobs the API handed out for an operation just started
	Raw    any
}

// ServerDrive is a drive attached to a server.
type ServerDrive struct {
	Drive string // the drive's ID as DriveService knows it
	Slot  string // where it is attached ("0", "1", a device name), if the cloud says
	Size  int64
	Boot  bool // the server boots from it (an operating-system disk)
}

// ServerService reads servers.
type ServerService interface {
	ListServers(ctx context.Context) ([]Server, error)
	GetServer(ctx context.Context, id string) (Server, error)
}

// ServerPower starts and stops servers. Both return the job that tracks
// the operation, or a Job with an empty ID when the API gives none (then
// poll GetServer until its State settles).
type ServerPower interface {
	StopServer(ctx context.Context, id string) (Job, error)
	StartServer(ctx context.Context, id string) (Job, error)
}

// ServerDeleter deletes servers. deleteDrives says what happens to the
// drives attached to it: deleted with it, or detached and kept. It returns
// the job tracking the deletion, or a Job with an empty ID.
type ServerDeleter interface {
	DeleteServer(ctx context.Context, id string, deleteDrives bool) (Job, error)
}

// DriveAttacher attaches drives to servers and detaches them. Where
// Features.AttachNeedsStop is set, both fail with ErrInvalid while the server
// runs. They return the server as it is after the change, with any job in
// Server.Jobs.
type DriveAttacher interface {
	AttachDrive(ctx context.Context, drive, server string) (Server, error)
	DetachDrive(ctx context.Context, drive string) (Server, error)
}

// DriveLimits reports the drive sizes a location allows per storage type,
// so a size out of range is refused before the API is asked.
type DriveLimits interface {
	// DriveSizeRange returns the smallest and largest size of a drive of
	// storageType ("" for the default); ok is false when the cloud does
	// not say.
	DriveSizeRange(ctx context.Context, storageType string) (min, max int64, ok bool, err error)
}

// SnapshotRestorer reverts the target of a snapshot to it.
type SnapshotRestorer interface {
	RestoreSnapshot(ctx context.Context, id string) (Job, error)
}

// Image is a disk image a cloud keeps for making drives or servers from: an
// Online Labs image (whose root volume is a snapshot), an e24cloud disk
// image made from a volume, a CenturyLink template.
type Image struct {
	ID     string
	Name   string
	Size   int64 // bytes, 0 when the API does not say
	Status string
	State  State
	// Source is the snapshot or drive the image was made from, if known.
	Source string
	Public bool // offered by the cloud to every account, not the user's own
	Arch   string
	Jobs   []string
	Raw    any
}

// ImageSpec describes an image to create.
type ImageSpec struct {
	Name string
	// From is the snapshot (Online Labs) or drive (e24cloud) the image is
	// made of; ImageService.ImageSource says which.
	From string
	Meta map[string]string
}

// ImageService manages images.
type ImageService interface {
	ListImages(ctx context.Context) ([]Image, error)
	GetImage(ctx context.Context, id string) (Image, error)
	// CreateImage starts making an image; it may be StateBusy on return.
	CreateImage(ctx context.Context, spec ImageSpec) (Image, error)
	DeleteImages(ctx context.Context, ids ...string) error
	// ImageSource says what ImageSpec.From names: "snapshot" or "drive"; ""
	// when images cannot be created (templates only).
	ImageSource() string
}
