package transfer

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/drivecp/drivecp/chunker"
)

// DownloadOrdered reads the pieces from src in parallel and writes them to
// w in plan order: a download into a pipe (standard output), which can
// only be written from the start. Pieces are read by up to o.Concurrency
// workers through a reorder window of o.Concurrency buffers: piece i+n is
// not started before piece i is written, so memory stays at Concurrency
// buffers of the largest piece however far a slow request holds the
// window back. Every byte is written, zeros included. o.Done and the chunk
// hooks are not used: a pipe keeps nothing a later run could resume.
func DownloadOrdered(ctx context.Context, src Source, pieces []chunker.Piece, w io.Writer, o Options) (Summary, error) {
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
	for _, p := range pieces {
		sum.LogicalBytes += p.Length
	}
	gt := o.gate(maxLen(pieces), &stats)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type job struct {
		p    chunker.Piece
		buf  []byte
		done chan error
	}
	bufs := chunker.NewBufferPool(int(max(maxLen(pieces), 1)))
	queue := make(chan job, gt.max())
	go func() {
		// The dispatcher: a token is a slot of the window, held from the
		// start of a piece's read until the writer has written it.
		defer close(queue)
		for _, p := range pieces {
			// Acquire may succeed on a done context when a token is free:
			// check first, so a failed write stops the reads at once.
			if ctx.Err() != nil {
				return
			}
			if err := gt.acquire(ctx); err != nil {
				return
			}
			j := job{p: p, buf: bufs.Get()[:p.Length], done: make(chan error, 1)}
			go func() {
				err := rs.ReadPiece(ctx, j.p, j.buf)
				if err != nil {
					err = fmt.Errorf("download chunk %d at offset %d: %w", j.p.Index, j.p.Offset, err)
				}
				j.done <- err
			}()
			queue <- j
		}
	}()

	var err error
	for j := range queue {
		if err == nil {
			err = <-j.done
			if err == nil {
				if _, werr := w.Write(j.buf); werr != nil {
					err = fmt.Errorf("write chunk %d at offset %d: %w", j.p.Index, j.p.Offset, werr)
				} else {
					prog.add(j.p.Length)
				}
			}
			if err != nil {
				cancel(err) // stops the dispatcher and the reads in flight
			}
		} else {
			<-j.done
		}
		bufs.Put(j.buf[:cap(j.buf)])
		if err == nil {
			gt.release(j.p.Length)
		} else {
			gt.release(0)
		}
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	sum.finish(start, &stats)
	sum.Concurrency = chosen(gt)
	return sum, err
}

// StreamOrdered writes the first size bytes of the drive behind src to w
// as one stream: DownloadOrdered for a storage host that ignores Range
// (DownloadOrdered fails with ErrRangeIgnored before writing a byte), and
// for --single. Like StreamFile it continues after a reset or stall from
// the first byte not yet received, reading the image again from its start
// and skipping what w already has when the host ignores Range, so w gets
// every byte once and in order; memory is one chunk.
func StreamOrdered(ctx context.Context, src *RangedSource, size, chunkSize int64, w io.Writer, o Options) (Summary, error) {
	st := newStreamer(src, size, chunkSize, &o)
	st.exact = true
	st.skipIgnored = true
	sum := Summary{LogicalBytes: size, Chunks: len(st.pieces)}
	err := st.run(ctx, 0, len(st.pieces), make([]byte, maxLen(st.pieces)), func(p chunker.Piece, data []byte) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("write chunk %d at offset %d: %w", p.Index, p.Offset, err)
		}
		st.prog.add(p.Length)
		return nil
	})
	st.fill(&sum)
	return sum, err
}
