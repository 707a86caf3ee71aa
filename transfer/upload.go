package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/drivecp/drivecp/chunker"
)

// Upload sends the pieces of img to sink. Each piece is read into a pooled
// buffer and hashed (the next one while the others are in flight, see
// runPoolAhead), then a worker skips it when it is zero and o.SkipZero allows,
// gzips it when o.Gzip is set, and puts it through the retry wrappers. After
// the sink acknowledges a piece, o.OnChunkDone and o.Progress hear of it.
// Pieces in o.Done are not sent again (nor read, unless o.RecheckDone
// asks to hash them first). A sink that is a Readier (PendingSink) may
// not exist yet: pieces are read and hashed meanwhile, but none is sent,
// acknowledged or settled as a hole before it is ready. On failure the Summary still covers
// the work done, so callers can report it.
func Upload(ctx context.Context, img io.ReaderAt, pieces []chunker.Piece, sink Sink, o Options) (Summary, error) {
	start := time.Now()
	comp, err := o.compressor()
	if err != nil {
		return Summary{}, err
	}
	again, err := recheckDone(ctx, img, pieces, &o)
	if err != nil {
		return Summary{}, err
	}
	var (
		stats  counters
		prog   = progressMux{p: o.Progress}
		ws     = wrapSink(sink, &o, &stats)
		reader = chunker.NewReader(img)
		gzBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
		sum    = Summary{Chunks: len(pieces)}
	)
	prog.settle(countDone(pieces, o.Done, &sum))

	// Holes that need not be sent are settled before any worker: their
	// progress is batched, so a sparse terabyte costs a loop, not a
	// goroutine and a lock per chunk.
	var holeBytes int64
	skipHoles := o.SkipZero && !o.AskStored
	pre := func(ctx context.Context, p chunker.Piece) bool {
		if isDone(o.Done, p.Index) {
			return true
		}
		if !skipHoles || !p.Hole || again[p.Index] {
			return false
		}
		if waitReady(ctx, sink) != nil {
			return false // a worker meets the error and reports it
		}
		stats.zeros.Add(p.Length)
		ackZero(&o, p, reader.ZeroHash(p.Length))
		if holeBytes += p.Length; holeBytes >= 256<<20 {
			prog.settle(holeBytes)
			holeBytes = 0
		}
		return true
	}
	gt := o.gate(maxLen(pieces), &stats)
	read := func(_ context.Context, p chunker.Piece, buf []byte) (chunker.Chunk, error) {
		return reader.ReadChunk(p, buf)
	}
	err = runPoolAhead(ctx, gt, maxLen(pieces), pieces, pre, read, func(ctx context.Context, p chunker.Piece, c chunker.Chunk) error {
		if err := waitReady(ctx, sink); err != nil {
			return err
		}
		if o.AskStored && !again[p.Index] {
			stored, err := ws.Stored(ctx, p)
			if err != nil {
				return err
			}
			if stored {
				// The server has it; the hash was read so a checkpoint
				// can still record it.
				stats.skipped.Add(1)
				ack(&o, &prog, p, c.Hash)
				return nil
			}
		}
		if c.Zero && o.SkipZero && !again[p.Index] {
			stats.zeros.Add(p.Length)
			ackZero(&o, p, c.Hash)
			prog.settle(p.Length)
			return nil
		}
		if err := putChunk(ctx, ws, comp, &gzBufs, p, c.Data); err != nil {
			return err
		}
		ack(&o, &prog, p, c.Hash)
		return nil
	})
	prog.settle(holeBytes)
	sum.finish(start, &stats)
	sum.Concurrency = chosen(gt)
	return sum, err
}

// compressor returns the gzip compressor of o's level, nil unless o.Gzip.
func (o *Options) compressor() (*chunker.Compressor, error) {
	if !o.Gzip {
		return nil, nil
	}
	level := o.GzipLevel
	if level == 0 {
		level = chunker.DefaultLevel
	}
	return chunker.NewCompressor(level)
}

// putChunk sends piece p's data through ws: gzipped with comp when comp is
// set and gzip saves enough, else raw. gzBufs pools the gzip buffers.
func putChunk(ctx context.Context, ws wrappedSink, comp *chunker.Compressor, gzBufs *sync.Pool, p chunker.Piece, data []byte) error {
	body, gzipped := data, false
	if comp != nil {
		gb := gzBufs.Get().(*bytes.Buffer)
		defer gzBufs.Put(gb)
		if err := comp.Compress(gb, data); err != nil {
			return fmt.Errorf("chunk %d: %w", p.Index, err)
		}
		// Random data (encrypted or already compressed regions) does not
		// shrink: sending it raw spares the receiver a gunzip that buys
		// nothing, which on a shared CPU is throughput.
		if worthGzip(gb.Len(), len(data)) {
			body, gzipped = gb.Bytes(), true
		}
	}
	if err := ws.Put(ctx, p, body, gzipped); err != nil {
		return fmt.Errorf("upload chunk %d at offset %d: %w", p.Index, p.Offset, err)
	}
	return nil
}

// worthGzip reports whether a gzip body of gzLen bytes saves enough of the
// rawLen raw bytes (at least an eighth) to be sent instead of them.
func worthGzip(gzLen, rawLen int) bool { return gzLen <= rawLen-rawLen/8 }

// ackZero reports a piece whose outcome followed from the plan (zeros not
// sent, or left as zeros) to OnChunkZero, or OnChunkDone without it. The
// caller counts its progress.
func ackZero(o *Options, p chunker.Piece, hash uint64) {
	switch {
	case o.OnChunkZero != nil:
		o.OnChunkZero(p.Index, hash)
	case o.OnChunkDone != nil:
		o.OnChunkDone(p.Index, hash)
	}
}

// ack reports an acknowledged piece to the hooks.
func ack(o *Options, prog *progressMux, p chunker.Piece, hash uint64) {
	if o.OnChunkDone != nil {
		o.OnChunkDone(p.Index, hash)
	}
	prog.add(p.Length)
}
