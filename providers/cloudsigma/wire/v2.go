package wire

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Ref is a reference to another resource, as API 2.0 embeds them
// (`{"uuid": ..., "resource_uri": ...}`).
type Ref struct {
	UUID        string `json:"uuid"`
	ResourceURI string `json:"resource_uri,omitempty"`
}

// ListMeta is the `meta` member of an API 2.0 list response.
type ListMeta struct {
	Limit      int `json:"limit"`
	Offset     int `json:"offset"`
	TotalCount int `json:"total_count"`
}

// List is an API 2.0 list envelope. Create requests may also use it.
type List[T any] struct {
	Meta    *ListMeta `json:"meta,omitempty"`
	Objects []T       `json:"objects"`
}

// DriveRuntime is the `runtime` member of a drive.
type DriveRuntime struct {
	IsSnapshotable         *bool  `json:"is_snapshotable"`
	SnapshotsAllocatedSize int64  `json:"snapshots_allocated_size"`
	StorageType            string `json:"storage_type,omitempty"`
}

// Drive is an API 2.0 drive definition. Fields the tool does not interpret
// are kept so `--json` can print what the API sent.
type Drive struct {
	UUID            string            `json:"uuid,omitempty"`
	Name            string            `json:"name"`
	Size            int64             `json:"size"`
	Media           string            `json:"media,omitempty"`
	Status          string            `json:"status,omitempty"`
	StorageType     string            `json:"storage_type,omitempty"`
	AllowMultimount bool              `json:"allow_multimount"`
	Affinities      []string          `json:"affinities"`
	Tags            []Ref             `json:"tags"`
	Meta            map[string]string `json:"meta"`
	Jobs            []Ref             `json:"jobs"`
	Snapshots       []Ref             `json:"snapshots"`
	MountedOn       []Ref             `json:"mounted_on"`
	Licenses        []json.RawMessage `json:"licenses"`
	Grantees        []json.RawMessage `json:"grantees"`
	Permissions     []json.RawMessage `json:"permissions"`
	Owner           *Ref              `json:"owner,omitempty"`
	ResourceURI     string            `json:"resource_uri,omitempty"`
	Runtime         *DriveRuntime     `json:"runtime,omitempty"`
}

// DriveClone is the optional body of `POST /drives/{uuid}/action/?do=clone`
// (and of library-drive and snapshot clones).
type DriveClone struct {
	Name        string   `json:"name,omitempty"`
	Media       string   `json:"media,omitempty"`
	Affinities  []string `json:"affinities,omitempty"`
	StorageType string   `json:"storage_type,omitempty"`
}

// Snapshot is an API 2.0 snapshot.
type Snapshot struct {
	UUID          string            `json:"uuid,omitempty"`
	Name          string            `json:"name"`
	Drive         *Ref              `json:"drive,omitempty"`
	Status        string            `json:"status,omitempty"`
	Timestamp     string            `json:"timestamp,omitempty"`
	AllocatedSize int64             `json:"allocated_size"`
	Meta          map[string]string `json:"meta"`
	Tags          []Ref             `json:"tags"`
	Owner         *Ref              `json:"owner,omitempty"`
	ResourceURI   string            `json:"resource_uri,omitempty"`
}

// LibDrive is an API 2.0 library drive: a drive with image metadata.
type LibDrive struct {
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	Media        string `json:"media"`
	Status       string `json:"status"`
	StorageType  string `json:"storage_type,omitempty"`
	OS           string `json:"os"`
	Distribution string `json:"distribution"`
	Version      string `json:"version"`
	Arch         string `json:"arch"`
	Description  string `json:"description"`
	Favorite     bool   `json:"favorite"`
	Paid         bool   `json:"paid"`
	ImageType    string `json:"image_type"`
	ResourceURI  string `json:"resource_uri,omitempty"`
}

// JobData is the `data` member of a job.
type JobData struct {
	Progress int `json:"progress"`
}

