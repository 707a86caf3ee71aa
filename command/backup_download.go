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
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/session"
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
		opts := transfer.Options{Concurrency: concurrency, StallTimeout: time.Minute, Budget: budget, Limiter: limiter}
		if l := eventLogFrom(ctx); l != nil {
			opts.OnRetry = l.retry
		}
		env, err := sessionEnv(c)
		if err != nil {
			return stats, err
		}
		// The drive downloaded is a temporary clone, gone after the run:
		// the backup records what the drive backed up holds instead.
		env.Records = nil
		// The manifest wants every chunk's hash: Hashes collects them.
		d, err := session.PrepareDownload(ctx, session.DownloadOptions{Env: env, Mode: session.Chunked, Chunked: cl.v2,
			Endpoint: cl.endpointHost, Known: &providers.Drive{UUID: drive, Size: size}, Out: dest, ChunkSize: chunkSize,
			Engine: opts, Hashes: true})
		if err != nil {
			return stats, err
		}
		defer d.Close()
		sum, err := d.Run(ctx)
		stats.Bytes = sum.WireBytes
		stats.ChunkHashes = d.ChunkHashes()
		if err != nil {
			if ctx.Err() != nil {
				// backup.Run tells an interruption from a failure by ctx.
				return stats, errors.Join(ctx.Err(), err)
			}
			return stats, fmt.Errorf("download drive %s: %w", drive, err)
		}
		return stats, nil
	}
}
