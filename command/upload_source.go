package command

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// stdioPath is the path that means standard input (upload's IMAGE) or
// standard output (download's -o).
const stdioPath = "-"

// imageInput is the image an upload reads, whatever its format (see
// session.Image), with what closes it.
type imageInput struct {
	session.Image
	src *imagefmt.Source
}

// Close releases the image (and any backing files of a qcow2).
func (in *imageInput) Close() error {
	if in.src != nil {
		return in.src.Close()
	}
	if in.File != nil {
		return in.File.Close()
	}
	return nil
}

// openInput opens IMAGE for upload and detects its format from the
// content: raw, qcow2, or a gzip, xz, zstd or bzip2 stream of a raw image;
// path "-" reads stdin. forceRaw takes the file's bytes as they are, as a
// raw image. Missing, empty and non-regular files, and formats drivecp
// cannot read, are usage errors (exit 2) with a hint.
func openInput(path string, forceRaw bool, stdin io.Reader) (*imageInput, error) {
	if path == stdioPath {
		if forceRaw {
			return &imageInput{Image: session.Image{Path: path, Format: imagefmt.Raw, Size: -1, Stream: stdin}}, nil
		}
		src, err := imagefmt.OpenStream(stdin)
		if err != nil {
			return nil, imageError("standard input", err)
		}
		return &imageInput{Image: session.Image{Path: path, Format: src.Format, Size: src.Size, Stream: src.Reader}, src: src}, nil
	}
	f, err := openImageFile(path)
	if err != nil {
		return nil, err
	}
	if forceRaw {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		return &imageInput{Image: session.Image{Path: path, File: f, Format: imagefmt.Raw, Size: fi.Size(), At: f}}, nil
	}
	src, err := imagefmt.Open(f)
	if err != nil {
		f.Close()
		return nil, imageError(path, err)
	}
	return &imageInput{Image: session.Image{Path: path, File: f, Format: src.Format, Size: src.Size, At: src.ReaderAt,
		Stream: src.Reader, Extents: src.Extents, Backing: src.Backing}, src: src}, nil
}

// imageError turns a refusal of imagefmt into the command's error: a
// format it cannot read or a crafted or corrupt image is bad input (exit
// 2); anything else (a read error) keeps its own kind.
func imageError(what string, err error) error {
	var ue *imagefmt.UnsupportedError
	switch {
	case errors.As(err, &ue):
		return withHint(usageErrorf("%s: %w", what, err), "or pass --force-raw to upload the file's bytes as they are, as a raw image")
	case errors.Is(err, imagefmt.ErrUnsupported):
		return withHint(usageErrorf("%s: %w", what, err), "convert it with 'qemu-img convert -O raw %s out.img'", what)
	case errors.Is(err, imagefmt.ErrInvalid):
		return withHint(usageErrorf("%s: %w", what, err),
			"check it with 'qemu-img check', convert it with 'qemu-img convert -O raw', or pass --force-raw to upload its bytes as they are")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// openImageFile opens a regular, non-empty image file for reading, with
// the refusals of openImage (a missing file, a folder, a device or pipe
// named as a path, an empty file) as usage errors.
func openImageFile(path string) (*os.File, error) {
	// Stat before opening: opening a FIFO with no writer blocks in the
	// kernel, where no signal handler can end the wait. O_NONBLOCK covers
	// the race of the path being swapped for one between the two calls.
	pre, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageErrorf("%s: no such file", path)
	}
	if err != nil {
		return nil, usageErrorf("%s: %w", path, err)
	}
	if !pre.IsDir() && !pre.Mode().IsRegular() {
		return nil, withHint(usageErrorf("%s is not a regular file (%s)", path, fileKind(pre.Mode())),
			"to read a pipe, give - and redirect it to standard input")
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageErrorf("%s: no such file", path)
	}
	if err != nil {
		return nil, usageErrorf("%s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case fi.IsDir():
		f.Close()
		return nil, usageErrorf("%s is a folder, not an image", path)
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, usageErrorf("%s is not a regular file (%s)", path, fileKind(fi.Mode()))
	case fi.Size() == 0:
		f.Close()
		return nil, usageErrorf("%s is empty", path)
	}
	return f, nil
}

// allocatedBytes is what the image stores as data: the sum of a qcow2's
// data extents, the blocks a raw file occupies (at most its size), or -1
// when only reading it tells (streams).
func allocatedBytes(in *imageInput) int64 {
	switch {
	case in.Extents != nil:
		var n int64
		for _, e := range in.Extents {
			n += e.Len
		}
		return n
	case in.Format == imagefmt.Raw && in.File != nil:
		fi, err := in.File.Stat()
		if err != nil {
			return -1
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			return min(st.Blocks*512, fi.Size())
		}
		return fi.Size()
	case in.At != nil:
		return in.Size
	}
	return -1
}

// uploadVerb is the start of an upload's summary line: it names the format
// and what the image stores (allocated bytes; the line goes on with the
// virtual size and the bytes on the wire), e.g. "uploaded qcow2 image
// (320 KiB allocated):".
func uploadVerb(in *imageInput, allocated int64) string {
	if allocated < 0 {
		return fmt.Sprintf("uploaded %s image:", in.Format)
	}
	return fmt.Sprintf("uploaded %s image (%s allocated):", in.Format, units.FormatSize(allocated))
}

// newUploadResult is upload's --json output for the drive written from in.
func newUploadResult(drive string, in *imageInput, size, allocated int64, sum transfer.Summary, verified bool) uploadResult {
	return uploadResult{Drive: drive, Format: string(in.Format), VirtualBytes: size, AllocatedBytes: allocated,
		Summary: sum, Verified: verified}
}
