package backupstore

import (
	"fmt"
	"io"
)

// ImageReader reads backup m's image as an io.ReaderAt, chunk by chunk
// from the store, each checked against its hash on the way (GetChunk);
// zero chunks read as zeros without touching the store. It is safe for
// concurrent use, so the upload engine's workers can share it. Zero reports
// which chunks are zeros, so a caller can leave them out altogether.
type ImageReader struct {
	s *Store
	m *Manifest
}

// ImageReader returns a reader of backup m's image.
func (s *Store) ImageReader(m *Manifest) *ImageReader { return &ImageReader{s: s, m: m} }

// Zero reports whether chunk i of the image is all zeros.
func (r *ImageReader) Zero(i int) bool { return r.m.Chunks[i].IsZeroChunk() }

// ReadAt reads len(p) bytes of the image at off; past the image's end it
// reads io.EOF.
func (r *ImageReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("backupstore: negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.m.Size {
			return n, io.EOF
		}
		i := int(pos / r.m.ChunkSize)
		within := pos - int64(i)*r.m.ChunkSize
		var m int
		if r.m.Chunks[i].IsZeroChunk() {
			m = int(min(int64(len(p)-n), r.m.ChunkLen(i)-within))
			clear(p[n : n+m])
		} else {
			data, err := r.s.GetChunk(r.m.Chunks[i], nil)
			if err != nil {
				return n, err
			}
			if int64(len(data)) != r.m.ChunkLen(i) {
				return n, &ChunkError{Hash: r.m.Chunks[i], Path: r.s.ChunkPath(r.m.Chunks[i]),
					Err: fmt.Errorf("%w: %d bytes where the backup has %d", ErrCorrupt, len(data), r.m.ChunkLen(i))}
			}
			m = copy(p[n:], data[within:])
		}
		n += m
	}
	return n, nil
}
