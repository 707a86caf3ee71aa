package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/sparsefile"
)

// ErrExists is returned when the download target exists and Force is not set.
var ErrExists = errors.New("file exists")

// ErrNotRegular is returned when the download target, or its FILE.part,
// exists and is not a regular file: renaming over a device node or FIFO
// would replace the node, not write to it, so Force does not apply.
var ErrNotRegular = errors.New("not a regular file")

// Download reads the pieces from src and writes them at their offsets into
// dst. Zero pieces are not written when dstZeroed says dst reads as zeros
// there (a file this run truncated to size); otherwise their range is
// punched out or zero-filled, so a resumed FILE.part never keeps stale
// bytes. Hooks and Summary are as for Upload.
func Download(ctx context.Context, src Source, pieces []chunker.Piece, dst io.WriterAt, dstZeroed bool, o Options) (Summary, error) {
	start := time.Now()
	var (
		stats counters
		prog  = progressMux{p: o.Progress}
		rs    = wrapSource(src, &o, &stats)
		sum   = Summary{Chunks: len(pieces)}
	)
	if m := src.MaxPiece(); m > 0 && maxLen(pieces) > m {
		return Summary{}, fmt.Errorf("download: pieces of %d bytes exceed the source's %d-byte reads", maxLen(pieces), m)
	}
	prog.settle(countDone(pieces, o.Done, &sum))
	pre := func(_ context.Context, p chunker.Piece) bool { return isDone(o.Done, p.Index) }
	zeroHashes := chunker.NewReader(nil) // caches the hash of zeros

	gt := o.gate(maxLen(pieces), &stats)
	err := runPool(ctx, gt, maxLen(pieces), pieces, pre, func(ctx context.Context, p chunker.Piece, buf []byte) error {
		if err := rs.ReadPiece(ctx, p, buf); err != nil {
			return fmt.Errorf("download chunk %d at offset %d: %w", p.Index, p.Offset, err)
		}
		if !chunker.IsZero(buf) {
			if err := writeData(dst, buf, p.Offset, dstZeroed); err != nil {
				return fmt.Errorf("write chunk %d at offset %d: %w", p.Index, p.Offset, err)
			}
			ack(&o, &prog, p, chunker.Hash(buf))
			return nil
		}
		stats.zeros.Add(p.Length)
		if !dstZeroed { // else left as a hole
			if err := zeroRange(dst, p.Offset, buf); err != nil {
				return fmt.Errorf("clear chunk %d at offset %d: %w", p.Index, p.Offset, err)
			}
		}
		ackZero(&o, p, zeroHashes.ZeroHash(p.Length))
		prog.add(p.Length)
		return nil
	})
	sum.finish(start, &stats)
	sum.Concurrency = chosen(gt)
	return sum, err
}

// holeBlock is the granularity at which zero runs inside a data chunk are
// left as holes: a multiple of every common file system block size, and
// large enough that the extra write calls cost nothing measurable.
const holeBlock = 64 << 10

// writeData writes data at off. Where dst already reads as zeros
// (dstZeroed), all-zero holeBlock-aligned blocks inside it are skipped, so
// the free space of a file system image stays a hole even inside a chunk
// that also holds files; otherwise every byte is written, since dst may hold
// stale bytes there.
func writeData(dst io.WriterAt, data []byte, off int64, dstZeroed bool) error {
	if !dstZeroed {
		_, err := dst.WriteAt(data, off)
		return err
	}
	from := 0 // start of the pending run of non-zero blocks
	for at := 0; at < len(data); at += holeBlock {
		end := min(at+holeBlock, len(data))
		if !chunker.IsZero(data[at:end]) {
			continue
		}
		if from < at {
			if _, err := dst.WriteAt(data[from:at], off+int64(from)); err != nil {
				return err
			}
		}
		from = end
	}
	if from < len(data) {
		_, err := dst.WriteAt(data[from:], off+int64(from))
		return err
	}
	return nil
}

// zeroRange makes len(zeros) bytes at off read as zeros: a punched hole when
// dst is a file on a file system that supports it, else written zeros.
func zeroRange(dst io.WriterAt, off int64, zeros []byte) error {
	if f, ok := dst.(*os.File); ok && sparsefile.PunchHole(f, off, int64(len(zeros))) == nil {
		return nil
	}
	_, err := dst.WriteAt(zeros, off)
	return err
}

// FileOptions configure DownloadFile.
type FileOptions struct {
	// Force replaces an existing file.
	Force bool
	// ChunkSize is the piece size (default 4 MiB, capped at src.MaxPiece()).
	ChunkSize int64
	// Resume keeps an existing FILE.part (its done chunks are in
	// Options.Done) instead of starting a fresh one.
	Resume bool
}

// DownloadFile downloads size bytes from src into path: FILE.part is created
// mode 0600 and truncated to size first (so zero chunks stay holes), then
// filled in parallel, fsynced and renamed to path. An existing path is
// refused with ErrExists unless fo.Force. On failure FILE.part is left for a
// later resume.
func DownloadFile(ctx context.Context, src Source, size int64, path string, fo FileOptions, o Options) (Summary, error) {
	chunk := fo.ChunkSize
	if chunk <= 0 {
		chunk = chunker.DefaultChunkSize
	}
	if m := src.MaxPiece(); m > 0 && chunk > m {
		chunk = m
	}
	pf, err := openPart(path, size, fo)
	if err != nil {
		return Summary{}, err
	}
	defer pf.f.Close()
	sum, err := Download(ctx, src, chunker.Plan(size, chunk, false), pf.f, pf.fresh, o)
	if err != nil {
		return sum, err
	}
	return sum, pf.commit()
}

// partFile is the FILE.part a download writes before it becomes FILE.
type partFile struct {
	f          *os.File
	part, path string
	fresh      bool // truncated by this run: it reads as zeros
}

// openPart refuses a path or path.part that is not a regular file
// (ErrNotRegular, whatever fo.Force) and an existing path unless fo.Force,
// then opens path.part (mode 0600) sized to size: truncated, unless
// fo.Resume keeps the chunks an earlier run wrote there.
func openPart(path string, size int64, fo FileOptions) (*partFile, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if fi, err := os.Lstat(path + ".part"); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s.part: %w", path, ErrNotRegular)
	}
	if _, err := os.Lstat(path); err == nil && !fo.Force {
		return nil, fmt.Errorf("%s: %w (use --force to replace it)", path, ErrExists)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	pf := &partFile{part: path + ".part", path: path, fresh: !fo.Resume}
	flags := os.O_RDWR | os.O_CREATE
	if pf.fresh {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(pf.part, flags, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", pf.part, err)
	}
	pf.f = f
	return pf, nil
}

// commit makes the finished download durable under its real name: fsync,
// close, rename over path, fsync the folder. Until then a crash leaves only
// FILE.part, never a FILE that looks complete.
func (pf *partFile) commit() error {
	if err := pf.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", pf.part, err)
	}
	if err := pf.f.Close(); err != nil {
		return fmt.Errorf("%s: %w", pf.part, err)
	}
	if err := os.Rename(pf.part, pf.path); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(pf.path))
}
