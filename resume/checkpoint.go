// Package resume persists the progress of transfers so that any of them can
// survive a crash, a lost connection or Ctrl-C and carry on where it stopped.
//
// A Checkpoint records which chunks of a transfer are done, with the xxhash64
// of each, plus enough about the source to notice that it changed in the
// meantime. A Store keeps checkpoints as files written atomically (temporary
// file, fsync, rename, fsync of the directory) in a versioned format whose
// header carries a checksum of the body, so a truncated or damaged file is
// reported as ErrCorrupt instead of silently resuming from wrong state.
// SaveNoSync skips the fsyncs, for writes that need only survive the death
// of the process.
//
// That file is a snapshot, rewritten rarely; the chunks finished since are
// appended to a journal of fixed-size, checksummed records beside it
// (journal.go), so saving progress costs bytes in proportion to the chunks
// transferred, not to the drive's size. A Saver appends after every chunk
// without fsync (FlushNoSync), fsyncs about once per interval, and
// compacts journal into snapshot when the journal outgrows it.
//
// Checkpoints must never hold credentials or signed URLs: Key.Endpoint is a
// host name only, and Save refuses keys and Extra values that look otherwise.
package resume

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Version is the checkpoint format this package writes and reads. Version 1
// (one file rewritten whole after every chunk) is refused with ErrVersion:
// its hashes array is dense where version 2 keeps only those of
// transferred chunks, and misreading one as the other would resume from
// wrong state.
const Version = 2

// Directions and APIs a Key may name.
const (
	Upload   = "upload"
	Download = "download"

	APIv1       = "v1"        // API 1.0 drive read/write by offset
	APIv2       = "v2"        // API 2.0 resumable chunked upload / ranged download
	APIv2Single = "v2-single" // API 2.0 single-request direct upload
)

// Errors a caller tells apart with errors.Is.
var (
	// ErrCorrupt: a checkpoint file is truncated, damaged or inconsistent.
	ErrCorrupt = errors.New("checkpoint is corrupt")
	// ErrVersion: a checkpoint file was written in another format version.
	ErrVersion = errors.New("checkpoint format version not supported")
	// ErrLocked: another drivecp process is running the same transfer.
	ErrLocked = errors.New("transfer is already running in another process")
	// ErrChanged: the source or the transfer settings no longer match the
	// checkpoint, so resuming would produce a wrong result.
	ErrChanged = errors.New("transfer no longer matches its checkpoint")
	// ErrInvalidKey: a Key is incomplete or holds something it must not,
	// such as credentials in the endpoint.
	ErrInvalidKey = errors.New("invalid checkpoint key")
	// ErrBadID: a string is not a checkpoint ID (which keeps IDs from the
	// command line from naming files outside the store).
	ErrBadID = errors.New("not a checkpoint id")
)

// Key identifies a transfer exactly.
type Key struct {
	Direction string // Upload or Download
	API       string // APIv1, APIv2 or APIv2Single
	Endpoint  string // host[:port] only, never credentials, paths or query strings
	Drive     string // drive UUID; may be empty for an upload that has not created its drive yet
	LocalPath string // absolute path of the local image
	ChunkSize int64
}

// ID returns a stable 16-hex-digit id for the transfer, derived from
// Direction, API, Endpoint, LocalPath and, for downloads only, Drive. An
// upload's ID ignores Drive because its first run may not have created the
// drive yet; ChunkSize is left out so that a run with another chunk size
// finds the old checkpoint and is told why it does not fit, rather than
// quietly starting over.
func (k Key) ID() string {
	h := sha256.New()
	// NUL cannot occur in a path or host, so the fields cannot run together.
	for _, f := range []string{"drivecp-checkpoint", k.Direction, k.API, k.Endpoint, k.LocalPath} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	if k.Direction == Download {
		h.Write([]byte(k.Drive))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Validate reports, wrapping ErrInvalidKey, what makes k unusable: an unknown
// direction or API, an endpoint that is not a bare host, a relative local
// path, a download without a drive, or a chunk size below 1.
func (k Key) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidKey}, args...)...)
	}
	switch k.Direction {
	case Upload, Download:
	default:
		return bad("direction %q", k.Direction)
	}
	switch k.API {
	case APIv1, APIv2, APIv2Single:
	default:
		return bad("API %q", k.API)
	}
	if err := checkHost(k.Endpoint); err != nil {
		return bad("endpoint: %v", err)
	}
	if k.Direction == Download && k.Drive == "" {
		return bad("download without a drive")
	}
	if strings.ContainsAny(k.Drive, "/\\?#@ \x00") {
		return bad("drive %q", k.Drive)
	}
	if !filepath.IsAbs(k.LocalPath) || filepath.Clean(k.LocalPath) != k.LocalPath {
		return bad("local path %q is not clean and absolute", k.LocalPath)
	}
	if k.ChunkSize < 1 {
		return bad("chunk size %d", k.ChunkSize)
	}
	return nil
}

