package imagefmt

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Format names an image format as detected from content.
type Format string

// Formats drivecp recognises. The first six can be read; the rest are only
// recognised so the refusal can name them.
const (
	Raw   Format = "raw"
	Qcow2 Format = "qcow2"
	Gzip  Format = "gzip"
	Xz    Format = "xz"
	Zstd  Format = "zstd"
	Bzip2 Format = "bzip2"
	VMDK  Format = "vmdk"
	VHD   Format = "vhd"
	VHDX  Format = "vhdx"
	VDI   Format = "vdi"
	Qcow1 Format = "qcow"
)

// IsStream reports whether f is a compressed stream that is read once, from
// the start, through Source.Reader.
func (f Format) IsStream() bool {
	return f == Gzip || f == Xz || f == Zstd || f == Bzip2
}

// ErrUnsupported is matched (errors.Is) by every refusal of a recognised
// format or feature drivecp cannot read; the CLI maps it to exit code 2.
var ErrUnsupported = errors.New("unsupported image")

// ErrInvalid is matched by images whose metadata is inconsistent or claims
// more than the file can hold (crafted or corrupt); the CLI maps it to exit
// code 2.
var ErrInvalid = errors.New("invalid image")

// UnsupportedError refuses a format or feature, naming it and the command
// that would make the image readable.
type UnsupportedError struct {
	// Format is what was detected, e.g. "vmdk" or "qcow2 compressed with xz".
	Format string
	// Reason says what is missing, e.g. "is not supported".
	Reason string
	// Hint is the command that helps, with SRC and DST as placeholders.
	Hint string
}

// Error is one lower-case line with the format, the reason and the hint.
func (e *UnsupportedError) Error() string {
	s := e.Format + " " + e.Reason
	if e.Hint != "" {
		s += "; convert it first: " + e.Hint
	}
	return s
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

func refuse(format Format, qemuName string) *UnsupportedError {
	return &UnsupportedError{
		Format: string(format) + " images",
		Reason: "are not supported",
		Hint:   "qemu-img convert -f " + qemuName + " -O raw SRC DST",
	}
}

// prefixLen is how much of the start Detect looks at: enough for the VDI
// signature at 0x40 and the VMDK descriptor text.
const prefixLen = 512

// Detect returns the format of the image readable through r, whose total
// size is size, or -1 when unknown (a stream: the VHD footer check, which
// needs the end of the file, is then skipped). Only content is used. A
// recognised format drivecp cannot read returns that Format together with an
// *UnsupportedError. A compressed stream whose decompressed start is itself a
// qcow2 or another refused format is refused: reading it needs random access.
func Detect(r io.ReaderAt, size int64) (Format, error) {
	head := make([]byte, prefixLen)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read image header: %w", err)
	}
	head = head[:n]
	f, err := detectHead(head)
	if err != nil || f != Raw {
		if err == nil && f.IsStream() {
			err = checkInner(f, io.NewSectionReader(r, 0, sizeOr(size)))
		}
		return f, err
	}
	if size >= 512 {
		foot := make([]byte, 8)
		if _, err := r.ReadAt(foot, size-512); err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read image footer: %w", err)
		}
		if string(foot) == "conectix" {
			return VHD, refuse(VHD, "vpc")
		}
	}
	return Raw, nil
}

// DetectPrefix is Detect for a stream the caller has peeked into (for
// example with bufio.Reader.Peek): prefix should hold the first 64 KiB or
// all of a shorter stream.
func DetectPrefix(prefix []byte) (Format, error) {
	return Detect(bytes.NewReader(prefix), -1)
}

func sizeOr(size int64) int64 {
	if size < 0 {
		return 1<<63 - 1
	}
	return size
}

func detectHead(head []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		if len(head) >= 8 {
			switch binary.BigEndian.Uint32(head[4:8]) {
			case 1:
				return Qcow1, refuse(Qcow1, "qcow")
			case 2, 3:
				return Qcow2, nil
			}
		}
		return Qcow2, fmt.Errorf("%w: qcow2 header with an unknown version", ErrInvalid)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b, 0x08}):
		return Gzip, nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return Xz, nil
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}),
		len(head) >= 4 && head[0]&0xf0 == 0x50 && bytes.Equal(head[1:4], []byte{0x2a, 0x4d, 0x18}):
		// A zstd frame, or a skippable frame that zstd tools accept first.
		return Zstd, nil
	case len(head) >= 10 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9' &&
		(bytes.Equal(head[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) ||
			bytes.Equal(head[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})):
		return Bzip2, nil
	case bytes.HasPrefix(head, []byte("KDMV")), bytes.HasPrefix(head, []byte("COWD")),
		bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		return VMDK, refuse(VMDK, "vmdk")
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return VHDX, refuse(VHDX, "vhdx")
	case bytes.HasPrefix(head, []byte("conectix")), bytes.HasPrefix(head, []byte("cxsparse")):
		// The copy of the footer at the start of a dynamic VHD, or its
		// dynamic header when the copy is missing.
		return VHD, refuse(VHD, "vpc")
	case len(head) >= 0x44 && binary.LittleEndian.Uint32(head[0x40:0x44]) == 0xbeda107f:
		return VDI, refuse(VDI, "vdi")
	}
	return Raw, nil
}

