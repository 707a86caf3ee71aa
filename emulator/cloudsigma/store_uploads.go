package cloudsigma

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// BeginUpload creates a drive of size bytes in status `uploading` for the
// one-request direct upload; the caller writes it through OpenDrive and ends
// with FinishUpload or AbortUpload.
func (s *Store) BeginUpload(name string, size int64) (wire.Drive, error) {
	if err := s.validSize("size", size); err != nil {
		return wire.Drive{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.newDriveLocked(wire.Drive{Name: name, Size: size}, wire.StatusUploading)
	if err != nil {
		return wire.Drive{}, err
	}
	r.Upload = &uploadRec{}
	if err := s.saveDrive(r); err != nil {
		delete(s.drives, r.D.UUID)
		s.removeDriveFiles(r.D.UUID)
		return wire.Drive{}, err
	}
	return s.driveView(r), nil
}

// FinishUpload ends a direct upload: a drive smaller than MinDriveSize is
// grown to it (sparsely), and the drive becomes `unmounted`.
func (s *Store) FinishUpload(id string) (wire.Drive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		return wire.Drive{}, err
	}
	if r.D.Status != wire.StatusUploading {
		return wire.Drive{}, busy("status", "drive %s is %s, not uploading", id, r.D.Status)
	}
	if r.D.Size < MinDriveSize {
		if err := os.Truncate(s.drivePath(id, ".img"), MinDriveSize); err != nil {
			return wire.Drive{}, fmt.Errorf("emulator: grow uploaded drive: %w", err)
		}
		r.D.Size = MinDriveSize
	}
	r.D.Status = wire.StatusUnmounted
	r.Upload = nil
	if err := s.saveDrive(r); err != nil {
		return wire.Drive{}, err
	}
	return s.driveView(r), nil
}

// AbortUpload removes a drive whose direct upload failed.
func (s *Store) AbortUpload(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.drives[id]; ok && r.D.Status == wire.StatusUploading {
		delete(s.drives, id)
		s.removeDriveFiles(id)
	}
}

// InitUpload creates a drive of size bytes in status `uploading` for the
// chunked, resumable upload.
func (s *Store) InitUpload(name string, size int64, media string) (wire.Drive, error) {
	if strings.TrimSpace(name) == "" {
		return wire.Drive{}, invalid("name", "this field is required")
	}
	if err := s.validSize("size", size); err != nil {
		return wire.Drive{}, err
	}
	if media != "" && media != "disk" && media != "cdrom" {
		return wire.Drive{}, invalid("media", "must be disk or cdrom")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.newDriveLocked(wire.Drive{Name: name, Size: size, Media: media}, wire.StatusUploading)
	if err != nil {
		return wire.Drive{}, err
	}
	r.Upload = &uploadRec{Resumable: true}
	if err := s.saveDrive(r); err != nil {
		delete(s.drives, r.D.UUID)
		s.removeDriveFiles(r.D.UUID)
		return wire.Drive{}, err
	}
	return s.driveView(r), nil
}

// Chunk identifies one chunk of a resumable upload, as its form fields do.
type Chunk struct {
	Number    int   // 1-based
	ChunkSize int64 // resumableChunkSize
	TotalSize int64 // resumableTotalSize; must equal the drive's size
}

// chunkSpan validates c against the drive and returns where the chunk goes.
func chunkSpan(r *driveRec, c Chunk) (off, length int64, err error) {
	if r.D.Status != wire.StatusUploading || r.Upload == nil || !r.Upload.Resumable {
		return 0, 0, invalid("status", "drive %s is not being uploaded in chunks (status %s)", r.D.UUID, r.D.Status)
	}
	if c.ChunkSize <= 0 {
		return 0, 0, invalid(wire.ResumableChunkSize, "must be positive")
	}
	if r.Upload.ChunkSize != 0 && c.ChunkSize != r.Upload.ChunkSize {
		return 0, 0, invalid(wire.ResumableChunkSize, "is %d but the upload uses %d", c.ChunkSize, r.Upload.ChunkSize)
	}
	if c.TotalSize != r.D.Size {
		return 0, 0, invalid(wire.ResumableTotalSize, "is %d but the drive has %d bytes", c.TotalSize, r.D.Size)
	}
	n := wire.ResumableChunkCount(c.TotalSize, c.ChunkSize)
	if c.Number < 1 || c.Number > n {
		return 0, 0, invalid(wire.ResumableChunkNumber, "must be between 1 and %d", n)
	}
	off = int64(c.Number-1) * c.ChunkSize
	length = c.ChunkSize
	if c.Number == n {
		length = c.TotalSize - off
	}
	return off, length, nil
}

// ChunkStored reports whether chunk c of a resumable upload is stored. A
// drive that finished uploading has every chunk.
func (s *Store) ChunkStored(id string, c Chunk) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		return false, err
	}
	if r.Upload == nil && r.D.Status != wire.StatusUploading {
		return c.Number >= 1 && c.Number <= wire.ResumableChunkCount(r.D.Size, max(c.ChunkSize, 1)), nil
	}
	if _, _, err := chunkSpan(r, c); err != nil {
		return false, err
	}
	_, found := slices.BinarySearch(r.Upload.Stored, c.Number)
	return found, nil
}

