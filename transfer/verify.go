package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drivecp/drivecp/chunker"
)

// ErrMismatch is returned by Verify when the two sides differ.
var ErrMismatch = errors.New("verification failed")

// MismatchError names the chunks whose hashes differ.
type MismatchError struct {
	Offsets []int64 // sorted start offsets of differing chunks
	Length  int64   // chunk size used
}

func (e *MismatchError) Error() string {
	const show = 8
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d chunk(s) of %d bytes differ, at offsets", ErrMismatch, len(e.Offsets), e.Length)
	for i, off := range e.Offsets {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(e.Offsets)-show)
			break
		}
		fmt.Fprintf(&b, " %d", off)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMismatch) hold.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// Verify reads every chunk of size bytes from both local and remote and
// compares their xxhash, in parallel under the same pool, retries and
// limits as a transfer. Differences come back as a *MismatchError naming
// the offsets.
func Verify(ctx context.Context, local io.ReaderAt, remote Source, size, chunkSize int64, o Options) (Summary, error) {
	if chunkSize <= 0 {
		chunkSize = chunker.DefaultChunkSize
	}
	if m := remote.MaxPiece(); m > 0 && chunkSize > m {
		chunkSize = m
	}
	var (
		start = time.Now()
		stats counters
		mu    sync.Mutex
		bad   []int64
		rs    = wrapSource(remote, &o, &stats)
		rd    = chunker.NewReader(local)
		bufs  = chunker.NewBufferPool(int(chunkSize))
		prog  = progressMux{p: o.Progress}
	)
	pieces := chunker.Plan(size, chunkSize, false)
	sum := Summary{Chunks: len(pieces), LogicalBytes: size}
	err := runPool(ctx, o.gate(chunkSize, &stats), chunkSize, pieces, nil, func(ctx context.Context, p chunker.Piece, buf []byte) error {
		if err := rs.ReadPiece(ctx, p, buf); err != nil {
			return fmt.Errorf("verify: read chunk %d at offset %d: %w", p.Index, p.Offset, err)
		}
		remoteHash := chunker.Hash(buf)
		lbuf := bufs.Get()
		defer bufs.Put(lbuf)
		c, err := rd.ReadChunk(p, lbuf)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if c.Hash != remoteHash {
			mu.Lock()
			bad = append(bad, p.Offset)
			mu.Unlock()
		}
		prog.add(p.Length)
		return nil
	})
	sum.finish(start, &stats)
	if err != nil {
		return sum, err
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return sum, &MismatchError{Offsets: bad, Length: chunkSize}
	}
	return sum, nil
}
