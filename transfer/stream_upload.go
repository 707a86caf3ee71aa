package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/chunker"
)

// Errors of a stream upload, told apart with errors.Is.
var (
	// ErrStreamTooLong: the stream holds more bytes than the plan (the
	// drive) has room for. Nothing past the plan was sent.
	ErrStreamTooLong = errors.New("the image is longer than the drive")
	// ErrStreamTooShort: the stream ended before the size it records about
	// itself (a truncated file).
	ErrStreamTooShort = errors.New("the image ended early")
	// ErrSourceChanged: a chunk an earlier run sent now reads differently,
	// so the stream is not the one the checkpoint was made from.
	ErrSourceChanged = errors.New("the image changed since the interrupted run")
)

// StreamResult is what reading a stream found, beside the Summary.
type StreamResult struct {
	// Read is the bytes the stream yielded.
	Read int64
	// DataBytes is the bytes of the chunks that were not all zeros.
	DataBytes int64
}

// UploadStream sends the pieces of the image that r yields, read once from
// the start, to sink: the stream counterpart of Upload for compressed
// images and standard input, which cannot be read at offsets.
//
// The calling goroutine reads the pieces in plan order, each into a pooled
// buffer it takes only together with one of the o.Concurrency tokens, and
// hands it to a worker that compresses and sends it; so memory stays at
// Concurrency buffers of the largest piece, however fast the stream and
// however slow the sink. Zero chunks are skipped when o.SkipZero allows,
// without a worker. Pieces in o.Done are read (a stream cannot skip) and
// hashed; a hash that differs from the one recorded fails the upload with
// ErrSourceChanged before anything is sent over it.
//
// A stream shorter than the plan reads as zeros to its end, unless it
// yields fewer than minSize bytes (ErrStreamTooShort). A stream with bytes
// left after the last piece fails with ErrStreamTooLong once every piece
// is sent: the drive is never written past its end.
func UploadStream(ctx context.Context, r io.Reader, minSize int64, pieces []chunker.Piece, sink Sink, o Options) (Summary, StreamResult, error) {
	start := time.Now()
	comp, err := o.compressor()
	if err != nil {
		return Summary{}, StreamResult{}, err
	}
	var (
		stats  counters
		prog   = progressMux{p: o.Progress}
		ws     = wrapSink(sink, &o, &stats)
		zeros  = chunker.NewReader(nil) // only its cache of zero hashes
		gzBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
		sum    = Summary{Chunks: len(pieces)}
		res    StreamResult
	)
	prog.settle(countDone(pieces, o.Done, &sum))

	send := func(ctx context.Context, p chunker.Piece, c chunker.Chunk) error {
		if o.AskStored {
			stored, err := ws.Stored(ctx, p)
			if err != nil {
				return err
			}
			if stored {
				stats.skipped.Add(1)
				ack(&o, &prog, p, c.Hash)
				return nil
			}
		}
		if err := putChunk(ctx, ws, comp, &gzBufs, p, c.Data); err != nil {
			return err
		}
		ack(&o, &prog, p, c.Hash)
		return nil
	}

	g, gctx := errgroup.WithContext(ctx)
	gt := o.gate(maxLen(pieces), &stats)
	bufs := chunker.NewBufferPool(int(maxLen(pieces)))
	ended := false // the stream reached its end
	var readErr error
	for _, p := range pieces {
		if gctx.Err() != nil {
			break // Acquire may still succeed on a done context
		}
		if err := gt.acquire(gctx); err != nil {
			break // a worker failed or the caller cancelled
		}
		buf := bufs.Get()
		data := buf[:p.Length]
		if !ended {
			k, err := io.ReadFull(r, data)
			res.Read += int64(k)
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				ended = true
				clear(data[k:])
			case err != nil:
				readErr = fmt.Errorf("read image at offset %d: %w", p.Offset+int64(k), err)
			}
		} else {
			clear(data)
		}
		if readErr == nil && ended && res.Read < minSize {
			readErr = fmt.Errorf("%w: after %d bytes, of the %d it records", ErrStreamTooShort, res.Read, minSize)
		}
		if readErr == nil && gctx.Err() != nil {
			readErr = context.Cause(gctx)
		}
		if readErr != nil {
			bufs.Put(buf)
			gt.release(0)
			break
		}
		c := chunker.Chunk{Piece: p, Data: data, Zero: chunker.IsZero(data)}
		if c.Zero {
			c.Hash = zeros.ZeroHash(p.Length)
		} else {
			c.Hash = chunker.Hash(data)
			res.DataBytes += p.Length
		}
		settled := false
		if o.Done != nil {
			if h, ok := o.Done.IsDone(p.Index); ok {
				if h != c.Hash {
					readErr = fmt.Errorf("%w: chunk %d at offset %d differs from the one sent before", ErrSourceChanged, p.Index, p.Offset)
				}
				settled = true
			}
		}
		if !settled && c.Zero && o.SkipZero {
			stats.zeros.Add(p.Length)
			ackZero(&o, p, c.Hash)
			prog.settle(p.Length)
			settled = true
		}
		if settled {
			bufs.Put(buf)
			gt.release(0)
			if readErr != nil {
				break
			}
			continue
		}
		s := &slot{g: gt, held: true}
		g.Go(func() error {
			var moved int64
			defer func() { s.done(moved) }()
			defer bufs.Put(buf)
			err := send(withSlot(gctx, s), p, c)
			if err == nil {
				moved = p.Length
			}
			return err
		})
	}
	err = g.Wait()
	if err == nil {
		err = readErr
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err == nil && !ended {
		// Every piece is sent; a byte more would not fit the drive.
		var one [1]byte
		k, rerr := io.ReadFull(r, one[:])
		switch {
		case k > 0:
			err = fmt.Errorf("%w: it holds more than the drive's %d bytes", ErrStreamTooLong, sum.LogicalBytes)
		case rerr != nil && !errors.Is(rerr, io.EOF):
			err = fmt.Errorf("read image at offset %d: %w", res.Read, rerr)
		case res.Read < minSize:
			err = fmt.Errorf("%w: after %d bytes, of the %d it records", ErrStreamTooShort, res.Read, minSize)
		}
	}
	sum.finish(start, &stats)
	sum.Concurrency = chosen(gt)
	return sum, res, err
}

// UploadResumableStream is UploadStream into API 2.0's numbered chunks,
// with the options the protocol needs as UploadResumable fixes them: raw
// bodies and every chunk sent, zero ones included.
func UploadResumableStream(ctx context.Context, r io.Reader, minSize int64, pieces []chunker.Piece, sink ResumableSink, o Options) (Summary, StreamResult, error) {
	o.Gzip = false
	o.SkipZero = false
	return UploadStream(ctx, r, minSize, pieces, sink, o)
}
