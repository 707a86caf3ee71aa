package imagefmt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Source is an opened image; see the package documentation for the
// contract of each field.
type Source struct {
	// Format is the detected format.
	Format Format
	// Size is the virtual size in bytes, or -1 when unknown.
	Size int64
	// Extents lists the ranges that may hold data; nil means unknown.
	Extents []Extent
	// ReaderAt reads the virtual image (raw, qcow2); nil for streams.
	ReaderAt io.ReaderAt
	// Reader yields the decompressed image (streams); nil otherwise.
	Reader io.Reader
	// Backing lists the backing files a qcow2 image reads through, its
	// own backing file first: a resumed upload checks they did not change.
	Backing []BackingFile

	closeFn func() error
}

// BackingFile is one file of a qcow2 backing chain as it was opened.
type BackingFile struct {
	Path    string
	Size    int64
	ModTime time.Time
}

// Close releases the decoder, the file and any backing files.
func (s *Source) Close() error {
	if s.closeFn == nil {
		return nil
	}
	f := s.closeFn
	s.closeFn = nil
	return f()
}

// Open detects the format of f and opens it. On success the Source owns f
// and Close closes it; on error the caller still owns f.
func Open(f *os.File) (*Source, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		// A pipe or device named on the command line: read it as a stream,
		// and let Close close it as for files.
		src, err := OpenStream(f)
		if err != nil {
			return nil, err
		}
		closeDec := src.closeFn
		src.closeFn = func() error {
			if closeDec != nil {
				_ = closeDec()
			}
			return f.Close()
		}
		return src, nil
	}
	format, err := Detect(f, fi.Size())
	if err != nil {
		return nil, err
	}
	switch {
	case format == Raw:
		return &Source{Format: Raw, Size: fi.Size(), ReaderAt: f, closeFn: f.Close}, nil
	case format == Qcow2:
		return openQcow2(f, fi.Size(), f.Name(), fi)
	case format.IsStream():
		size, err := recordedSize(format, f, fi.Size())
		if err != nil {
			return nil, err
		}
		dr, closeDec, err := newDecompressor(format, bufio.NewReaderSize(io.NewSectionReader(f, 0, fi.Size()), 1<<20))
		if err != nil {
			return nil, err
		}
		inner, err := peekInner(format, dr)
		if err != nil {
			closeDec()
			return nil, err
		}
		return &Source{Format: format, Size: size, Reader: inner, closeFn: func() error {
			closeDec()
			return f.Close()
		}}, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, format)
}

// streamPeek is how much of a stream is looked at before it is read.
const streamPeek = 64 << 10

// OpenStream detects the format of a stream (standard input) from its first
// bytes and returns a Source whose Reader yields the raw image. A qcow2
// stream is refused: it needs random access. Size is -1 except for a zstd
// stream whose first frame header records its content size (if more frames
// follow, the stream turns out longer than Size and the caller's overrun
// check reports it). Close does not close r.
func OpenStream(r io.Reader) (*Source, error) {
	br := bufio.NewReaderSize(r, streamPeek)
	prefix, err := br.Peek(streamPeek)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read image: %w", err)
	}
	format, err := DetectPrefix(prefix)
	if err != nil {
		return nil, err
	}
	switch {
	case format == Raw:
		return &Source{Format: Raw, Size: -1, Reader: br}, nil
	case format == Qcow2:
		return nil, &UnsupportedError{Format: "qcow2 from a stream", Reason: "cannot be read: it needs random access",
			Hint: "qemu-img convert -f qcow2 -O raw SRC DST, or upload the qcow2 file by name"}
	case format.IsStream():
		size := int64(-1)
		if format == Zstd {
			if n, ok := zstdFrameContentSize(prefix); ok {
				size = n
			}
		}
		dr, closeDec, err := newDecompressor(format, br)
		if err != nil {
			return nil, err
		}
		inner, err := peekInner(format, dr)
		if err != nil {
			closeDec()
			return nil, err
		}
		return &Source{Format: format, Size: size, Reader: inner, closeFn: func() error { closeDec(); return nil }}, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, format)
}

// peekInner decodes the start of a stream and refuses it when the content
// is an image format rather than a raw image. The returned reader yields
// the whole decoded stream, peeked bytes included.
func peekInner(f Format, dr io.Reader) (io.Reader, error) {
	if f == Zstd {
		dr = windowErrReader{dr}
	}
	br := bufio.NewReaderSize(dr, innerPrefix)
	head, err := br.Peek(innerPrefix)
	if err != nil && err != io.EOF && len(head) == 0 {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, f, err)
	}
	if err := innerRefusal(f, head); err != nil {
		return nil, err
	}
	return br, nil
}

// windowErrReader turns the zstd decoder's refusal of a large window, in
// any frame, into an UnsupportedError the CLI maps to exit code 2.
type windowErrReader struct{ r io.Reader }

// Read reads decoded bytes.
func (w windowErrReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		err = &UnsupportedError{
			Format: "zstd streams with a window over 128 MiB",
			Reason: "are not supported (made with --long; memory is bounded)",
			Hint:   "zstd -dc --long=31 SRC > IMAGE and upload IMAGE",
		}
	}
	return n, err
}
