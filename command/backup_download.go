package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/time/rate"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// newDriveDownloader returns the download function of `drivecp backup`: the
// same parallel, resumable API 2.0 download as `drivecp download` (segments
// of chunks through the redirect, one stream when the storage host ignores
// Range, a checkpoint per target file so a rerun continues where a killed
// run stopped). Every request in flight holds one unit of the backup's
// budget, which all drives share, and the limiter (nil: none) caps their
// bytes per second together.
func newDriveDownloader(c *cli.Context, cl *clients, concurrency int, limiter *rate.Limiter) backup.DownloadFunc {
	return func(ctx context.Context, drive string, size int64, dest string, budget backup.Budget) (backup.DownloadStats, error) {
		chunkSize := int64(chunker.DefaultChunkSize)
		stats := backup.DownloadStats{ChunkSize: chunkSize}
		pieces := chunker.Plan(size, chunkSize, false)
		opts := transfer.Options{Concurrency: concurrency, StallTimeout: time.Minute, Budget: budget, Limiter: limiter}
		if l := eventLogFrom(ctx); l != nil {
			opts.OnRetry = l.retry
		}
		sess, err := openDownloadSession(c, cl.endpointHost, resume.APIv2, drive, size, dest, chunkSize, pieces, concurrency)
		if err != nil {
			return stats, err
		}
		defer sess.Close()
		sess.Attach(&opts, pieces)

		// The manifest wants every chunk's hash: those of an earlier run
		// come from the checkpoint, the rest as the engine acknowledges them.
		stats.ChunkHashes = make([]uint64, len(pieces))
		for i := range pieces {
			if h, ok := opts.Done.IsDone(i); ok {
				stats.ChunkHashes[i] = h
			}
		}
		record, recordZero := opts.OnChunkDone, opts.OnChunkZero
		opts.OnChunkDone = func(i int, h uint64) {
			stats.ChunkHashes[i] = h // each index is written by one worker, once
			if record != nil {
				record(i, h)
			}
		}
		opts.OnChunkZero = func(i int, h uint64) {
			stats.ChunkHashes[i] = h
			if recordZero != nil {
				recordZero(i, h)
			}
		}

		src := transfer.NewRangedSource(cl.v2, drive)
		fo := transfer.FileOptions{ChunkSize: chunkSize, Resume: sess.Resumed()}
		sum, err := transfer.DownloadSegments(ctx, src, size, dest, fo, opts)
		if errors.Is(err, transfer.ErrRangeIgnored) {
			sum, err = transfer.StreamFile(ctx, src, size, dest, fo, opts)
		}
		stats.Bytes = sum.WireBytes
		if err = sess.Finish(ctx, err); err != nil {
			if ctx.Err() != nil {
				// backup.Run tells an interruption from a failure by ctx.
				return stats, errors.Join(ctx.Err(), err)
			}
			return stats, fmt.Errorf("download drive %s: %w", drive, err)
		}
		return stats, nil
	}
}
