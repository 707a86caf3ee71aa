// Package providers defines what drivecp needs from a cloud: drive,
// snapshot, library-drive and job management, and the chunk I/O the
// transfer engine drives. A provider may implement only part of it; callers
// discover what is there with type assertions and report ErrUnsupported.
//
// Error contract: every method returns errors that match the kinds in
// errors.go with errors.Is (ErrNotFound, ErrAuth, ErrPermission, ErrInvalid,
// ErrExpired, ...) and, for answers of the API, wrap an *APIError;
// IsRetryable tells the retry wrapper which failures may be repeated.
// Methods honour ctx cancellation and never retry on their own: retries,
// bandwidth and concurrency limits are wrappers, assembled in one place.
package providers

import (
	"context"
	"io"
)

// Drive is a provider-neutral drive description.
type Drive struct {
	UUID        string
	Name        string
	Size        int64
	Status      string // the cloud's own status word, for display
	State       State  // Status mapped onto the neutral states
	Media       string
	StorageType string
	Tags        []string
	Meta        map[string]string
	Jobs        []string // UUIDs of jobs running on the drive (clones)
	// Servers lists the servers the drive is attached to or mounted on.
	Servers []string
	Raw     any // the provider's own object, printed by --json
}

// Snapshot is a provider-neutral snapshot description.
type Snapshot struct {
	UUID      string
	Name      string
	Drive     string // UUID of the drive (or server, Features.SnapshotOf) it was taken of
	Status    string // the cloud's own status word
	State     State
	Size      int64 // allocated bytes
	Timestamp string
	Meta      map[string]string
	Jobs      []string // jobs the API handed out for the snapshot's creation
	Raw       any
}

// SnapshotSpec describes a snapshot to take.
type SnapshotSpec struct {
	// Target is the drive, or on clouds whose Features.SnapshotOf is
	// SnapshotOfServer the server, to snapshot.
	Target string
	Name   string
	Meta   map[string]string
	// ExpireDays makes the snapshot expire after that many days on clouds
	// whose snapshots expire; 0 takes the cloud's default.
	ExpireDays int
	// Replace allows replacing the target's existing snapshot on clouds
	// that keep at most Features.MaxSnapshotsPerTarget of them; without it
	// such a creation fails with ErrInvalid.
	Replace bool
}

// LibDrive is a library drive: a read-only image offered for cloning.
type LibDrive struct {
	UUID         string
	Name         string
	Size         int64
	Status       string
	State        State
	OS           string
	Distribution string
	Version      string
	Arch         string
	Raw          any
}

// Job is an asynchronous operation (clone, snapshot) and its progress.
type Job struct {
	UUID      string
	Operation string
	Status    string // the cloud's own state word (started, success, ...)
	State     State  // StateBusy while running, StateReady on success, StateFailed
	Progress  int    // 0..100; -1 when the API does not say
	Resources []string
	Raw       any
}

// DriveFilter narrows a drive listing; empty fields do not filter. Several
// values of one field are alternatives (OR).
type DriveFilter struct {
	Names    []string
	UUIDs    []string
	Tags     []string
	Statuses []string
	// Server, on clouds with servers, asks for the drives attached to that
	// server only. A provider may ignore it: callers filter by
	// Drive.Servers as well.
	Server string
}

// DriveSpec describes a drive to create.
type DriveSpec struct {
	// Server is the server the drive is added to, on clouds whose drives
	// are servers' disks (CenturyLink); Path is where it is mounted there.
	Server, Path string
	Name         string
	Size         int64
	Media        string // disk (default) or cdrom
	StorageType  string
	Tags         []string
	Meta         map[string]string
}

// DriveEdit changes a drive; nil fields are left as they are.
type DriveEdit struct {
	Name *string
	Tags []string          // replaces the tags when non-nil
	Meta map[string]string // replaces the metadata when non-nil
}

// CloneSpec describes the drive a clone creates; zero fields take the
// source's values.
type CloneSpec struct {
	Name        string
	Size        int64 // API 1.0 only: must be at least the source size
	Media       string
	StorageType string
	Avoid       []string // drive UUIDs whose infrastructure the clone must avoid
}

// DriveService manages drives.
type DriveService interface {
	ListDrives(ctx context.Context, f DriveFilter) ([]Drive, error)
	GetDrive(ctx context.Context, uuid string) (Drive, error)
	CreateDrive(ctx context.Context, spec DriveSpec) (Drive, error)
	// DeleteDrives deletes all the given drives, in one request where the
	// API allows it.
	DeleteDrives(ctx context.Context, uuids ...string) error
	// CloneDrive starts a clone and returns the new drive at once; it may
	// still be cloning (see Drive.Jobs and JobService).
	CloneDrive(ctx context.Context, uuid string, spec CloneSpec) (Drive, error)
}