// checkHost accepts host or host:port (IPv6 in brackets) and nothing else, so
// a URL with user:password@ or a signed query can never reach a checkpoint.
func checkHost(h string) error {
	if h == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(h, "/\\?#@ \t\r\n\x00") {
		return fmt.Errorf("%q is not a bare host name", h)
	}
	return nil
}

// EndpointHost returns the host[:port] of an endpoint URL, the form Key
// wants, dropping scheme, user information, path and query.
func EndpointHost(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%w: endpoint: %w", ErrInvalidKey, err)
	}
	if err := checkHost(u.Host); err != nil {
		return "", fmt.Errorf("%w: endpoint %q has no host", ErrInvalidKey, u.Redacted())
	}
	return u.Host, nil
}

// Checkpoint is the persisted state of one transfer.
//
// The done set is a bitset (one bit per chunk) and hashes are kept only
// for chunks that were transferred, in pages allocated on first use, so a
// 10 TiB drive that is mostly holes costs a few hundred kilobytes, not a
// word or a map entry per chunk. A chunk marked with MarkZero is done
// without a stored hash: its outcome followed from the plan (a hole
// skipped on a drive that reads as zeros, zeros left as a hole in a
// download) and its hash is that of zeros.
//
// Its methods are not safe for concurrent use; a Saver serializes access for
// the workers of a transfer.
type Checkpoint struct {
	Version   int
	Key       Key
	FileSize  int64     // source file size (upload) or drive size (download)
	ModTime   time.Time // source mtime (upload); zero for downloads
	FirstHash uint64    // upload: xxhash64 of the source's first chunk (see SourceOf)
	LastHash  uint64    // upload: xxhash64 of the source's last chunk (see SourceOf)
	Total     int       // number of pieces in the plan
	// Done is a bitset: chunk i is done when bit i%64 of Done[i/64] is set.
	Done []uint64
	// Extra holds protocol state such as the resumable identifier or the
	// UUID of a drive the upload created. Never credentials or signed URLs.
	Extra   map[string]string
	Created time.Time
	Updated time.Time

	// hashed is a bitset of the done chunks whose hash is stored in pages
	// (the others are zero chunks).
	hashed []uint64
	// pages hold the hashes of hashed chunks, hashPage per page, nil until
	// a chunk of the page is hashed.
	pages [][]uint64
	// gen is the generation of the snapshot on disk: a journal applies to
	// the snapshot of its own generation only (see journal.go).
	gen uint64
	// zeroHashes caches the hash of zeros by length (at most two lengths).
	zeroHashes map[int64]uint64
}

// hashPage is the number of hashes per page: 4 KiB, so a sparse drive
// allocates a page only around its data.
const hashPage = 512

// New returns an empty checkpoint for a transfer of total pieces.
func New(k Key, total int) *Checkpoint {
	now := time.Now().UTC()
	total = max(total, 0)
	return &Checkpoint{
		Version: Version,
		Key:     k,
		Total:   total,
		Done:    make([]uint64, (total+63)/64),
		hashed:  make([]uint64, (total+63)/64),
		pages:   make([][]uint64, (total+hashPage-1)/hashPage),
		Extra:   map[string]string{},
		Created: now,
		Updated: now,
	}
}

// ID is c.Key.ID().
func (c *Checkpoint) ID() string { return c.Key.ID() }

// MarkDone records chunk index as done with the given hash. index must be in
// [0, Total), as the plan that produced it guarantees; like a slice index out
// of range, anything else is a programming error and panics.
func (c *Checkpoint) MarkDone(index int, hash uint64) {
	c.Done[index/64] |= 1 << (index % 64)
	c.hashed[index/64] |= 1 << (index % 64)
	pg := c.pages[index/hashPage]
	if pg == nil {
		pg = make([]uint64, hashPage)
		c.pages[index/hashPage] = pg
	}
	pg[index%hashPage] = hash
}

// MarkZero records chunk index as done with the hash of zeros, storing no
// hash: for chunks whose outcome follows from the plan.
func (c *Checkpoint) MarkZero(index int) {
	c.Done[index/64] |= 1 << (index % 64)
	c.hashed[index/64] &^= 1 << (index % 64)
}

// Unmark forgets chunk index, which must be in [0, Total).
func (c *Checkpoint) Unmark(index int) {
	c.Done[index/64] &^= 1 << (index % 64)
	c.hashed[index/64] &^= 1 << (index % 64)
}

// Reset forgets every chunk.
func (c *Checkpoint) Reset() {
	clear(c.Done)
	clear(c.hashed)
	clear(c.pages)
}