// Job is an API 2.0 job, as created by clones and snapshots. State is one of
// the Job* constants; Data.Progress reaches 100 when the job is finished.
type Job struct {
	UUID         string   `json:"uuid"`
	Operation    string   `json:"operation"`
	State        string   `json:"state"`
	Data         JobData  `json:"data"`
	Resources    []string `json:"resources"`
	Children     []string `json:"children"`
	Parent       *string  `json:"parent"`
	Created      string   `json:"created"`
	LastModified string   `json:"last_modified"`
	ResourceURI  string   `json:"resource_uri,omitempty"`
}

// Job states.
const (
	JobStarted = "started"
	JobSuccess = "success"
	JobFailed  = "failed"
)

// Drive statuses seen in practice.
const (
	StatusCreating    = "creating"
	StatusUnmounted   = "unmounted"
	StatusMounted     = "mounted"
	StatusResizing    = "resizing"
	StatusCloningDst  = "cloning_dst"
	StatusCloningSrc  = "cloning_src"
	StatusUploading   = "uploading"
	StatusUnavailable = "unavailable"
	StatusAvailable   = "available" // snapshots
)

// Location is one entry of `GET /locations/`. UploadURL is the
// authoritative direct-transfer host for the location.
type Location struct {
	ID          string `json:"id"`
	Country     string `json:"country_code"`
	DisplayName string `json:"display_name"`
	APIEndpoint string `json:"api_endpoint"`
	UploadURL   string `json:"upload_url"`
}

// SizeRange is a drive size range as the capabilities object gives it per
// storage type (`"dssd": {"max_size": ..., "min_size": ...}`).
type SizeRange struct {
	Min int64 `json:"min_size"`
	Max int64 `json:"max_size"`
}

// DriveCapabilities is the per-storage-type drive size range.
type DriveCapabilities struct {
	DSSD SizeRange `json:"dssd"`
}

// Capabilities is the part of `GET /capabilities/` the tool uses.
type Capabilities struct {
	Drives DriveCapabilities `json:"drives"`
}

// Field names of the resumable upload protocol.
const (
	ResumableChunkNumber = "resumableChunkNumber"
	ResumableChunkSize   = "resumableChunkSize"
	ResumableTotalSize   = "resumableTotalSize"
	ResumableIdentifier  = "resumableIdentifier"
	ResumableFilename    = "resumableFilename"
	ResumableFilePart    = "file"
)

// ResumableChunkCount is the number of chunks the protocol uses for a file of
// size bytes: max(1, size/chunkSize); the last chunk carries the remainder.
func ResumableChunkCount(size, chunkSize int64) int {
	n := size / chunkSize
	if n < 1 {
		n = 1
	}
	return int(n)
}

// Error types of API 2.0 error lists.
const (
	ErrTypeValidation  = "validation"
	ErrTypeNotExist    = "notexist"
	ErrTypeBackend     = "backend"
	ErrTypePermission  = "permission"
	ErrTypeDatabase    = "database"
	ErrTypeConcurrency = "concurrency"
	ErrTypeBilling     = "billing"
	ErrTypePayment     = "payment"
)

// ErrorItem is one element of an API 2.0 error response, which is a JSON list
// of these. ErrorPoint is always present but may be null.
type ErrorItem struct {
	ErrorType    string  `json:"error_type"`
	ErrorMessage string  `json:"error_message"`
	ErrorPoint   *string `json:"error_point"`
}

// ErrorList is an API 2.0 error response body.
type ErrorList []ErrorItem

// String renders the list as one line, e.g. `validation: size: too small`.
func (l ErrorList) String() string {
	parts := make([]string, 0, len(l))
	for _, e := range l {
		s := e.ErrorType + ": "
		if e.ErrorPoint != nil && *e.ErrorPoint != "" {
			s += *e.ErrorPoint + ": "
		}
		parts = append(parts, s+e.ErrorMessage)
	}
	return strings.Join(parts, "; ")
}

// NewError builds a one-element error list.
func NewError(typ, point, format string, args ...any) ErrorList {
	item := ErrorItem{ErrorType: typ, ErrorMessage: fmt.Sprintf(format, args...)}
	if point != "" {
		item.ErrorPoint = &point
	}
	return ErrorList{item}
}
