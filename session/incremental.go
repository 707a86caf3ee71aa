package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// SampleChunks is how many chunks CheckRecord reads back from a drive
// before its record is trusted: enough to catch a drive that was
// rewritten, reformatted or restored behind drivecp's back (any of those
// touches the first chunk and most data chunks), few enough to cost a
// fraction of a second.
const SampleChunks = 8

// recordSaveInterval is how often a running incremental write saves the
// chunks it has confirmed, so a crash loses at most this much progress on
// top of the chunks in flight.
const recordSaveInterval = 2 * time.Second

// ErrStaleRecord reports a drive whose content no longer matches what
// drivecp recorded of it.
var ErrStaleRecord = errors.New("the drive no longer holds what drivecp recorded")

// CheckRecord reads back up to SampleChunks chunks the record claims to
// know and compares their hashes, so that a drive changed since the record
// was made is refused (ErrStaleRecord) instead of being patched into
// something that is neither the old content nor the new.
func CheckRecord(ctx context.Context, api OffsetAPI, drive string, base *driverecord.Record, concurrency int) error {
	sample := base.Sample(SampleChunks, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0)))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, concurrency))
	step := api.MaxReadSize()
	for _, i := range sample {
		g.Go(func() error {
			buf := make([]byte, base.ChunkLen(i))
			for off := int64(0); off < int64(len(buf)); off += step {
				end := min(off+step, int64(len(buf)))
				if err := api.ReadAt(ctx, drive, int64(i)*base.ChunkSize+off, buf[off:end]); err != nil {
					return fmt.Errorf("reading back chunk %d of drive %s: %w", i, drive, err)
				}
			}
			if driverecord.Hash(base.HashKind(), buf) != base.Chunks[i] {
				return fmt.Errorf("drive %s: %w (chunk %d at offset %d differs)", drive, ErrStaleRecord, i, int64(i)*base.ChunkSize)
			}
			return nil
		})
	}
	return g.Wait()
}

// IncrementalOptions describe an incremental write: drive brought to an
// image's content over offset writes, sending only the chunks whose hash
// differs from what Base says the drive holds (every chunk, when Base
// knows none).
type IncrementalOptions struct {
	API     OffsetAPI
	Records driverecord.Store
	Drive   providers.Drive
	// Base is what the drive holds, with the target's cloud, endpoint and
	// drive filled in; it is saved as the write goes.
	Base  *driverecord.Record
	Image io.ReaderAt
	// Want holds the image's chunk hashes at Base.ChunkSize, of Base's
	// HashKind.
	Want []backupstore.Hash
	// Source says what the record saved at the end comes from.
	Source string
	// Fresh says the drive is new and reads as zeros: zero chunks are
	// neither read nor sent.
	Fresh bool
	// Engine are the engine's options (concurrency, limits, retries);
	// Progress hears of the chunks.
	Engine   transfer.Options
	Progress transfer.Progress
}

// IncrementalResult is what an incremental write did.
type IncrementalResult struct {
	Chunks  int // chunks of the image
	Changed int // chunks that differed, to be sent
	// Unconfirmed is the changed chunks not acknowledged when it ended.
	Unconfirmed int
	Summary     transfer.Summary
}

// WriteIncremental sends the changed chunks. Before the first byte it saves
// the record with those chunks pending; while it runs and when it ends
// (also on failure or Ctrl-C) it saves the ones confirmed, so the same
// command run again sends only what is still unconfirmed. An interrupted
// write wraps failure.ErrInterrupted, one the network or server stopped is
// failure.Resumable: both exit 5.
func WriteIncremental(ctx context.Context, o IncrementalOptions) (IncrementalResult, error) {
	res, err := writeIncremental(ctx, o)
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, fmt.Errorf("%w (drive %s: %d of %d changed chunks confirmed, the rest are sent again)",
			failure.ErrInterrupted, o.Drive.UUID, res.Changed-res.Unconfirmed, res.Changed)
	case continuable(err):
		return res, &failure.Resumable{Err: failure.WithHint(err, "run the same command again: drive %s's record keeps the chunks already confirmed", o.Drive.UUID)}
	}
	return res, err
}

func writeIncremental(ctx context.Context, o IncrementalOptions) (IncrementalResult, error) {
	base := o.Base
	changed, err := base.Changed(o.Want)
	if err != nil {
		return IncrementalResult{}, err
	}
	res := IncrementalResult{Chunks: len(o.Want), Changed: len(changed), Unconfirmed: len(changed)}
	rec := base.WithPending(changed)
	rec.Source, rec.Time = o.Source, time.Now().UTC()
	if err := o.Records.Save(rec); err != nil {
		return res, fmt.Errorf("saving the record of drive %s: %w", o.Drive.UUID, err)
	}
	piece := base.ChunkSize
	if o.API.MaxPiece > 0 {
		piece = min(piece, o.API.MaxPiece)
	}
	if base.ChunkSize%piece != 0 {
		return res, fmt.Errorf("chunks of %s cannot be written in pieces of at most %s", units.FormatSize(base.ChunkSize), units.FormatSize(piece))
	}
	perChunk := int(base.ChunkSize / piece)
	pieces := chunker.Plan(base.Size, piece, false)
	done := transfer.DoneMap{}
	isChanged := make([]bool, len(o.Want))
	for _, i := range changed {
		isChanged[i] = true
	}
	for i, p := range pieces {
		chunk := int(p.Offset / base.ChunkSize)
		if !isChanged[chunk] {
			done[p.Index] = 0
		}
		pieces[i].Hole = o.Fresh && o.Want[chunk].IsZeroChunk()
	}
	var mu sync.Mutex
	left := map[int]int{} // chunk → pieces not yet confirmed
	for _, i := range changed {
		left[i] = min(perChunk, len(pieces)-i*perChunk)
	}
	confirm := func(index int, _ uint64) {
		chunk := index / perChunk
		mu.Lock()
		defer mu.Unlock()
		if left[chunk]--; left[chunk] == 0 {
			delete(left, chunk)
			rec.Chunks[chunk] = o.Want[chunk]
		}
	}
	save := func() error {
		mu.Lock()
		snap := *rec
		snap.Chunks = slices.Clone(rec.Chunks)
		snap.Pending = nil
		for _, i := range changed {
			if _, open := left[i]; open {
				snap.Pending = append(snap.Pending, i)
			}
		}
		res.Unconfirmed = len(snap.Pending)
		mu.Unlock()
		return o.Records.Save(&snap)
	}
	eo := o.Engine
	eo.Done, eo.RecheckDone, eo.SkipZero = done, false, o.Fresh
	eo.Gzip = o.API.Gzip
	eo.OnChunkDone, eo.OnChunkZero = confirm, nil
	eo.Progress = o.Progress
	saverCtx, stopSaver := context.WithCancel(ctx)
	saver := make(chan struct{})
	go func() {
		defer close(saver)
		t := time.NewTicker(recordSaveInterval)
		defer t.Stop()
		for {
			select {
			case <-saverCtx.Done():
				return
			case <-t.C:
				save() //nolint:errcheck // the final save reports what the periodic ones hit
			}
		}
	}()
	sum, err := transfer.Upload(ctx, o.Image, pieces, transfer.OffsetSink{W: o.API, Drive: o.Drive.UUID}, eo)
	stopSaver()
	<-saver
	if serr := save(); serr != nil && err == nil {
		err = fmt.Errorf("saving the record of drive %s: %w", o.Drive.UUID, serr)
	}
	res.Summary = sum
	return res, err
}