// IsDone reports whether chunk index is done and, if so, its hash (for a
// chunk marked with MarkZero, the hash of as many zeros as the chunk is
// long). An index outside the plan is not done.
func (c *Checkpoint) IsDone(index int) (uint64, bool) {
	if index < 0 || index >= c.Total || c.Done[index/64]&(1<<(index%64)) == 0 {
		return 0, false
	}
	if c.hashed[index/64]&(1<<(index%64)) == 0 {
		return c.zeroHash(c.chunkLen(index)), true
	}
	return c.pages[index/hashPage][index%hashPage], true
}

// IsZero reports whether chunk index was marked done with MarkZero.
func (c *Checkpoint) IsZero(index int) bool {
	if index < 0 || index >= c.Total {
		return false
	}
	return c.Done[index/64]&(1<<(index%64)) != 0 && c.hashed[index/64]&(1<<(index%64)) == 0
}

// chunkLen is the length of chunk index in both plan shapes: every chunk is
// ChunkSize long but the last, which holds the rest of FileSize.
func (c *Checkpoint) chunkLen(index int) int64 {
	if index == c.Total-1 {
		if n := c.FileSize - int64(c.Total-1)*c.Key.ChunkSize; n > 0 {
			return n
		}
	}
	return c.Key.ChunkSize
}

// zeroHash returns the xxhash64 of n zero bytes, computed once per length.
func (c *Checkpoint) zeroHash(n int64) uint64 {
	if h, ok := c.zeroHashes[n]; ok {
		return h
	}
	d := xxhash.New()
	var zeros [64 << 10]byte
	for left := n; left > 0; left -= int64(len(zeros)) {
		d.Write(zeros[:min(left, int64(len(zeros)))])
	}
	if c.zeroHashes == nil {
		c.zeroHashes = map[int64]uint64{}
	}
	c.zeroHashes[n] = d.Sum64()
	return c.zeroHashes[n]
}

// DoneCount is the number of chunks done.
func (c *Checkpoint) DoneCount() int {
	n := 0
	for _, w := range c.Done {
		n += bits.OnesCount64(w)
	}
	return n
}

// hashedCount is the number of done chunks with a stored hash.
func (c *Checkpoint) hashedCount() int {
	n := 0
	for _, w := range c.hashed {
		n += bits.OnesCount64(w)
	}
	return n
}

// Complete reports whether every chunk is done.
func (c *Checkpoint) Complete() bool { return c.DoneCount() == c.Total }

// Clone returns a deep copy of c.
func (c *Checkpoint) Clone() *Checkpoint {
	d := *c
	d.Done = slices.Clone(c.Done)
	d.hashed = slices.Clone(c.hashed)
	d.pages = make([][]uint64, len(c.pages))
	for i, pg := range c.pages {
		if pg != nil {
			d.pages[i] = slices.Clone(pg)
		}
	}
	d.zeroHashes = nil // not shared: clones go to other goroutines
	d.Extra = maps.Clone(c.Extra)
	if d.Extra == nil {
		d.Extra = map[string]string{}
	}
	return &d
}

// check reports inconsistencies that would make the checkpoint unsafe to
// resume from; Load calls it on every file it reads.
func (c *Checkpoint) check() error {
	switch {
	case c.Total < 0:
		return fmt.Errorf("negative chunk count %d", c.Total)
	case len(c.Done) != (c.Total+63)/64:
		return fmt.Errorf("done set of %d words for %d chunks", len(c.Done), c.Total)
	case len(c.hashed) != len(c.Done) || len(c.pages) != (c.Total+hashPage-1)/hashPage:
		return fmt.Errorf("hash set does not fit %d chunks", c.Total)
	case c.Total%64 != 0 && len(c.Done) > 0 && c.Done[len(c.Done)-1]>>(c.Total%64) != 0:
		return errors.New("done set marks chunks past the end")
	case slices.ContainsFunc(c.hashed, func(w uint64) bool { return w != 0 }) && !subset(c.hashed, c.Done):
		return errors.New("hashes of chunks not done")
	case c.FileSize < 0:
		return fmt.Errorf("negative size %d", c.FileSize)
	}
	return nil
}

// subset reports whether every bit of a is set in b (same length).
func subset(a, b []uint64) bool {
	for i, w := range a {
		if w&^b[i] != 0 {
			return false
		}
	}
	return true
}

// checkSafe refuses to persist anything that looks like a secret.
func (c *Checkpoint) checkSafe() error {
	if err := c.Key.Validate(); err != nil {
		return err
	}
	for k, v := range c.Extra {
		if looksSecret(v) {
			return fmt.Errorf("%w: extra %q holds a URL with credentials or a query string", ErrInvalidKey, k)
		}
	}
	return nil
}

// looksSecret catches URLs with user information or a query string, the
// shapes of credentials and signed download URLs.
func looksSecret(v string) bool {
	if !strings.Contains(v, "://") {
		return false
	}
	u, err := url.Parse(v)
	return err != nil || u.User != nil || u.RawQuery != ""
}
