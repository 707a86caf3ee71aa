package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
)

// streamStep is how much of the body one read asks for: small enough that
// the bandwidth limiter paces smoothly, large enough to cost nothing.
const streamStep = 256 << 10

// StreamFile downloads size bytes from src into path as one sequential
// stream: for servers that ignore Range (RangedSource reports
// ErrRangeIgnored), and for --single. Like DownloadFile it writes
// FILE.part (mode 0600, truncated to size first), fsyncs it and renames it
// to path; an existing path is refused with ErrExists unless fo.Force.
//
// The body is cut into chunks of fo.ChunkSize (the plan DownloadFile uses,
// so checkpoints are interchangeable); an all-zero chunk is not written and
// stays a hole. After a reset or stall the stream continues with a Range
// request from the first byte it does not have; when the server ignores
// Range it is read again from the start and the bytes already written are
// skipped. A refused or expired URL is replaced through src. Retries follow
// o.Retry, counting failures in a row without progress, so a long stream
// over a flaky link is not given up after a fixed number of resets.
//
// With fo.Resume the stream starts after the leading run of chunks in
// o.Done, whose bytes are kept in FILE.part.
func StreamFile(ctx context.Context, src *RangedSource, size int64, path string, fo FileOptions, o Options) (Summary, error) {
	return downloadStreams(ctx, src, size, path, fo, o, true)
}

// DownloadSegments downloads size bytes from src into path in parallel
// ranges, the way download accelerators do: the chunks not yet done are
// grouped into segments of consecutive chunks (at most segmentChunks, and
// at least as many segments as workers), and each of o.Concurrency workers
// reads one segment at a time with a single Range request, chunk by chunk
// through one chunk-sized buffer. Compared with one request per chunk
// (DownloadFile over RangedSource) it pays the request's round trip once
// per segment instead of once per chunk; memory, checkpoints (one
// OnChunkDone per chunk), holes for zero chunks and the FILE.part handling
// are the same. A failed request continues from the first byte it did not
// receive, like StreamFile. A server that ignores Range fails the download
// with ErrRangeIgnored: fall back to StreamFile.
func DownloadSegments(ctx context.Context, src *RangedSource, size int64, path string, fo FileOptions, o Options) (Summary, error) {
	return downloadStreams(ctx, src, size, path, fo, o, false)
}

// segmentChunks caps a segment of DownloadSegments: 16 chunks of 4 MiB is
// 64 MiB, several seconds on a fast link, so the request's round trip is
// noise, while a segment slowed by retries is never long enough to hold
// the whole download back.
const segmentChunks = 16

// downloadStreams is StreamFile (single) and DownloadSegments.
func downloadStreams(ctx context.Context, src *RangedSource, size int64, path string, fo FileOptions, o Options, single bool) (Summary, error) {
	pf, err := openPart(path, size, fo)
	if err != nil {
		return Summary{}, err
	}
	defer pf.f.Close()
	f, fresh := pf.f, pf.fresh
	st := newStreamer(src, size, fo.ChunkSize, &o)
	st.exact = true
	st.skipIgnored = single
	sum := Summary{LogicalBytes: size, Chunks: len(st.pieces)}
	// Done chunks are kept only in a part file this run did not truncate.
	done := o.Done
	if fresh {
		done = nil
	}
	var segs [][2]int
	if single {
		from := 0
		for from < len(st.pieces) {
			if !isDone(done, from) {
				break
			}
			from++
		}
		if from < len(st.pieces) {
			segs = [][2]int{{from, len(st.pieces)}}
		}
	} else {
		segs = segments(st.pieces, done, o.maxConcurrency(st.chunk))
	}
	var todo int
	for _, sg := range segs {
		todo += sg[1] - sg[0]
	}
	sum.ChunksSkipped = len(st.pieces) - todo
	var already int64
	for _, p := range st.pieces {
		already += p.Length
	}
	for _, sg := range segs {
		already -= st.pieces[sg[1]-1].End() - st.pieces[sg[0]].Offset
	}
	st.prog.settle(already)

	zeroHashes := chunker.NewReader(nil) // caches the hash of zeros
	each := func(p chunker.Piece, data []byte) error {
		if !chunker.IsZero(data) {
			if err := writeData(f, data, p.Offset, fresh); err != nil {
				return fmt.Errorf("write chunk %d at offset %d: %w", p.Index, p.Offset, err)
			}
			ack(&o, &st.prog, p, chunker.Hash(data))
			return nil
		}
		st.stats.zeros.Add(p.Length)
		if !fresh {
			if err := zeroRange(f, p.Offset, data); err != nil {
				return fmt.Errorf("clear chunk %d at offset %d: %w", p.Index, p.Offset, err)
			}
		}
		ackZero(&o, p, zeroHashes.ZeroHash(p.Length))
		st.prog.add(p.Length)
		return nil
	}
	gt := o.gate(st.chunk, &st.stats)
	err = st.runAll(ctx, segs, gt, each)
	sum.Concurrency = chosen(gt)
	st.fill(&sum)
	if err != nil {
		return sum, err
	}
	return sum, pf.commit()
}