// DriveEditor edits and resizes drives.
type DriveEditor interface {
	EditDrive(ctx context.Context, uuid string, edit DriveEdit) (Drive, error)
	// ResizeDrive starts a resize; the drive may be `resizing` on return.
	ResizeDrive(ctx context.Context, uuid string, size int64) (Drive, error)
}

// SnapshotService manages snapshots.
type SnapshotService interface {
	// ListSnapshots lists snapshots, of one drive when drive is not empty.
	ListSnapshots(ctx context.Context, drive string) ([]Snapshot, error)
	GetSnapshot(ctx context.Context, uuid string) (Snapshot, error)
	// CreateSnapshot starts a snapshot; it may still be StateBusy on return.
	CreateSnapshot(ctx context.Context, spec SnapshotSpec) (Snapshot, error)
	EditSnapshot(ctx context.Context, uuid string, name *string, meta map[string]string) (Snapshot, error)
	DeleteSnapshots(ctx context.Context, uuids ...string) error
	// CloneSnapshot starts cloning a snapshot to a new drive.
	CloneSnapshot(ctx context.Context, uuid string, spec CloneSpec) (Drive, error)
}

// LibDriveService lists and clones library drives.
type LibDriveService interface {
	// ListLibDrives lists library drives whose OS matches os, or all when
	// os is empty.
	ListLibDrives(ctx context.Context, os string) ([]LibDrive, error)
	GetLibDrive(ctx context.Context, uuid string) (LibDrive, error)
	CloneLibDrive(ctx context.Context, uuid string, spec CloneSpec) (Drive, error)
}

// JobService reads asynchronous jobs.
type JobService interface {
	ListJobs(ctx context.Context) ([]Job, error)
	GetJob(ctx context.Context, uuid string) (Job, error)
}

// OffsetWriter writes drive bytes at arbitrary offsets (API 1.0's write).
type OffsetWriter interface {
	// WriteAt stores a chunk at off. When gzipped is true, body is one gzip
	// member whose decoded bytes are the chunk; otherwise body is the chunk.
	WriteAt(ctx context.Context, drive string, off int64, body []byte, gzipped bool) error
}

// OffsetReader reads drive bytes at arbitrary offsets (API 1.0's read).
type OffsetReader interface {
	// ReadAt fills dst with the drive's bytes starting at off. len(dst) must
	// not exceed MaxReadSize.
	ReadAt(ctx context.Context, drive string, off int64, dst []byte) error
	// MaxReadSize is the largest read one request may ask for.
	MaxReadSize() int64
}

// UploadChunk names one chunk of a chunked, resumable upload. Number is
// 1-based; chunk k starts at (k-1)*ChunkSize and the last chunk carries the
// remainder.
type UploadChunk struct {
	Number     int
	ChunkSize  int64
	TotalSize  int64
	Identifier string // stable for one file, so a later run can resume
	Filename   string
}

// ResumableUploader uploads a file as numbered chunks into a drive that
// InitUpload created (API 2.0's chunked upload).
type ResumableUploader interface {
	InitUpload(ctx context.Context, name string, size int64) (Drive, error)
	// ChunkStored asks whether the server already has chunk c.
	ChunkStored(ctx context.Context, drive string, c UploadChunk) (bool, error)
	// PutChunk stores data as chunk c.
	PutChunk(ctx context.Context, drive string, c UploadChunk, data []byte) error
}

// DirectUploader uploads a whole image in one request (API 2.0's direct
// upload) and returns the new drive's UUID.
type DirectUploader interface {
	UploadDirect(ctx context.Context, name string, body io.Reader, size int64) (string, error)
}

// RangeReader is what a download reads: a body and where it starts.
type RangeReader struct {
	Body io.ReadCloser
	// Offset is where Body starts; it is 0 when the server ignored the
	// requested range and sent the whole image.
	Offset int64
	// Length is the number of bytes Body carries, -1 when unknown.
	Length int64
	// Total is the size of the whole image, -1 when unknown.
	Total int64
	// Name is the file name the server suggested (Content-Disposition),
	// unsanitised.
	Name string
}

// Downloader reads a drive's image through short-lived transfer URLs (API
// 2.0's download endpoint, which redirects to a storage host).
type Downloader interface {
	// DownloadURL asks the API for a fresh transfer URL of the drive. The
	// URL carries its own authorisation and must be fetched without
	// credentials.
	DownloadURL(ctx context.Context, drive string) (string, error)
	// OpenRange requests length bytes at off (length < 0: to the end) from a
	// transfer URL. A refused or expired URL returns ErrExpired.
	OpenRange(ctx context.Context, url string, off, length int64) (*RangeReader, error)
}
