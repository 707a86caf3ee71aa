package cloudsigma

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// Drive size limits of the emulator, taken from the `dssd` entry of the
// capabilities example in the API 2.0 manual. MinDriveSize is what a direct upload
// smaller than it is grown to; API 1.0 accepts smaller drives, as its own
// example creates a 4 MiB one.
const (
	MinDriveSize int64 = 512 << 20
	MaxDriveSize int64 = 4391067795456
)

// DefaultJobDuration is how long a clone, snapshot or resize job takes when
// neither StoreOptions.JobDuration nor JobSpeed says otherwise.
const DefaultJobDuration = 2 * time.Second

// DefaultTransition is how long a drive created through the API stays
// `creating`, and one whose size an edit changed stays `resizing`, when
// StoreOptions.Transition does not say: long enough that a client which
// writes before the drive is ready fails in every test, short enough not to
// slow them.
const DefaultTransition = 200 * time.Millisecond

// OwnerUUID is the UUID of the emulator's only user, as drives' `owner` and
// API 1.0's `user` report it.
const OwnerUUID = "5b4a69a3-8e78-4c45-a8ba-8b13f0895e23"

// Sub-folders of the data folder.
const (
	drivesDir    = "drives"
	snapshotsDir = "snapshots"
	jobsDir      = "jobs"
	libDir       = "libdrives"
)

// StoreOptions configures a Store.
type StoreOptions struct {
	// Dir is the data folder; it is created if missing and everything in it
	// is loaded at start.
	Dir string
	// JobDuration is how long every job takes; negative means jobs finish at
	// once; zero means DefaultJobDuration unless JobSpeed is set.
	JobDuration time.Duration
	// JobSpeed, when positive, makes a job take size/JobSpeed seconds
	// (bytes per second of the drive's size), at least JobDuration if that
	// is positive too.
	JobSpeed int64
	// Now replaces time.Now, for tests.
	Now func() time.Time
	// MaxDriveSize is the largest drive the store accepts; 0 means
	// MaxDriveSize, the manual's. Larger values let terabyte-scale tests
	// run (drives are sparse files).
	MaxDriveSize int64
	// Transition is how long a drive created through the API stays
	// `creating` (then `unmounted`) and one an edit resized stays
	// `resizing` (then its status before), as on the real API, where
	// both take a while; zero means DefaultTransition, negative none.
	Transition time.Duration
}

// Store holds the emulator's drives, snapshots, library drives and jobs.
// All methods are safe for concurrent use. Metadata is guarded by one mutex;
// drive data is read and written through DataHandles (pread/pwrite), outside
// the mutex.
type Store struct {
	dir         string
	jobDuration time.Duration
	jobSpeed    int64
	now         func() time.Time
	maxDrive    int64
	transition  time.Duration

	// writeBufs holds WriteFrom's buffers of writeBufSize bytes.
	writeBufs sync.Pool

	mu     sync.Mutex
	seq    int64
	drives map[string]*driveRec
	snaps  map[string]*snapRec
	jobs   map[string]*jobRec
	libs   map[string]*libRec
}

// driveRec is one drive. It is stored as `<uuid>.json` beside `<uuid>.img`.
type driveRec struct {
	D      wire.Drive `json:"drive"`
	Seq    int64      `json:"seq"`
	Upload *uploadRec `json:"upload,omitempty"`
	// ChunkedBy is the chunk size of the chunked upload that completed the
	// drive, so that a chunk retried after that (its answer lost) is
	// recognised.
	ChunkedBy int64 `json:"chunked_by,omitempty"`
	// Settles is when a drive in a transition of its own (`creating`, or
	// `resizing` after an edit) takes status SettlesTo; zero for none.
	Settles   time.Time `json:"settles,omitempty"`
	SettlesTo string    `json:"settles_to,omitempty"`

	handles int // open DataHandles
	writers int // open write DataHandles
	copying int // copies reading this drive right now (clone, snapshot)
}

// uploadRec is the bookkeeping of a drive in status `uploading`.
type uploadRec struct {
	Resumable bool  `json:"resumable"`
	ChunkSize int64 `json:"chunk_size,omitempty"`
	Stored    []int `json:"stored,omitempty"` // sorted chunk numbers
}

type snapRec struct {
	S    wire.Snapshot `json:"snapshot"`
	Seq  int64         `json:"seq"`
	Size int64         `json:"size"` // the drive's size when taken

	copying int
}

type libRec struct {
	L wire.LibDrive
}

// statusChange is what a job does to a resource when it finishes.
type statusChange struct {
	Snapshot bool   `json:"snapshot,omitempty"`
	UUID     string `json:"uuid"`
	From     string `json:"from"`
	To       string `json:"to"`
}

type jobRec struct {
	J        wire.Job       `json:"job"`
	Seq      int64          `json:"seq"`
	Start    time.Time      `json:"start"`
	Duration time.Duration  `json:"duration"`
	Changes  []statusChange `json:"changes"`
	// Pending is true while the data copy runs; a job still pending when
	// the store is loaded was cut short by a stop, and its copy is bad.
	Pending bool `json:"pending,omitempty"`
}

// OpenStore opens (or creates) the data folder and loads its contents.
func OpenStore(opts StoreOptions) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("emulator: store needs a data folder")
	}
	if opts.MaxDriveSize != 0 && opts.MaxDriveSize < MinDriveSize {
		return nil, fmt.Errorf("emulator: a largest drive of %d bytes is below the smallest, %d", opts.MaxDriveSize, MinDriveSize)
	}
	s := &Store{
		dir:         opts.Dir,
		jobDuration: opts.JobDuration,
		jobSpeed:    opts.JobSpeed,
		now:         opts.Now,
		maxDrive:    cmp.Or(opts.MaxDriveSize, MaxDriveSize),
		transition:  cmp.Or(opts.Transition, DefaultTransition),
		drives:      map[string]*driveRec{},
		snaps:       map[string]*snapRec{},
		jobs:        map[string]*jobRec{},
		libs:        map[string]*libRec{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.writeBufs.New = func() any { b := make([]byte, writeBufSize); return &b }
	if s.jobDuration == 0 && s.jobSpeed <= 0 {
		s.jobDuration = DefaultJobDuration
	}
	for _, d := range []string{drivesDir, snapshotsDir, jobsDir, libDir} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	if err := s.initLibDrives(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the data folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) nextSeq() int64 {
	s.seq++
	return s.seq
}
