package chunker

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// DefaultChunkSize is 4 MiB: the largest read API 1.0 allows per request and
// the chunk size CloudSigma's own upload tools use.
const DefaultChunkSize = 4 << 20

// Piece is one chunk of an image or drive.
type Piece struct {
	Index  int   // 0-based position in the plan
	Offset int64 // byte offset in the image
	Length int64 // bytes
	Hole   bool  // lies entirely in a file-system hole: reads as zeros, need not be read
}

// End returns the offset just past the piece.
func (p Piece) End() int64 { return p.Offset + p.Length }

// Plan splits size bytes into pieces of chunkSize bytes.
//
// With mergeTail the last piece also carries the remainder, as the API 2.0
// resumable protocol numbers chunks: there are max(1, size/chunkSize) pieces
// and the last one is up to 2*chunkSize-1 bytes long (or shorter than
// chunkSize when size itself is). Without mergeTail the last piece is just
// shorter than the others.
//
// A size of zero or less gives an empty plan. A chunkSize of zero or less
// means DefaultChunkSize, so a zero-valued option struct plans sensibly.
func Plan(size, chunkSize int64, mergeTail bool) []Piece {
	if size <= 0 {
		return []Piece{}
	}
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	n := size / chunkSize
	switch {
	case mergeTail && n == 0:
		n = 1
	case !mergeTail && size%chunkSize != 0:
		n++
	}
	pieces := make([]Piece, n)
	for i := range pieces {
		off := int64(i) * chunkSize
		pieces[i] = Piece{Index: i, Offset: off, Length: chunkSize}
	}
	last := &pieces[n-1]
	last.Length = size - last.Offset
	return pieces
}

// PlanFile is Plan plus hole detection on f: pieces lying entirely inside
// file-system holes get Hole=true, found with lseek SEEK_DATA/SEEK_HOLE.
// When the file system cannot report holes no piece is marked, which is
// always correct, only slower. Pieces past the end of f are never marked, so
// reading them still fails as a short file should.
//
// PlanFile leaves f's offset where it found it; it does not read any data.
func PlanFile(f *os.File, size, chunkSize int64, mergeTail bool) ([]Piece, error) {
	pieces := Plan(size, chunkSize, mergeTail)
	if len(pieces) == 0 {
		return pieces, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", f.Name(), err)
	}
	if !fi.Mode().IsRegular() {
		// Block devices and pipes have no holes to speak of.
		return pieces, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", f.Name(), err)
	}
	var markErr error
	ctlErr := rc.Control(func(fd uintptr) {
		markErr = markHoles(int(fd), fi.Size(), pieces)
	})
	if ctlErr != nil {
		return nil, fmt.Errorf("plan %s: %w", f.Name(), ctlErr)
	}
	if markErr != nil {
		return nil, fmt.Errorf("plan %s: find holes: %w", f.Name(), markErr)
	}
	return pieces, nil
}

// markHoles sets Hole on every piece of ps (sorted by offset) that holds no
// data in the file open as fd of fileSize bytes. It queries the kernel only
// when a piece passes the data extent it last learnt about, so a plan costs
// a couple of syscalls per data extent, not per piece.
func markHoles(fd int, fileSize int64, ps []Piece) error {
	saved, err := unix.Seek(fd, 0, io.SeekCurrent)
	if err != nil {
		return err
	}
	// Seeking moves the shared file offset; put it back for callers that
	// also use Read.
	defer unix.Seek(fd, saved, io.SeekStart) //nolint:errcheck // best effort, nothing read depends on it

	// [dataStart, dataEnd) is the next data extent at or after the last
	// query point; dataStart == fileSize means no data remains.
	dataStart, dataEnd := int64(-1), int64(-1)
	for i := range ps {
		p := &ps[i]
		if p.End() > fileSize {
			// Past EOF: leave it to ReadChunk to report the short file.
			break
		}
		if p.Offset >= dataEnd {
			d, err := unix.Seek(fd, p.Offset, unix.SEEK_DATA)
			switch {
			case errors.Is(err, unix.ENXIO):
				dataStart, dataEnd = fileSize, fileSize+1
			case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP):
				// No SEEK_DATA here: treat everything as data.
				return nil
			case err != nil:
				return err
			default:
				h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
				if err != nil {
					return err
				}
				dataStart, dataEnd = d, h
			}
		}
		p.Hole = p.End() <= dataStart
	}
	return nil
}