// segments groups the pieces not in done into runs of consecutive pieces
// ([from, to) indexes), each at most segmentChunks long and short enough
// that there are at least workers of them when the pieces allow.
func segments(pieces []chunker.Piece, done DoneSet, workers int) [][2]int {
	todo := 0
	for _, p := range pieces {
		if !isDone(done, p.Index) {
			todo++
		}
	}
	limit := min(segmentChunks, max(1, (todo+workers-1)/max(workers, 1)))
	var segs [][2]int
	for i := 0; i < len(pieces); {
		if isDone(done, i) {
			i++
			continue
		}
		j := i
		for j < len(pieces) && j-i < limit {
			if isDone(done, j) {
				break
			}
			j++
		}
		segs = append(segs, [2]int{i, j})
		i = j
	}
	return segs
}

// runAll runs the segments with at most as many at once as gt lets in,
// each through its
// own chunk buffer. The first failure stops the others.
func (st *streamer) runAll(ctx context.Context, segs [][2]int, gt gate, each func(p chunker.Piece, data []byte) error) error {
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan [2]int)
	g.Go(func() error {
		defer close(next)
		for _, sg := range segs {
			select {
			case next <- sg:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	for range min(gt.max(), len(segs)) {
		g.Go(func() error {
			var buf []byte // allocated once the worker first gets room
			for sg := range next {
				if err := gt.acquire(gctx); err != nil {
					return nil // gctx is done: g.Wait has the cause
				}
				if buf == nil {
					buf = make([]byte, maxLen(st.pieces))
				}
				s := &slot{g: gt, held: true}
				err := st.run(withSlot(gctx, s), sg[0], sg[1], buf, each)
				var moved int64
				if err == nil {
					moved = st.pieces[sg[1]-1].End() - st.pieces[sg[0]].Offset
				}
				s.done(moved)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return err
}

// VerifyStream is Verify for servers that ignore Range: it reads the first
// size bytes of the drive as one stream (resuming like StreamFile) and
// compares each chunk's xxhash with local's. Differences come back as a
// *MismatchError.
func VerifyStream(ctx context.Context, local io.ReaderAt, src *RangedSource, size, chunkSize int64, o Options) (Summary, error) {
	st := newStreamer(src, size, chunkSize, &o)
	sum := Summary{LogicalBytes: size, Chunks: len(st.pieces)}
	rd := chunker.NewReader(local)
	lbuf := make([]byte, st.chunk)
	var bad []int64
	st.skipIgnored = true
	err := st.run(ctx, 0, len(st.pieces), make([]byte, maxLen(st.pieces)), func(p chunker.Piece, data []byte) error {
		c, err := rd.ReadChunk(p, lbuf)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if c.Hash != chunker.Hash(data) {
			bad = append(bad, p.Offset)
		}
		st.prog.add(p.Length)
		return nil
	})
	st.fill(&sum)
	if err != nil {
		return sum, err
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return sum, &MismatchError{Offsets: bad, Length: st.chunk}
	}
	return sum, nil
}

// streamer reads spans of a drive as streams, chunk by chunk, resuming
// after failures. Its counters and progress are shared by the spans that
// run at once; each run brings its own chunk buffer.
type streamer struct {
	src    *RangedSource
	size   int64
	chunk  int64
	pieces []chunker.Piece
	c      *caller
	stats  counters
	prog   progressMux
	start  time.Time
	// exact requires the drive to be size bytes; otherwise (verifying an
	// image against a drive the API grew to its minimum size) it may be
	// longer and only its first size bytes are read.
	exact bool
	// skipIgnored makes a stream whose server ignored Range read from the
	// start and skip what it already has (one stream); otherwise that is
	// ErrRangeIgnored (parallel segments).
	skipIgnored bool
}

func newStreamer(src *RangedSource, size, chunkSize int64, o *Options) *streamer {
	if chunkSize <= 0 {
		chunkSize = chunker.DefaultChunkSize
	}
	st := &streamer{src: src, size: size, chunk: chunkSize, pieces: chunker.Plan(size, chunkSize, false),
		prog: progressMux{p: o.Progress}, start: time.Now()}
	st.c = newCaller(o, &st.stats)
	return st
}

// fill completes a summary with the streamer's counters.
func (st *streamer) fill(s *Summary) { s.finish(st.start, &st.stats) }

// localError marks a failure on this side (writing the file, reading the
// local image) that retrying the download cannot fix.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }

// run streams the pieces [from, to), calling each for every complete
// piece in order. A piece is handed to each once; after a failure the
// stream continues from the first byte not yet received, so a
// half-received piece is completed, not read again. buf holds any piece.
func (st *streamer) run(ctx context.Context, from, to int, buf []byte, each func(p chunker.Piece, data []byte) error) error {
	if from >= to {
		return nil
	}
	pos := st.pieces[from].Offset // first byte not yet received
	end := st.pieces[to-1].End()
	var failures int
	for {
		before := pos
		err := st.c.attempt(ctx, func(ctx context.Context) error { return st.once(ctx, &pos, end, buf, each) })
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var le localError
		if errors.As(err, &le) {
			return le.err
		}
		if pos > before {
			failures = 0 // progress: this is a new run of failures
		}
		failures++
		if !providers.IsRetryable(err) {
			return err
		}
		if failures >= st.c.retry.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts without progress at offset %d)", err, failures, pos)
		}
		d := st.c.retry.Backoff(failures, err)
		st.stats.retries.Add(1)
		if st.c.logger != nil {
			st.c.logger.Printf("resuming the download at offset %d in %s (attempt %d of %d): %v",
				pos, d.Round(time.Millisecond), failures+1, st.c.retry.Attempts, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// once sends one request for the bytes from *pos to end and consumes its
// body, advancing *pos as bytes arrive.
func (st *streamer) once(ctx context.Context, pos *int64, end int64, buf []byte, each func(p chunker.Piece, data []byte) error) error {
	length := end - *pos
	if end == st.size && st.skipIgnored {
		length = -1 // to the end: a plain GET when starting at 0
	}
	rr, err := st.src.Open(ctx, *pos, length)
	if err != nil {
		return err
	}
	defer rr.Body.Close()
	if rr.Total >= 0 && (rr.Total < st.size || (st.exact && rr.Total != st.size)) {
		return fmt.Errorf("the drive holds %d bytes, expected %d: it changed during the download", rr.Total, st.size)
	}
	body := providers.ProgressReader(ctx, rr.Body)
	if rr.Offset != *pos || (length > 0 && rr.Length > length) {
		if !st.skipIgnored {
			return fmt.Errorf("range at %d: %w", *pos, ErrRangeIgnored)
		}
		// The server ignored Range and starts from the beginning: skip
		// what was already received.
		if _, err := st.read(ctx, body, nil, *pos-rr.Offset); err != nil {
			return fmt.Errorf("download stream: skipping to offset %d: %w", *pos, err)
		}
	}
	for *pos < end {
		p := st.pieces[pieceAt(st.pieces, *pos)]
		have := *pos - p.Offset
		data := buf[:p.Length]
		n, err := st.read(ctx, body, data[have:], 0)
		if err != nil {
			// Keep what arrived: the next request continues from there.
			*pos += n
			return fmt.Errorf("download stream at offset %d: %w", *pos, err)
		}
		*pos = p.End()
		if err := each(p, data); err != nil {
			return localError{err}
		}
	}
	return nil
}

// pieceAt returns the index of the piece holding offset off.
func pieceAt(pieces []chunker.Piece, off int64) int {
	i, _ := slices.BinarySearchFunc(pieces, off, func(p chunker.Piece, off int64) int {
		switch {
		case p.End() <= off:
			return -1
		case p.Offset > off:
			return 1
		}
		return 0
	})
	return i
}

// read fills dst from body, or, when dst is nil, discards skip bytes of
// it, in paced steps counted as wire bytes, and returns how many bytes it
// consumed, also on failure. A body that ends early fails with
// io.ErrUnexpectedEOF, which is retryable.
func (st *streamer) read(ctx context.Context, body io.Reader, dst []byte, skip int64) (int64, error) {
	want := int64(len(dst))
	if dst == nil {
		want = skip
	}
	var done int64
	for done < want {
		n := min(want-done, streamStep)
		if err := st.c.wait(ctx, n); err != nil {
			return done, err
		}
		var got int64
		var err error
		if dst == nil {
			got, err = io.CopyN(io.Discard, body, n)
		} else {
			var m int
			m, err = io.ReadFull(body, dst[done:done+n])
			got = int64(m)
		}
		done += got
		st.stats.wire.Add(got)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
	}
	return done, nil
}
