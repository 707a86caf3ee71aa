package resume

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Source describes an upload's source file at the start of a run, to be
// compared with what its checkpoint recorded.
type Source struct {
	Size      int64
	ModTime   time.Time
	FirstHash uint64 // xxhash64 of the first min(Size, chunkSize) bytes
	LastHash  uint64 // xxhash64 of the last min(Size, chunkSize) bytes
}

// SourceOf stats f and hashes its first and last chunkSize bytes (fewer for
// a smaller file), whatever the plan's tail rule: a cheap fingerprint that
// catches the usual ways an image changes between runs (rebuilt, resized,
// written to) without reading it all. It reads with ReadAt and leaves f's
// offset alone.
func SourceOf(f *os.File, chunkSize int64) (Source, error) {
	fi, err := f.Stat()
	if err != nil {
		return Source{}, fmt.Errorf("fingerprint source: %w", err)
	}
	s := Source{Size: fi.Size(), ModTime: fi.ModTime().UTC()}
	n := min(s.Size, max(chunkSize, 1))
	if s.FirstHash, err = hashRange(f, 0, n); err != nil {
		return Source{}, fmt.Errorf("fingerprint %s: %w", f.Name(), err)
	}
	if s.LastHash, err = hashRange(f, s.Size-n, n); err != nil {
		return Source{}, fmt.Errorf("fingerprint %s: %w", f.Name(), err)
	}
	return s, nil
}

func hashRange(r io.ReaderAt, off, n int64) (uint64, error) {
	d := xxhash.New()
	if _, err := io.Copy(d, io.NewSectionReader(r, off, n)); err != nil {
		return 0, err
	}
	return d.Sum64(), nil
}

// SetSource records s as the upload's source.
func (c *Checkpoint) SetSource(s Source) {
	c.FileSize = s.Size
	c.ModTime = s.ModTime
	c.FirstHash = s.FirstHash
	c.LastHash = s.LastHash
}

// CheckSource returns an error wrapping ErrChanged when s differs from the
// source c recorded: size, modification time or either fingerprint hash.
func (c *Checkpoint) CheckSource(s Source) error {
	switch {
	case s.Size != c.FileSize:
		return changed("%s changed size from %d to %d bytes", c.Key.LocalPath, c.FileSize, s.Size)
	case !s.ModTime.Equal(c.ModTime):
		return changed("%s was modified at %s", c.Key.LocalPath, s.ModTime.Format(time.RFC3339))
	case s.FirstHash != c.FirstHash || s.LastHash != c.LastHash:
		return changed("the content of %s changed", c.Key.LocalPath)
	}
	return nil
}

// CheckDrive returns an error wrapping ErrChanged when a download's drive no
// longer has the size c recorded.
func (c *Checkpoint) CheckDrive(size int64) error {
	if size != c.FileSize {
		return changed("drive %s changed size from %d to %d bytes", c.Key.Drive, c.FileSize, size)
	}
	return nil
}

// CheckKey returns an error wrapping ErrChanged when k, the transfer about to
// run, cannot continue from c: another chunk size or plan length, or (for
// an upload into a named drive) another drive than the one c was writing.
// An empty k.Drive on an upload accepts the drive c recorded.
func (c *Checkpoint) CheckKey(k Key, total int) error {
	switch {
	case k.ID() != c.Key.ID():
		return changed("checkpoint %s belongs to another transfer", c.Key.ID())
	case k.ChunkSize != c.Key.ChunkSize:
		return changed("it was made with %d-byte chunks, this run uses %d", c.Key.ChunkSize, k.ChunkSize)
	case total != c.Total:
		return changed("it plans %d chunks, this run %d", c.Total, total)
	case k.Drive != "" && c.Key.Drive != "" && k.Drive != c.Key.Drive:
		return changed("it was writing drive %s, this run drive %s", c.Key.Drive, k.Drive)
	}
	return nil
}

func changed(format string, args ...any) error {
	return fmt.Errorf("%w: %s; run again with --restart to discard the saved progress", ErrChanged, fmt.Sprintf(format, args...))
}