// WriteChunk stores chunk c of a resumable upload from body, which must hold
// exactly the chunk's length: every chunk is ChunkSize bytes but the last,
// which carries the remainder. It returns true when this was the last missing
// chunk and the drive became `unmounted`.
func (s *Store) WriteChunk(ctx context.Context, id string, c Chunk, body io.Reader) (bool, error) {
	s.mu.Lock()
	r, err := s.getDriveLocked(id)
	if err != nil {
		s.mu.Unlock()
		return false, err
	}
	if r.Upload == nil && r.ChunkedBy != 0 && r.D.Status != wire.StatusUploading {
		s.mu.Unlock()
		return false, repeatedChunk(ctx, r.ChunkedBy, r.D.Size, c, body)
	}
	off, length, err := chunkSpan(r, c)
	s.mu.Unlock()
	if err != nil {
		return false, err
	}
	h, err := s.OpenDrive(id, ReadWrite)
	if err != nil {
		return false, err
	}
	defer h.Close()
	n, err := h.WriteFrom(ctx, body, off, length)
	switch {
	case errors.Is(err, ErrInvalid):
		return false, invalid(wire.ResumableFilePart, "chunk %d holds more than %d bytes", c.Number, length)
	case err != nil:
		return false, fmt.Errorf("emulator: chunk %d: %w", c.Number, err)
	case n != length:
		return false, invalid(wire.ResumableFilePart, "chunk %d holds %d bytes, expected %d", c.Number, n, length)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drives[id] != r {
		return false, notFound("uuid", "drive %s was deleted", id)
	}
	if r.Upload == nil && r.D.Status == wire.StatusUnmounted {
		// A retried chunk raced with the one that completed the upload;
		// the bytes it wrote are the same.
		return false, nil
	}
	if _, _, err := chunkSpan(r, c); err != nil {
		return false, err
	}
	old := *r.Upload
	r.Upload.ChunkSize = c.ChunkSize
	if i, found := slices.BinarySearch(r.Upload.Stored, c.Number); !found {
		r.Upload.Stored = slices.Insert(slices.Clone(r.Upload.Stored), i, c.Number)
	}
	done := len(r.Upload.Stored) == wire.ResumableChunkCount(c.TotalSize, c.ChunkSize)
	if done {
		r.D.Status = wire.StatusUnmounted
		r.Upload = nil
		r.ChunkedBy = c.ChunkSize
	}
	if err := s.saveDrive(r); err != nil {
		if done {
			r.D.Status = wire.StatusUploading
			r.ChunkedBy = 0
		}
		r.Upload = &old
		return false, err
	}
	return done, nil
}

// repeatedChunk answers a chunk sent again after the upload of a drive of
// size bytes in chunks of chunkSize completed: a client whose answer to
// the last chunk was lost retries it. The chunk must fit that upload; its
// body is read and dropped, since the drive may be in use by now.
func repeatedChunk(ctx context.Context, chunkSize, size int64, c Chunk, body io.Reader) error {
	n := wire.ResumableChunkCount(size, chunkSize)
	switch {
	case c.ChunkSize != chunkSize || c.TotalSize != size:
		return invalid(wire.ResumableChunkSize, "the upload of this drive finished with %d-byte chunks of %d bytes", chunkSize, size)
	case c.Number < 1 || c.Number > n:
		return invalid(wire.ResumableChunkNumber, "must be between 1 and %d", n)
	}
	length := chunkSize
	if c.Number == n {
		length = size - int64(n-1)*chunkSize
	}
	got, err := io.Copy(io.Discard, io.LimitReader(ctxReader{ctx, body}, length+1))
	switch {
	case err != nil:
		return fmt.Errorf("emulator: chunk %d: %w", c.Number, err)
	case got != length:
		return invalid(wire.ResumableFilePart, "chunk %d holds %d bytes, expected %d", c.Number, got, length)
	}
	return nil
}
