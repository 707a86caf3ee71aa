package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// Flags of incremental writes (upload and restore).
const (
	flagIncremental = "incremental"
	flagBase        = "base"
)

// sampleChunks is how many chunks an incremental write reads back from the
// drive before trusting its record: enough to catch a drive that was
// rewritten, reformatted or restored behind drivecp's back (any of those
// touches the first chunk and most data chunks), few enough to cost a
// fraction of a second.
const sampleChunks = 8

// recordSaveInterval is how often a running incremental write saves the
// chunks it has confirmed, so a crash loses at most this much progress on
// top of the chunks in flight.
const recordSaveInterval = 2 * time.Second

// errStaleRecord reports a drive whose content no longer matches what
// drivecp recorded of it.
var errStaleRecord = errors.New("the drive no longer holds what drivecp recorded")

// driveRecords returns the records of the state folder.
func driveRecords() (driverecord.Store, error) {
	dir, err := resume.DefaultDir()
	if err != nil {
		return driverecord.Store{}, err
	}
	return driverecord.Store{Dir: dir}, nil
}

// incrementalWrite brings drive to an image's content over offset writes,
// sending only the chunks whose hash differs from what base says the
// drive holds (every chunk, when base knows none).
type incrementalWrite struct {
	api     offsetAPI
	records driverecord.Store
	drive   providers.Drive
	// base is what the drive holds, with the target's cloud, endpoint and
	// drive filled in; it is saved as the run goes.
	base *driverecord.Record
	img  io.ReaderAt
	// want holds the image's chunk hashes at base.ChunkSize.
	want []backupstore.Hash
	// source says what the record saved at the end comes from.
	source string
	// piece is the largest offset write.
	piece int64
	// fresh says the drive is new and reads as zeros: zero chunks are
	// neither read nor sent.
	fresh bool
	opts  transfer.Options
}

// checkBase reads back up to sampleChunks chunks the record claims to know
// and compares their hashes, so a drive changed since the record was made
// is refused instead of being patched into something that is neither the
// old content nor the new.
func checkBase(ctx context.Context, api offsetAPI, drive string, base *driverecord.Record, concurrency int) error {
	sample := base.Sample(sampleChunks, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0)))
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
			if backupstore.HashChunk(buf) != base.Chunks[i] {
				return fmt.Errorf("drive %s: %w (chunk %d at offset %d differs)", drive, errStaleRecord, i, int64(i)*base.ChunkSize)
			}
			return nil
		})
	}
	return g.Wait()
}

// incrementalResult is what an incremental write did.
type incrementalResult struct {
	Chunks  int // chunks of the image
	Changed int // chunks that differed, to be sent
	// Unconfirmed is the changed chunks not acknowledged when it ended.
	Unconfirmed int
	Summary     transfer.Summary
}

// run sends the changed chunks. Before the first byte it saves the record
// with those chunks pending; while it runs and when it ends (also on
// failure or Ctrl-C) it saves the ones confirmed, so the same command run
// again sends only what is still unconfirmed.
func (w *incrementalWrite) run(ctx context.Context, progress transfer.Progress) (incrementalResult, error) {
	changed, err := w.base.Changed(w.want)
	if err != nil {
		return incrementalResult{}, err
	}
	res := incrementalResult{Chunks: len(w.want), Changed: len(changed)}
	rec := w.base.WithPending(changed)
	rec.Source, rec.Time = w.source, time.Now().UTC()
	if err := w.records.Save(rec); err != nil {
		return res, fmt.Errorf("saving the record of drive %s: %w", w.drive.UUID, err)
	}
	piece := min(w.base.ChunkSize, w.piece)
	if w.base.ChunkSize%piece != 0 {
		return res, fmt.Errorf("chunks of %s cannot be written in pieces of at most %s", units.FormatSize(w.base.ChunkSize), units.FormatSize(w.piece))
	}
	perChunk := int(w.base.ChunkSize / piece)
	pieces := chunker.Plan(w.base.Size, piece, false)
	done := transfer.DoneMap{}
	isChanged := make([]bool, len(w.want))
	for _, i := range changed {
		isChanged[i] = true
	}
	for i, p := range pieces {
		chunk := int(p.Offset / w.base.ChunkSize)
		if !isChanged[chunk] {
			done[p.Index] = 0
		}
		pieces[i].Hole = w.fresh && w.want[chunk].IsZeroChunk()
	}
	var mu sync.Mutex
	left := map[int]int{} // chunk → pieces not yet confirmed
	for _, i := range changed {
		left[i] = min(perChunk, (len(pieces) - i*perChunk))
	}
	confirm := func(index int, _ uint64) {
		chunk := index / perChunk
		mu.Lock()
		defer mu.Unlock()
		if left[chunk]--; left[chunk] == 0 {
			delete(left, chunk)
			rec.Chunks[chunk] = w.want[chunk]
		}
	}
	save := func() error {
		mu.Lock()
		snap := *rec
		snap.Chunks = slices.Clone(rec.Chunks)
		snap.Pending = snap.Pending[:0:0]
		for _, i := range changed {
			if _, open := left[i]; open {
				snap.Pending = append(snap.Pending, i)
			}
		}
		res.Unconfirmed = len(snap.Pending)
		mu.Unlock()
		return w.records.Save(&snap)
	}
	o := w.opts
	o.Done, o.RecheckDone, o.SkipZero = done, false, w.fresh
	o.OnChunkDone, o.OnChunkZero = confirm, nil
	o.Progress = progress
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
	res.Summary, err = transfer.Upload(ctx, w.img, pieces, transfer.OffsetSink{W: w.api, Drive: w.drive.UUID}, o)
	stopSaver()
	<-saver
	if serr := save(); serr != nil && err == nil {
		err = fmt.Errorf("saving the record of drive %s: %w", w.drive.UUID, serr)
	}
	return res, err
}

// incrementalFailure classifies a failed incremental write: interrupted or
// continuable failures exit 5 with a hint to run again (the record keeps
// what was confirmed); others keep their own code.
func incrementalFailure(ctx context.Context, err error, res incrementalResult, drive string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (drive %s: %d of %d changed chunks confirmed, the rest are sent again)", ErrInterrupted, drive, res.Changed-res.Unconfirmed, res.Changed)
	}
	if continuable(err) {
		return &resumableError{withHint(err, "run the same command again: drive %s's record keeps the chunks already confirmed", drive)}
	}
	return err
}

// staleRecordHint adds what to do about a refused record.
func staleRecordHint(err error, again string) error {
	if errors.Is(err, errStaleRecord) {
		return withHint(&usageError{err}, "%s", again)
	}
	return err
}

// cloudName names the chosen cloud in records.
func cloudName(c *cli.Context) string {
	cl, err := chosenCloud(c)
	if err != nil {
		return ""
	}
	return cl.Name
}
