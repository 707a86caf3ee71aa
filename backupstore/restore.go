package backupstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// File is what Restore writes into: an *os.File.
type File interface {
	io.WriterAt
	Truncate(size int64) error
}

// zeros is a chunk-sized run of zero bytes to hash holes with.
func zeroBuf(n int64) []byte { return make([]byte, n) }

// hashZeros feeds n zero bytes to h.
func hashZeros(h hash.Hash, zeros []byte, n int64) {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		h.Write(zeros[:k])
		n -= k
	}
}

// Restore writes the image of backup m into f, which should be empty:
// f is truncated to the image's size, so the chunks of zeros are left as
// holes, and each stored chunk is read, checked against its hash and
// written at its offset. At the end the SHA-256 of the image must be the
// manifest's (an error matching ErrCorrupt otherwise). f is not synced.
func (s *Store) Restore(ctx context.Context, m *Manifest, f File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if err := f.Truncate(m.Size); err != nil {
		return err
	}
	whole := sha256.New()
	zeros := zeroBuf(m.ChunkSize)
	buf := make([]byte, m.ChunkSize)
	for i, h := range m.Chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := m.ChunkLen(i)
		if h.IsZeroChunk() {
			hashZeros(whole, zeros, n)
			continue
		}
		data, err := s.GetChunk(h, buf)
		if err != nil {
			return fmt.Errorf("chunk %d of backup %s: %w", i, m.ID, err)
		}
		if int64(len(data)) != n {
			return fmt.Errorf("chunk %d of backup %s: %w: %d bytes, want %d", i, m.ID, ErrCorrupt, len(data), n)
		}
		whole.Write(data)
		if _, err := f.WriteAt(data, int64(i)*m.ChunkSize); err != nil {
			return err
		}
	}
	if got := hex.EncodeToString(whole.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("restored image of backup %s: %w: SHA-256 %s, the manifest says %s", m.ID, ErrCorrupt, got, m.SHA256)
	}
	return nil
}

// BadChunk is a chunk Verify found missing or damaged.
type BadChunk struct {
	Index int    `json:"index"` // first index in the backup that uses it
	Hash  Hash   `json:"hash"`
	Path  string `json:"path"`
	Error string `json:"error"`
	Err   error  `json:"-"`
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Backup string     `json:"backup"`
	Chunks int        `json:"chunks"` // distinct stored chunks checked
	Bytes  int64      `json:"bytes"`  // image bytes covered
	Bad    []BadChunk `json:"bad,omitempty"`
	// ImageOK is whether the chunks, in order, hash to the manifest's
	// SHA-256 (false when a chunk is bad).
	ImageOK bool `json:"image_ok"`
}

// OK reports whether the backup is whole.
func (r VerifyReport) OK() bool { return len(r.Bad) == 0 && r.ImageOK }

// Verify reads every chunk of backup m back, checks each against its name
// and the whole image against the manifest's SHA-256, and names the bad
// chunks. The error is for a verify that could not run (cancelled, or I/O
// errors other than those of a chunk).
func (s *Store) Verify(ctx context.Context, m *Manifest) (VerifyReport, error) {
	rep := VerifyReport{Backup: m.ID, Bytes: m.Size}
	whole := sha256.New()
	zeros := zeroBuf(m.ChunkSize)
	buf := make([]byte, m.ChunkSize)
	bad := map[Hash]bool{}
	seen := map[Hash]bool{}
	for i, h := range m.Chunks {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n := m.ChunkLen(i)
		if h.IsZeroChunk() {
			hashZeros(whole, zeros, n)
			continue
		}
		if bad[h] {
			continue
		}
		if !seen[h] {
			rep.Chunks++
			seen[h] = true
		}
		data, err := s.GetChunk(h, buf)
		if err == nil && int64(len(data)) != n {
			err = &ChunkError{Hash: h, Path: s.ChunkPath(h), Err: fmt.Errorf("%w: %d bytes, the backup wants %d", ErrCorrupt, len(data), n)}
		}
		if err != nil {
			var ce *ChunkError
			if !errors.As(err, &ce) {
				return rep, err
			}
			bad[h] = true
			rep.Bad = append(rep.Bad, BadChunk{Index: i, Hash: h, Path: ce.Path, Error: ce.Err.Error(), Err: ce.Err})
			continue
		}
		whole.Write(data)
	}
	rep.ImageOK = len(rep.Bad) == 0 && hex.EncodeToString(whole.Sum(nil)) == m.SHA256
	return rep, nil
}
