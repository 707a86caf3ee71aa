package emulator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// copyBlock is the unit of SparseCopy: all-zero blocks are skipped, so the
// destination stays sparse where the source reads as zeros.
const copyBlock = 1 << 20

// SparseCopy creates dst as a copy of the first size bytes of src, writing
// only the data regions (SEEK_DATA/SEEK_HOLE where the file system supports
// them) and, inside them, only the blocks that are not all zeros. It returns
// the bytes written, i.e. the copy's allocated size.
func SparseCopy(ctx context.Context, dst, src string, size int64) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	written, err := copyRegions(ctx, out, in, size)
	if err == nil {
		err = out.Truncate(size)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(dst)
		return 0, err
	}
	return written, nil
}

func copyRegions(ctx context.Context, out, in *os.File, size int64) (int64, error) {
	buf := make([]byte, copyBlock)
	zero := make([]byte, copyBlock)
	var written int64
	copyRange := func(start, end int64) error {
		for off := start; off < end; off += copyBlock {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := int(min(copyBlock, end-off))
			if _, err := in.ReadAt(buf[:n], off); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if bytes.Equal(buf[:n], zero[:n]) {
				continue
			}
			if _, err := out.WriteAt(buf[:n], off); err != nil {
				return err
			}
			written += int64(n)
		}
		return nil
	}
	fd := int(in.Fd())
	off := int64(0)
	for off < size {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, syscall.ENXIO) {
			break // only a hole remains
		}
		if err != nil {
			// No SEEK_DATA on this file system: scan everything.
			return written, copyRange(off, size)
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return written, copyRange(data, size)
		}
		hole = min(hole, size)
		if err := copyRange(data, hole); err != nil {
			return written, err
		}
		off = hole
	}
	return written, nil
}
