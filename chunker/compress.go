package chunker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// DefaultLevel is the gzip level drivecp uses unless told otherwise: level 1
// compresses text and sparse-ish images well while staying faster than most
// links, which is what matters for a transfer.
const DefaultLevel = 1

// ErrTooLarge is returned by Decompress when the decompressed data does not
// fit the destination, which for a chunk means the sender lied about its size
// or sent a decompression bomb.
var ErrTooLarge = errors.New("decompressed data exceeds limit")

// Compressor gzips chunks at a fixed level, reusing gzip writers (and their
// sizeable internal state) across calls. It is safe for concurrent use.
type Compressor struct {
	level   int
	writers sync.Pool // of *gzip.Writer
}

// NewCompressor returns a Compressor for the given gzip level: 0 (store) to 9,
// -1 for the library default, or klauspost/compress's special levels -2
// (Huffman only) and -3 (stateless). Other levels are an error.
func NewCompressor(level int) (*Compressor, error) {
	w, err := gzip.NewWriterLevel(io.Discard, level)
	if err != nil {
		return nil, fmt.Errorf("gzip level %d: %w", level, err)
	}
	c := &Compressor{level: level}
	c.writers.Put(w)
	return c, nil
}

// Level is the gzip level c compresses at.
func (c *Compressor) Level() int { return c.level }

// Compress resets dst and fills it with one complete gzip member holding src.
func (c *Compressor) Compress(dst *bytes.Buffer, src []byte) error {
	dst.Reset()
	w, ok := c.writers.Get().(*gzip.Writer)
	if ok {
		w.Reset(dst)
	} else {
		var err error
		if w, err = gzip.NewWriterLevel(dst, c.level); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
	}
	// Writers that failed are not returned to the pool: their state is
	// suspect and dropping one costs only an allocation.
	if _, err := w.Write(src); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	// Drop the reference to dst so the pool does not keep it alive.
	w.Reset(io.Discard)
	c.writers.Put(w)
	return nil
}

// Decompress gunzips gz into dst and returns the number of bytes written.
// Data that does not fit in dst is an error wrapping ErrTooLarge, so len(dst)
// is the size limit; corrupt or truncated input is an error too. Several
// concatenated gzip members are read as one stream, as gzip(1) does.
func Decompress(dst []byte, gz io.Reader) (int, error) {
	zr, err := gzip.NewReader(gz)
	if err != nil {
		return 0, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	// Not io.ReadFull: it turns a short read into io.ErrUnexpectedEOF, which
	// is also what the gzip reader says about a truncated stream.
	n := 0
	for n < len(dst) {
		m, err := zr.Read(dst[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("gunzip: %w", err)
		}
	}
	// dst is full: any further byte is over the limit. Reading one more also
	// makes the reader check the trailer CRC of a stream that ends exactly
	// at the limit.
	var one [1]byte
	m, err := io.ReadFull(zr, one[:])
	switch {
	case m > 0:
		return n, fmt.Errorf("gunzip: %w (%d bytes)", ErrTooLarge, len(dst))
	case errors.Is(err, io.EOF):
		return n, nil
	default:
		return n, fmt.Errorf("gunzip: %w", err)
	}
}
