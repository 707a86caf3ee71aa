package providers

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Cloud is one cloud drivecp can serve, as it registers itself: its name,
// the settings it reads and how to open it. Clouds are assembled into a
// Registry in one place (package providers/all); nothing registers itself
// into global state.
type Cloud struct {
	// Name is what --cloud and DRIVECP_CLOUD select, lower case.
	Name string
	// Summary is one line for listings: the provider and its API.
	Summary string
	// Settings are the values Open reads from the Config, with the flags
	// and environment variables users set them with.
	Settings []Setting
	// Capabilities say what Open's provider offers, for listings without
	// credentials; the conformance suite checks they match.
	Capabilities Capabilities
	// Open connects to the cloud with the resolved settings. It checks the
	// settings (a missing credential is ErrInvalid with a hint naming the
	// variables) but need not send a request: authentication failures may
	// surface at the first call.
	Open func(ctx context.Context, cfg Config, o OpenOptions) (*Provider, error)
}

// Setting is one configuration value of a cloud: a global flag named Name
// and, when the flag is not given, the first of Env that is set, else
// Default. Settings of the same Name in several clouds share the flag; each
// cloud keeps its own environment variables, following that cloud's own
// tools (CLOUDSIGMA_PASSWORD, CLC_PASSWORD, ...).
type Setting struct {
	Name    string   // flag name without dashes: "endpoint", "username", "token"
	Env     []string // environment variables, first match wins
	Usage   string
	Default string
	// Secret settings (passwords, tokens, keys) are never printed, never
	// written into state, and redacted from --debug traces.
	Secret bool
	// FileOf, when set, makes this setting a file whose first line is the
	// value of the setting it names (password-file → password), as secret
	// stores hand secrets over. Giving both is a usage error.
	FileOf string
}

// Config holds a cloud's resolved settings by Setting.Name. Empty means
// unset.
type Config map[string]string

// OpenOptions are what the command line passes to every cloud's Open.
type OpenOptions struct {
	// Version is drivecp's version, for the User-Agent.
	Version string
	// Concurrency is how many requests the caller may run at once; it sizes
	// connection pools.
	Concurrency int
	// Trace, when not nil, receives a line per HTTP request and answer with
	// every secret redacted (--debug).
	Trace io.Writer
	// Transfer says the caller will move bytes: Open resolves what the
	// transfer paths need (CloudSigma looks up its direct transfer host).
	Transfer bool
	// Retry runs a request Open itself must send under the caller's retry
	// policy (--retries, --retry-time); nil sends it once.
	Retry func(ctx context.Context, what string, fn func(ctx context.Context) error) error
}

// Do runs fn under o.Retry, or once when it is nil.
func (o OpenOptions) Do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	if o.Retry == nil {
		return fn(ctx)
	}
	return o.Retry(ctx, what, fn)
}

// Provider is an opened cloud: its services, each nil when the cloud lacks
// it, what its transfers can do, and its features. Callers ask the
// Provider, never the cloud's name, what is possible.
//
// Error contract: every method of every service returns errors that match
// the kinds of errors.go with errors.Is and honours ctx; methods never
// retry on their own (the registry's caller wraps them, see Wrap).
type Provider struct {
	// Cloud is the registered name of the cloud.
	Cloud string
	// Endpoint names the API endpoint in checkpoints, manifests and
	// messages: host[:port] only, never credentials, paths or queries.
	Endpoint string
	Services
	// Transfers are the ways of moving bytes, the default first; empty
	// when the cloud's API has no byte path.
	Transfers []TransferAPI
	Features  Features
}

// Services are a provider's management services; a nil field is a service
// the cloud does not offer.
type Services struct {
	Drives      DriveService
	DriveEditor DriveEditor
	Snapshots   SnapshotService
	// SnapshotRestorer reverts a target to a snapshot (CenturyLink).
	SnapshotRestorer SnapshotRestorer
	LibDrives        LibDriveService
	Images           ImageService
	Jobs             JobService
	Servers          ServerService
	ServerPower      ServerPower
	ServerDeleter    ServerDeleter
	Attacher         DriveAttacher
	Limits           DriveLimits
}

// TransferAPI is one way a cloud moves drive bytes. A cloud with two APIs
// (CloudSigma's 1.0 and 2.0) lists one each; --api selects by Name.
type TransferAPI struct {
	// Name is what --api selects ("v2", "v1"); the first listed is the
	// default.
	Name string
	// Summary says in a few words how bytes move ("offset writes, gzip").
	Summary string
	// Drives creates and looks up the drives of this API (a drive created
	// through API 1.0 is looked up there).
	Drives DriveService
	// Upload paths; nil when this API lacks them.
	OffsetWriter OffsetWriter
	Resumable    ResumableUploader
	Direct       DirectUploader
	// Download paths; nil when this API lacks them.
	OffsetReader OffsetReader
	Downloader   Downloader
	// MaxPiece is the largest piece one offset write may carry; 0: any.
	MaxPiece int64
	// Gzip: offset writes may carry a gzip-compressed piece.
	Gzip bool
	// FreshDriveZeroed: a drive this API creates reads as zeros, so an
	// upload into it may skip zero chunks.
	FreshDriveZeroed bool
	// MinDriveSize is the smallest drive the API makes: a smaller
	// one-request upload yields a drive this large (0: no minimum).
	MinDriveSize int64
}

