package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/imagefmt"
)

// ChunkerResult is the rate of the upload pipeline without the network.
type ChunkerResult struct {
	// Workers is the number of goroutines that read, hashed and gzipped.
	Workers int `json:"workers"`
	// Seconds is the wall time for the whole image.
	Seconds float64 `json:"seconds"`
	// MBps is the image size per second, in MB (10^6 bytes).
	MBps float64 `json:"mb_per_s"`
	// GzipBytes is what the non-zero chunks compressed to.
	GzipBytes int64 `json:"gzip_bytes"`
}

// ChunkerRate runs what an upload does to an image before the network, on
// every chunk of the image at path: plan (holes), read, zero check, xxhash,
// gzip at level for non-zero chunks, with workers in parallel. It is the
// ceiling of any upload that gzips on this machine, whatever the link.
func ChunkerRate(ctx context.Context, path string, chunkSize int64, level, workers int) (ChunkerResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return ChunkerResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ChunkerResult{}, err
	}
	comp, err := chunker.NewCompressor(level)
	if err != nil {
		return ChunkerResult{}, err
	}
	workers = max(workers, 1)
	start := time.Now()
	pieces, err := chunker.PlanFile(f, fi.Size(), chunkSize, false)
	if err != nil {
		return ChunkerResult{}, err
	}
	r := chunker.NewReader(f)
	next := make(chan chunker.Piece)
	sizes := make([]int64, workers)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(next)
		for _, p := range pieces {
			select {
			case next <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for w := range workers {
		g.Go(func() error {
			buf := make([]byte, chunkSize)
			var out bytes.Buffer
			for p := range next {
				if p.Hole {
					continue // never read: a sparse terabyte costs a loop
				}
				c, err := r.ReadChunk(p, buf)
				if err != nil {
					return err
				}
				if c.Zero {
					continue
				}
				if err := comp.Compress(&out, c.Data); err != nil {
					return err
				}
				sizes[w] += int64(out.Len())
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return ChunkerResult{}, fmt.Errorf("chunker rate: %w", err)
	}
	res := ChunkerResult{Workers: workers, Seconds: time.Since(start).Seconds()}
	for _, n := range sizes {
		res.GzipBytes += n
	}
	res.MBps = mbps(fi.Size(), res.Seconds)
	return res, nil
}

// HashFile returns the sparse digest (SparseDigest) of the file at path,
// the fingerprint uploads and downloads are checked against.
func HashFile(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return SparseDigest(f, fi.Size())
}

// digestChunk is the unit of SparseDigest.
const digestChunk = 4 << 20

// SparseDigest fingerprints the first size bytes of f so that a sparse
// terabyte costs what its data costs: the xxhash64 of the index and the
// xxhash64 of every 4 MiB chunk that is not all zeros, holes found with
// SEEK_DATA and never read. Two files with the same size and the same
// bytes have the same digest, whatever their holes; the size is part of
// it.
func SparseDigest(f *os.File, size int64) (uint64, error) {
	pieces, err := chunker.PlanFile(f, size, digestChunk, false)
	if err != nil {
		return 0, err
	}
	return digestPieces(f, f.Name(), size, pieces)
}

// HashQcow2 is HashFile of a qcow2 file's guest bytes, read through
// imagefmt (go-qcow2reader) as drivecp upload reads them: equal to the
// HashFile of the raw image with the same bytes.
func HashQcow2(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	img, err := imagefmt.Open(f)
	if err != nil {
		return 0, fmt.Errorf("hash %s: %w", path, err)
	}
	defer img.Close()
	if img.Format != imagefmt.Qcow2 {
		return 0, fmt.Errorf("hash %s: a %s file, want qcow2", path, img.Format)
	}
	return digestPieces(img.ReaderAt, path, img.Size, chunker.Plan(img.Size, digestChunk, false))
}

// digestPieces is SparseDigest over the pieces of r, skipping holes.
func digestPieces(r io.ReaderAt, name string, size int64, pieces []chunker.Piece) (uint64, error) {
	d := xxhash.New()
	var rec [16]byte
	binary.LittleEndian.PutUint64(rec[:8], uint64(size))
	d.Write(rec[:8])
	buf := make([]byte, digestChunk)
	for _, p := range pieces {
		if p.Hole {
			continue
		}
		data := buf[:p.Length]
		if _, err := r.ReadAt(data, p.Offset); err != nil && !(errors.Is(err, io.EOF) && p.End() == size) {
			return 0, fmt.Errorf("hash %s: %w", name, err)
		}
		if chunker.IsZero(data) {
			continue
		}
		binary.LittleEndian.PutUint64(rec[:8], uint64(p.Index))
		binary.LittleEndian.PutUint64(rec[8:], xxhash.Sum64(data))
		d.Write(rec[:])
	}
	return d.Sum64(), nil
}

// mbps is bytes per second in MB (10^6 bytes), 0 without time.
func mbps(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / seconds
}
