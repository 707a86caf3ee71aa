package command

// SEAM: this file is where `drivecp backup` gets its downloader. It holds a
// deliberately simple, sequential API 2.0 download so the command works end
// to end; the lead replaces newDriveDownloader's body with the parallel,
// resumable transfer engine (same backup.DownloadFunc contract). Nothing
// else in backup.go needs to change.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
)

// newDriveDownloader returns the download function of `drivecp backup`.
func newDriveDownloader(_ *cli.Context, cl *clients) backup.DownloadFunc {
	return (&seqDownloader{dl: cl.v2, retryDelay: 250 * time.Millisecond}).download
}

// seqDownloader is the sequential downloader.
type seqDownloader struct {
	dl providers.Downloader
	// retryDelay is the first backoff after a failure; it doubles up to
	// 32 times as much.
	retryDelay time.Duration
}

// maxStreamFailures is how many failures in a row, without a byte of
// progress between them, the sequential download tolerates.
const maxStreamFailures = 8

// download downloads drive (size bytes) as one stream into
// dest+".part", continuing with a Range request from where it stopped after
// a reset, asking the API for a fresh URL when the signed one expires, then
// fsyncs, sets mode 0600 and renames to dest. All-zero blocks are not
// written, so the file is sparse. It holds one unit of budget: one request
// in flight. It starts from zero every time: without the engine's
// checkpoint there is no way to trust an old .part.
func (s *seqDownloader) download(ctx context.Context, drive string, size int64, dest string,
	budget backup.Budget) (backup.DownloadStats, error) {
	dl := s.dl
	var stats backup.DownloadStats
	if err := budget.Acquire(ctx, 1); err != nil {
		return stats, err
	}
	defer budget.Release(1)
	part := dest + backup.PartSuffix
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return stats, fmt.Errorf("download: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil { // an old .part may have had another mode
		return stats, fmt.Errorf("download: %w", err)
	}

	const chunkSize = chunker.DefaultChunkSize
	h := &chunkHasher{chunk: chunkSize, d: xxhash.New()}
	buf := make([]byte, 1<<20)
	var off int64
	url := ""
	failures := 0
	for off < size {
		if url == "" {
			url, err = dl.DownloadURL(ctx, drive)
			if err != nil {
				if failures++; !providers.IsRetryable(err) || failures > maxStreamFailures {
					return stats, err
				}
				if err := sleepCtx(ctx, s.backoff(failures)); err != nil {
					return stats, err
				}
				continue
			}
		}
		n, err := copyRange(ctx, dl, url, f, off, size, buf, h)
		off += n
		stats.Bytes += n
		if n > 0 {
			failures = 0
		}
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return stats, ctx.Err()
		case errors.Is(err, providers.ErrExpired):
			url = ""
		case !providers.IsRetryable(err):
			return stats, err
		}
		if failures++; failures > maxStreamFailures {
			return stats, err
		}
		if err := sleepCtx(ctx, s.backoff(failures)); err != nil {
			return stats, err
		}
	}
	if err := f.Truncate(size); err != nil { // trailing zeros were skipped, not written
		return stats, fmt.Errorf("download: %w", err)
	}
	if err := f.Sync(); err != nil {
		return stats, fmt.Errorf("download: %w", err)
	}
	if err := f.Close(); err != nil {
		return stats, fmt.Errorf("download: %w", err)
	}
	if err := os.Rename(part, dest); err != nil {
		return stats, fmt.Errorf("download: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dest)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return stats, fmt.Errorf("download: %w", err)
		}
	}
	stats.ChunkSize, stats.ChunkHashes = chunkSize, h.sums()
	return stats, nil
}

// copyRange requests the bytes from off to the end and writes them into f
// at their offsets, skipping all-zero blocks. It returns how many bytes it
// wrote (or skipped as zeros) before the stream ended or failed.
func copyRange(ctx context.Context, dl providers.Downloader, url string, f *os.File, off, size int64,
	buf []byte, h *chunkHasher) (int64, error) {
	rr, err := dl.OpenRange(ctx, url, off, -1)
	if err != nil {
		return 0, err
	}
	defer rr.Body.Close()
	if rr.Offset > off {
		return 0, fmt.Errorf("download: server sent bytes from %d, asked for %d: %w", rr.Offset, off, providers.ErrNotCloudSigma)
	}
	// A server that ignored the range starts at 0: skip what we have.
	if skip := off - rr.Offset; skip > 0 {
		if _, err := io.CopyN(io.Discard, rr.Body, skip); err != nil {
			return 0, fmt.Errorf("download: %w", err)
		}
	}
	var n int64
	for off+n < size {
		k, err := io.ReadFull(rr.Body, buf[:min(int64(len(buf)), size-off-n)])
		if k > 0 {
			data := buf[:k]
			if !chunker.IsZero(data) {
				if _, werr := f.WriteAt(data, off+n); werr != nil {
					return n, fmt.Errorf("download: %w", werr)
				}
			}
			h.write(data)
			n += int64(k)
		}
		if errors.Is(err, io.EOF) && off+n < size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return n, fmt.Errorf("download at offset %d: %w", off+n, err)
		}
	}
	return n, nil
}

// chunkHasher computes the xxhash64 of each chunkSize piece of a stream
// that arrives in order, so the backup can compare the file it reads back
// with what came over the network.
type chunkHasher struct {
	chunk  int64
	filled int64 // bytes of the current chunk seen
	d      *xxhash.Digest
	done   []uint64
}

func (h *chunkHasher) write(b []byte) {
	for len(b) > 0 {
		k := min(int64(len(b)), h.chunk-h.filled)
		h.d.Write(b[:k]) //nolint:errcheck // hash writes never fail
		h.filled += k
		b = b[k:]
		if h.filled == h.chunk {
			h.done = append(h.done, h.d.Sum64())
			h.d.Reset()
			h.filled = 0
		}
	}
}

// sums returns the hashes of every chunk, the last short one included.
func (h *chunkHasher) sums() []uint64 {
	out := h.done
	if h.filled > 0 {
		out = append(out, h.d.Sum64())
	}
	return out
}

// backoff is the delay before retry number n (1-based): retryDelay
// doubling up to 32 times as much.
func (s *seqDownloader) backoff(n int) time.Duration {
	return s.retryDelay << min(n-1, 5)
}

// sleepCtx sleeps for d or until ctx is cancelled.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
