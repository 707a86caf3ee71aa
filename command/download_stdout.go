package command

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// runDownloadStdout is `drivecp download DRIVE -o -`: the drive's bytes go
// to standard output in order, read in parallel ranges through a bounded
// reorder window (transfer.DownloadOrdered), so the image can be piped
// into a compressor or another tool. A pipe cannot be rewound, so there is
// no checkpoint: an interrupted download starts over, and says so.
func runDownloadStdout(c *cli.Context) error {
	switch {
	case c.Bool(flagRemoteName):
		return usageErrorf("-o and -O exclude each other")
	case c.Bool(flagJSON):
		return usageErrorf("--json writes to standard output, where -o - writes the image: drop one")
	case c.Bool(flagVerify):
		return withHint(usageErrorf("--verify reads the downloaded image again, which standard output cannot be"),
			"download into a file to verify it, or pipe the output into sha256sum")
	}
	ts, err := parseTransferFlags(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	meta := metaRetry(ts.opts)
	var (
		cl     *clients
		drives providers.DriveService
	)
	if ts.api == "v2" {
		if cl, err = newTransferClients(c, ts.opts.Concurrency, meta); err == nil {
			drives = cl.v2
		}
	} else if cl, err = newOffsetClients(c, ts); err == nil {
		drives = cl.v1
	}
	if err != nil {
		return err
	}
	id := c.Args().First()
	var drive providers.Drive
	err = transfer.Do(ctx, meta, "drive lookup", 0, func(ctx context.Context) error {
		drive, err = drives.GetDrive(ctx, id)
		return err
	})
	if err != nil {
		return unreachableHint(err)
	}
	var src transfer.Source
	if ts.api == "v2" {
		src = transfer.NewRangedSource(cl.v2, drive.UUID)
	} else {
		src = transfer.OffsetSource{R: cl.v1, Drive: drive.UUID}
	}
	chunk := ts.chunkSize
	if m := src.MaxPiece(); m > 0 {
		chunk = min(chunk, m)
	}
	bar := newProgress(c, drive.Size, "download")
	o := ts.opts
	o.Progress = bar
	sum, err := transfer.DownloadOrdered(ctx, src, chunker.Plan(drive.Size, chunk, false), c.App.Writer, o)
	bar.done()
	if err != nil {
		return withHint(fmt.Errorf("download drive %s to standard output: %w", drive.UUID, err),
			"a download to a pipe cannot be resumed: run it again, or download into a file (-o FILE), which can")
	}
	printSummary(c, "downloaded", sum)
	return nil
}
