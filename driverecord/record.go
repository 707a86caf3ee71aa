package driverecord

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/drivecp/drivecp/backupstore"
)

// Format is the version of the record layout.
const Format = 1

// How a record came to be, in Record.Source.
const (
	FromUpload   = "upload"
	FromDownload = "download"
	FromRestore  = "restore"
	FromBackup   = "backup"
)

// Record is what a drive is known to hold, chunk by chunk.
type Record struct {
	Format int `json:"format"`
	// Cloud and Endpoint (a bare host[:port]) say which API the drive
	// belongs to: the same UUID on another endpoint is another drive.
	Cloud     string `json:"cloud"`
	Endpoint  string `json:"endpoint"`
	Drive     string `json:"drive"`
	Size      int64  `json:"size"`
	ChunkSize int64  `json:"chunk_size"`
	// Kind says how Chunks were computed: KindSHA256 (also when empty) or
	// KindXXH64; Hash computes a chunk's reference in a kind.
	Kind string `json:"kind,omitempty"`
	// Chunks[i] is the reference of chunk i (backupstore.ZeroChunk for
	// zeros); chunk i covers [i*ChunkSize, min((i+1)*ChunkSize, Size)).
	Chunks []backupstore.Hash `json:"chunks"`
	// Pending lists, in increasing order, the chunks being rewritten when
	// the record was saved: their content is unknown.
	Pending []int     `json:"pending,omitempty"`
	Source  string    `json:"source"`
	Time    time.Time `json:"time"`
}

// ErrMismatch reports a record that cannot describe the drive or image it
// is compared with (another size or chunk size).
var ErrMismatch = errors.New("the record does not fit")

// ChunkCount returns how many chunks an image of size bytes has.
func ChunkCount(size, chunkSize int64) int {
	if size <= 0 || chunkSize <= 0 {
		return 0
	}
	return int((size + chunkSize - 1) / chunkSize)
}

// Check finds a record inconsistent with itself.
func (r *Record) Check() error {
	switch {
	case r.Format != Format:
		return fmt.Errorf("record format %d, want %d", r.Format, Format)
	case r.Drive == "":
		return errors.New("record names no drive")
	case checkKind(r.Kind) != nil:
		return checkKind(r.Kind)
	case r.Size < 0 || r.ChunkSize <= 0:
		return fmt.Errorf("record size %d, chunk size %d", r.Size, r.ChunkSize)
	case len(r.Chunks) != ChunkCount(r.Size, r.ChunkSize):
		return fmt.Errorf("record lists %d chunks, an image of %d bytes has %d", len(r.Chunks), r.Size, ChunkCount(r.Size, r.ChunkSize))
	case !slices.IsSorted(r.Pending):
		return errors.New("record's pending chunks are not in order")
	case len(r.Pending) > 0 && (r.Pending[0] < 0 || r.Pending[len(r.Pending)-1] >= len(r.Chunks)):
		return errors.New("record's pending chunks lie outside the image")
	}
	return nil
}

// HashKind is the kind of the record's chunk references.
func (r *Record) HashKind() string {
	if r.Kind == "" {
		return KindSHA256
	}
	return r.Kind
}

// ChunkLen returns the length of chunk i.
func (r *Record) ChunkLen(i int) int64 {
	return min(r.ChunkSize, r.Size-int64(i)*r.ChunkSize)
}

// Known reports whether the record knows chunk i's content.
func (r *Record) Known(i int) bool {
	_, pending := slices.BinarySearch(r.Pending, i)
	return !pending
}

// Changed returns, in order, the chunks an image with chunk hashes want
// (of the record's HashKind) must send to a drive the record describes:
// those whose hash differs and those the record does not know. want must
// have the record's chunk count.
func (r *Record) Changed(want []backupstore.Hash) ([]int, error) {
	if len(want) != len(r.Chunks) {
		return nil, fmt.Errorf("%w: the image has %d chunks of %d bytes, the record %d", ErrMismatch, len(want), r.ChunkSize, len(r.Chunks))
	}
	var changed []int
	for i, h := range want {
		if h != r.Chunks[i] || !r.Known(i) {
			changed = append(changed, i)
		}
	}
	return changed, nil
}

// WithPending returns a copy of r that no longer claims to know chunks
// (merged with those already pending), for saving before they are
// rewritten.
func (r *Record) WithPending(chunks []int) *Record {
	c := *r
	c.Chunks = slices.Clone(r.Chunks)
	c.Pending = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(r.Pending), chunks...))))
	return &c
}

// Sample picks up to n chunks the record knows, to read back from the drive
// before trusting the record: the first and the last (where partition
// tables and backup headers live), chunks with data before chunks of
// zeros (data is what an image changes), the rest at random.
func (r *Record) Sample(n int, rng *rand.Rand) []int {
	var data, zeros []int
	for i := range r.Chunks {
		switch {
		case !r.Known(i):
		case r.Chunks[i].IsZeroChunk():
			zeros = append(zeros, i)
		default:
			data = append(data, i)
		}
	}
	picked := map[int]bool{}
	var out []int
	take := func(i int) {
		if len(out) < n && !picked[i] {
			picked[i] = true
			out = append(out, i)
		}
	}
	for _, i := range []int{0, len(r.Chunks) - 1} {
		if i >= 0 && r.Known(i) {
			take(i)
		}
	}
	for _, set := range [][]int{data, zeros} {
		for _, k := range rng.Perm(len(set)) {
			take(set[k])
		}
	}
	slices.Sort(out)
	return out
}

// Blank returns a record of a drive whose content drivecp does not know:
// every chunk pending, so Changed returns them all.
func Blank(cloud, endpoint, drive string, size, chunkSize int64) *Record {
	n := ChunkCount(size, chunkSize)
	r := &Record{Format: Format, Cloud: cloud, Endpoint: endpoint, Drive: drive, Size: size, ChunkSize: chunkSize,
		Chunks: make([]backupstore.Hash, n), Pending: make([]int, n)}
	for i := range r.Pending {
		r.Pending[i] = i
	}
	return r
}
