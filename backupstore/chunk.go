package backupstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/atomicfile"
)

// Hash is the SHA-256 of a chunk's raw bytes, which names it in the store.
// The zero value, ZeroChunk, stands for a chunk of zeros (not stored).
type Hash [sha256.Size]byte

// ZeroChunk is the reference a manifest holds for a chunk whose bytes are
// all zero: such a chunk is not stored, and a restore leaves a hole. No
// data hashes to it.
var ZeroChunk Hash

// zeroText is how ZeroChunk appears in a manifest.
const zeroText = "zero"

// IsZeroChunk reports whether h stands for a chunk of zeros.
func (h Hash) IsZeroChunk() bool { return h == ZeroChunk }

// String returns the hash in hex, or "zero" for ZeroChunk.
func (h Hash) String() string {
	if h.IsZeroChunk() {
		return zeroText
	}
	return hex.EncodeToString(h[:])
}

// MarshalText implements encoding.TextMarshaler (manifests are JSON).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash reads a hash as String writes it.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if s == zeroText {
		return h, nil
	}
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("chunk hash %q: not %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("chunk hash %q: %w", s, err)
	}
	for _, c := range []byte(s) { // lower case only: one name per chunk
		if c >= 'A' && c <= 'F' {
			return h, fmt.Errorf("chunk hash %q: upper-case hex", s)
		}
	}
	return h, nil
}

// HashChunk returns the reference of a chunk: ZeroChunk when every byte is
// zero, its SHA-256 otherwise.
func HashChunk(data []byte) Hash {
	if chunker.IsZero(data) {
		return ZeroChunk
	}
	return sha256.Sum256(data)
}

// ChunkPath returns the file that holds chunk h (which may not exist).
func (s *Store) ChunkPath(h Hash) string {
	name := h.String()
	return filepath.Join(s.dir, chunksDir, name[:2], name)
}

// HasChunk reports whether the store holds chunk h. A chunk of zeros is
// always held.
func (s *Store) HasChunk(h Hash) (bool, error) {
	if h.IsZeroChunk() {
		return true, nil
	}
	_, err := os.Lstat(s.ChunkPath(h))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// PutChunk stores data (at most ChunkSize bytes) unless the store holds it
// already, and returns its reference and how many bytes it wrote to disk
// (0 when the chunk was there, or is all zeros and so never stored). The
// chunk file is synced before it gets its name; its folder entry is synced
// by SyncChunks, which WriteManifest calls.
func (s *Store) PutChunk(data []byte) (Hash, int64, error) {
	if int64(len(data)) > s.chunkSize {
		return Hash{}, 0, fmt.Errorf("chunk of %d bytes: larger than the store's chunk size %d", len(data), s.chunkSize)
	}
	h := HashChunk(data)
	if ok, err := s.HasChunk(h); err != nil || ok {
		return h, 0, err
	}
	path := s.ChunkPath(h)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return h, 0, err
	}
	comp := s.enc.EncodeAll(data, make([]byte, 0, len(data)/2+64))
	n, err := writeNew(dir, path, comp)
	if err != nil {
		return h, 0, fmt.Errorf("store chunk %s: %w", h, err)
	}
	if n > 0 {
		s.mu.Lock()
		s.dirty[dir] = true
		s.mu.Unlock()
	}
	return h, n, nil
}

// writeNew writes data to a synced temporary file in dir and links it to
// path, which it never replaces: when two writers race, the first file
// stays and the second counts as not written (0 bytes).
func writeNew(dir, path string, data []byte) (n int64, err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the link, or on failure
	if _, err := f.Write(data); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	err = os.Link(tmp, path)
	switch {
	case err == nil:
		return int64(len(data)), nil
	case errors.Is(err, fs.ErrExist):
		return 0, nil
	}
	return 0, err
}

// SyncChunks makes the names of the chunks written so far durable, so that
// a manifest written after it never names a chunk a power loss could take.
func (s *Store) SyncChunks() error {
	s.mu.Lock()
	dirs := make([]string, 0, len(s.dirty))
	for d := range s.dirty {
		dirs = append(dirs, d)
	}
	s.mu.Unlock()
	slices.Sort(dirs)
	for _, d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
		if err := atomicfile.SyncDir(filepath.Dir(d)); err != nil { // a new ab/ folder
			return err
		}
		s.mu.Lock()
		delete(s.dirty, d)
		s.mu.Unlock()
	}
	return nil
}

// ChunkError names a chunk that is missing or damaged.
type ChunkError struct {
	Hash Hash
	Path string
	Err  error // matches ErrNotFound or ErrCorrupt, or is an I/O error
}

// Error implements error.
func (e *ChunkError) Error() string { return fmt.Sprintf("chunk %s: %v", e.Path, e.Err) }

// Unwrap returns the cause.
func (e *ChunkError) Unwrap() error { return e.Err }

// GetChunk returns the raw bytes of chunk h, checked against its hash: a
// missing chunk gives a *ChunkError matching ErrNotFound, a damaged one
// (undecodable, or decoding to other bytes) one matching ErrCorrupt. buf,
// when large enough, holds the result. ZeroChunk cannot be got: its length
// is the manifest's business.
func (s *Store) GetChunk(h Hash, buf []byte) ([]byte, error) {
	path := s.ChunkPath(h)
	if h.IsZeroChunk() {
		return nil, &ChunkError{Hash: h, Path: path, Err: fmt.Errorf("%w: the zero chunk is not stored", ErrNotFound)}
	}
	comp, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &ChunkError{Hash: h, Path: path, Err: ErrNotFound}
	}
	if err != nil {
		return nil, &ChunkError{Hash: h, Path: path, Err: err}
	}
	data, err := s.dec.DecodeAll(comp, buf[:0])
	if err != nil {
		return nil, &ChunkError{Hash: h, Path: path, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	if int64(len(data)) > s.chunkSize || sha256.Sum256(data) != h {
		return nil, &ChunkError{Hash: h, Path: path, Err: fmt.Errorf("%w: content does not match its hash", ErrCorrupt)}
	}
	return data, nil
}
