package chunker

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Chunk is a piece read from the image.
type Chunk struct {
	Piece
	Data []byte // exactly Length bytes, a prefix of the buffer given to ReadChunk
	Zero bool   // the piece is a hole or its bytes are all zero
	Hash uint64 // xxhash64 of Data, also for zero chunks
}

// ReadChunk reads p from r into buf, which must hold at least p.Length bytes,
// and fills in Zero and Hash. A file that ends inside the piece gives an
// error wrapping io.ErrUnexpectedEOF.
//
// A Hole piece is not read: ReadChunk clears buf[:p.Length] instead. Clearing
// always, rather than leaving the stale contents of a pooled buffer, keeps
// Data valid for every chunk, so a caller that must write zeros (into a drive
// that already holds data) needs no special case; it costs a memclr, far less
// than the read it replaces. Its Hash is computed from the cleared bytes; a
// Reader remembers it instead.
func ReadChunk(r io.ReaderAt, p Piece, buf []byte) (Chunk, error) {
	return readChunk(r, p, buf, Hash)
}

// readChunk is ReadChunk with the hash of an all-zero chunk supplied by
// zeroHash, which is given the chunk's bytes and may ignore them.
func readChunk(r io.ReaderAt, p Piece, buf []byte, zeroHash func([]byte) uint64) (Chunk, error) {
	if p.Length < 0 || int64(len(buf)) < p.Length {
		return Chunk{}, fmt.Errorf("read chunk %d: buffer of %d bytes for %d-byte piece", p.Index, len(buf), p.Length)
	}
	data := buf[:p.Length]
	c := Chunk{Piece: p, Data: data}
	if p.Hole {
		clear(data)
		c.Zero = true
		c.Hash = zeroHash(data)
		return c, nil
	}
	if err := readFullAt(r, data, p.Offset); err != nil {
		return Chunk{}, fmt.Errorf("read chunk %d at offset %d: %w", p.Index, p.Offset, err)
	}
	if c.Zero = IsZero(data); c.Zero {
		c.Hash = zeroHash(data)
	} else {
		c.Hash = Hash(data)
	}
	return c, nil
}

// Reader reads chunks like ReadChunk, but remembers the hash of zeros for
// each chunk length it has seen, so zero chunks (holes and zero-filled
// regions alike) are not hashed again: a mostly empty 1 TiB image has a
// quarter of a million of them. It is safe for concurrent use.
type Reader struct {
	r io.ReaderAt

	mu         sync.Mutex
	zeroHashes map[int64]uint64 // by length; a plan has at most two lengths
}

// NewReader returns a Reader of r.
func NewReader(r io.ReaderAt) *Reader {
	return &Reader{r: r, zeroHashes: make(map[int64]uint64)}
}

// ReadChunk is the package-level ReadChunk reading from the Reader's source.
func (r *Reader) ReadChunk(p Piece, buf []byte) (Chunk, error) {
	return readChunk(r.r, p, buf, r.zeroHash)
}

// ZeroHash is the package-level ZeroHash, computed once per length.
func (r *Reader) ZeroHash(n int64) uint64 {
	r.mu.Lock()
	h, ok := r.zeroHashes[n]
	r.mu.Unlock()
	if ok {
		return h
	}
	h = ZeroHash(n)
	r.mu.Lock()
	r.zeroHashes[n] = h
	r.mu.Unlock()
	return h
}

func (r *Reader) zeroHash(zeros []byte) uint64 {
	n := int64(len(zeros))
	r.mu.Lock()
	h, ok := r.zeroHashes[n]
	r.mu.Unlock()
	if !ok {
		// Hashed outside the lock; racing goroutines compute the same value.
		h = Hash(zeros)
		r.mu.Lock()
		r.zeroHashes[n] = h
		r.mu.Unlock()
	}
	return h
}

// readFullAt fills b from r at off. io.ReaderAt may return io.EOF together
// with a full buffer at the end of a file; only a short read is an error.
func readFullAt(r io.ReaderAt, b []byte, off int64) error {
	n := 0
	for n < len(b) {
		m, err := r.ReadAt(b[n:], off+int64(n))
		n += m
		if n == len(b) {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if m == 0 {
			// A ReaderAt that makes no progress and reports nothing would
			// loop forever.
			return io.ErrNoProgress
		}
	}
	return nil
}