// Features describe how a cloud's objects behave where clouds differ, so
// that commands adapt without asking which cloud it is.
type Features struct {
	// DriveNoun is what the cloud calls a drive: "drive", "volume", "disk",
	// "storage volume"; used in messages and table headings.
	DriveNoun string
	// SizeUnit is the granularity of drive sizes in bytes: 1 for exact
	// bytes, 1e9 for clouds that count decimal gigabytes. Sizes are
	// rounded up to it, and tables show both when they differ.
	SizeUnit int64
	// SnapshotOf says what a snapshot is taken of: SnapshotOfDrive or
	// SnapshotOfServer; empty when the cloud has no snapshots.
	SnapshotOf string
	// MaxSnapshotsPerTarget is how many snapshots one target may have at
	// once; 0 means no limit.
	MaxSnapshotsPerTarget int
	// Backup is what `drivecp backup` keeps on this cloud.
	Backup BackupKind
	// AttachNeedsStop: drives can be attached to or detached from a server
	// only while it is stopped.
	AttachNeedsStop bool
	// OperationIDs: a change is carried out by an operation that only its
	// ID lets a later run follow (the changed resource does not show it),
	// so --no-wait prints the operation's ID, for `drivecp job wait`,
	// rather than the resource's.
	OperationIDs bool
	// OperationTime is how long the cloud's asynchronous operations
	// usually take, a hint for the first poll; 0 for the default.
	OperationTime time.Duration
	// Lacks lists, for messages, what the cloud's API does not have and
	// what it offers instead: key is the missing capability ("upload",
	// "download", "clone"), value the sentence after "it has".
	Lacks map[string]string
}

// What a snapshot is taken of.
const (
	SnapshotOfDrive  = "drive"
	SnapshotOfServer = "server"
)

// BackupKind is what a backup run keeps.
type BackupKind string

// The kinds of backup a cloud can do.
const (
	// BackupNone: the cloud offers no way to back a drive up.
	BackupNone BackupKind = ""
	// BackupDownload: the drive's bytes are downloaded into local files or
	// a store (needs a byte path).
	BackupDownload BackupKind = "download"
	// BackupSnapshot: a snapshot per drive (or server) stays in the cloud.
	BackupSnapshot BackupKind = "snapshot"
	// BackupImage: a disk image per drive stays in the cloud.
	BackupImage BackupKind = "image"
)

// Transfer returns the transfer API named name ("" for the default), or an
// error matching ErrUnsupported that names the cloud and what it has.
func (p *Provider) Transfer(name string) (TransferAPI, error) {
	if len(p.Transfers) == 0 {
		return TransferAPI{}, p.Lack("transfer drive images")
	}
	if name == "" {
		return p.Transfers[0], nil
	}
	for _, t := range p.Transfers {
		if t.Name == name {
			return t, nil
		}
	}
	names := make([]string, len(p.Transfers))
	for i, t := range p.Transfers {
		names[i] = t.Name
	}
	return TransferAPI{}, &UnsupportedError{Cloud: p.Cloud, What: "use API " + name,
		Instead: "the APIs " + strings.Join(names, ", ")}
}

// Lack returns the error for something the cloud cannot do: it matches
// ErrUnsupported and names the cloud, what it lacks and, from
// Features.Lacks, what it offers instead.
func (p *Provider) Lack(what string) error {
	return &UnsupportedError{Cloud: p.Cloud, What: what, Instead: p.Features.Lacks[what]}
}

// UnsupportedError is an operation a cloud does not offer. It matches
// ErrUnsupported with errors.Is.
type UnsupportedError struct {
	Cloud   string // registered name
	What    string // "download drives"
	Instead string // what the cloud has instead, may be empty
}

// Error renders one line: "onlinelabs cannot download drives: it has
// snapshots and images instead".
func (e *UnsupportedError) Error() string {
	s := e.Cloud + " cannot " + e.What
	if e.Instead != "" {
		s += ": it has " + e.Instead + " instead"
	}
	return s
}

// Is matches ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// Registry holds the clouds drivecp can open, by name.
type Registry struct {
	clouds []Cloud
}

// NewRegistry returns a registry of clouds, in the order given (the first
// is the default). Names must be unique, lower case and non-empty.
func NewRegistry(clouds ...Cloud) (*Registry, error) {
	r := &Registry{}
	for _, c := range clouds {
		if c.Name == "" || c.Name != strings.ToLower(c.Name) || c.Open == nil {
			return nil, fmt.Errorf("cloud %q: needs a lower-case name and an Open", c.Name)
		}
		if _, ok := r.Lookup(c.Name); ok {
			return nil, fmt.Errorf("cloud %q registered twice", c.Name)
		}
		r.clouds = append(r.clouds, c)
	}
	if len(r.clouds) == 0 {
		return nil, fmt.Errorf("no clouds")
	}
	return r, nil
}

// Default returns the first registered cloud.
func (r *Registry) Default() Cloud { return r.clouds[0] }

// Lookup returns the cloud registered as name.
func (r *Registry) Lookup(name string) (Cloud, bool) {
	i := slices.IndexFunc(r.clouds, func(c Cloud) bool { return c.Name == name })
	if i < 0 {
		return Cloud{}, false
	}
	return r.clouds[i], true
}

// Clouds returns the registered clouds in registration order.
func (r *Registry) Clouds() []Cloud { return slices.Clone(r.clouds) }

// Names returns the registered names in registration order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.clouds))
	for i, c := range r.clouds {
		names[i] = c.Name
	}
	return names
}