// innerPrefix is how much of a compressed stream is decompressed to look
// at what it holds.
const innerPrefix = 4096

// checkInner refuses a compressed stream whose content is not a raw image,
// judging by what the decoder yields from r. A decoding error is not
// reported here: it is reported in context when the stream is read. Some
// decoders need more than a short prefix before they yield anything (bzip2
// decodes whole blocks of up to 900 kB), so OpenStream checks again on the
// decoded stream itself.
func checkInner(f Format, r io.Reader) error {
	dr, closeFn, err := newDecompressor(f, r)
	if err != nil {
		return nil
	}
	defer closeFn()
	buf := make([]byte, innerPrefix)
	n, _ := io.ReadFull(dr, buf)
	return innerRefusal(f, buf[:n])
}

// innerRefusal refuses decompressed content that starts like an image
// format other than raw.
func innerRefusal(f Format, head []byte) error {
	inner, ierr := detectHead(head)
	if inner == Raw {
		return nil
	}
	tool := map[Format]string{Gzip: "gzip -dc", Xz: "xz -dc", Zstd: "zstd -dc", Bzip2: "bzip2 -dc"}[f]
	name := string(inner)
	if inner == Qcow2 || inner.IsStream() {
		return &UnsupportedError{
			Format: name + " compressed with " + string(f),
			Reason: "needs random access and cannot be read as a stream",
			Hint:   tool + " SRC > IMAGE and upload IMAGE",
		}
	}
	var ue *UnsupportedError
	if errors.As(ierr, &ue) {
		return &UnsupportedError{
			Format: name + " compressed with " + string(f),
			Reason: "is not supported",
			Hint:   tool + " SRC > IMAGE && " + strings.TrimSuffix(ue.Hint, "SRC DST") + "IMAGE DST",
		}
	}
	return ierr
}

// MaxZstdWindow bounds the memory the zstd decoder may use for its window;
// 128 MiB is what the zstd tool itself accepts without --long or --memory.
const MaxZstdWindow = 128 << 20

// MaxXzDict bounds the LZMA2 dictionary an xz stream may ask for; xz -9
// uses 64 MiB.
const MaxXzDict = 256 << 20

// xzFirstDict returns the LZMA2 dictionary size in the first block header
// of an xz stream starting at b.
func xzFirstDict(b []byte) (uint64, bool) {
	if len(b) < 14 || b[12] == 0 {
		return 0, false
	}
	end := 12 + (int(b[12])+1)*4
	if end > len(b) {
		return 0, false
	}
	p := 14
	varint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && p < end; i++ {
			c := b[p]
			p++
			v |= uint64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	flags := b[13]
	if flags&0x40 != 0 {
		if _, ok := varint(); !ok {
			return 0, false
		}
	}
	if flags&0x80 != 0 {
		if _, ok := varint(); !ok {
			return 0, false
		}
	}
	for range int(flags&3) + 1 {
		id, ok1 := varint()
		n, ok2 := varint()
		if !ok1 || !ok2 || n > uint64(end-p) {
			return 0, false
		}
		if id == 0x21 && n == 1 {
			d := b[p] & 0x3f
			if d > 40 {
				return 0, false
			}
			if d == 40 {
				return 1<<32 - 1, true
			}
			return uint64(2|d&1) << (d/2 + 11), true
		}
		p += int(n)
	}
	return 0, false
}

// newDecompressor returns a reader of the decompressed content of r and a
// function releasing the decoder's resources.
func newDecompressor(f Format, r io.Reader) (io.Reader, func(), error) {
	switch f {
	case Gzip:
		// Multi-member (pigz, concatenated files) is the default.
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: gzip: %v", ErrInvalid, err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(MaxZstdWindow),
			zstd.WithDecoderMaxMemory(1<<40))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	case Xz:
		// The decoder allocates the dictionary a block header asks for, up
		// to 4 GiB: look before it does.
		br := bufio.NewReaderSize(r, 12+1024)
		head, _ := br.Peek(12 + 1024)
		if dict, ok := xzFirstDict(head); ok && dict > MaxXzDict {
			return nil, nil, &UnsupportedError{
				Format: fmt.Sprintf("xz streams with a %d MiB dictionary", dict>>20),
				Reason: fmt.Sprintf("are not supported (memory is bounded to %d MiB)", MaxXzDict>>20),
				Hint:   "xz -dc SRC > IMAGE and upload IMAGE",
			}
		}
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: xz: %v", ErrInvalid, err)
		}
		return zr, func() {}, nil
	case Bzip2:
		return bzip2.NewReader(r), func() {}, nil
	}
	return nil, nil, fmt.Errorf("%s is not a compressed stream", f)
}
