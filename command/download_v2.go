package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/safename"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// flagRemoteName is download's -O: name the file as the server suggests.
const flagRemoteName = "remote-name"

// remoteNameFlag is the -O flag of `drivecp download`.
func remoteNameFlag() cli.Flag {
	return &cli.BoolFlag{Name: flagRemoteName, Aliases: []string{"O"},
		Usage: "API 2.0: name the file as the server suggests (Content-Disposition), reduced to a plain name in the current folder"}
}

// runDownloadV2 is `drivecp download` over API 2.0: the API redirects to a
// signed URL on a storage host (which never sees the credentials); the
// drive is read there in parallel ranges (segments of consecutive chunks,
// one request each), or as one stream with --single or when the host
// ignores Range.
func runDownloadV2(c *cli.Context) error {
	out, remote := c.String(flagOutput), c.Bool(flagRemoteName)
	switch {
	case out != "" && remote:
		return usageErrorf("-o and -O exclude each other")
	case out == "" && !remote:
		return withHint(usageErrorf("download needs -o FILE or -O"), "-O names the file as the server suggests")
	}
	ts, err := parseTransferFlags(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	meta := metaRetry(ts.opts)
	cl, err := newTransferClients(c, ts.opts.Concurrency, meta)
	if err != nil {
		return err
	}
	var drive providers.Drive
	err = transfer.Do(ctx, meta, "drive lookup", 0, func(ctx context.Context) error {
		drive, err = cl.v2.GetDrive(ctx, c.Args().First())
		return err
	})
	if err != nil {
		return unreachableHint(goneDriveHint(err, c.Args().First(), out))
	}
	src := transfer.NewRangedSource(cl.v2, drive.UUID)
	// Without -O nothing is needed before the transfer: the first ranges
	// tell whether the server honours Range, and one round trip less
	// matters on small drives.
	info := transfer.RangeInfo{Ranges: true, Total: -1}
	if remote {
		err = transfer.Do(ctx, meta, "download request", 0, func(ctx context.Context) error {
			info, err = src.Probe(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("download drive %s: %w", drive.UUID, unreachableHint(err))
		}
	}
	if info.Total >= 0 && info.Total != drive.Size {
		return fmt.Errorf("download drive %s: the server offers %d bytes of a %d-byte drive", drive.UUID, info.Total, drive.Size)
	}
	if remote {
		out = remoteFileName(info.Name, drive.UUID)
		if !c.Bool(flagQuiet) {
			fmt.Fprintf(c.App.ErrWriter, "drivecp: saving drive %s as %s\n", drive.UUID, out)
		}
	}
	if err := checkOutput(out, ts.force); err != nil {
		return err
	}
	single := c.Bool(flagSingle)
	if !info.Ranges && !single {
		single = true
		if !c.Bool(flagQuiet) {
			fmt.Fprintln(c.App.ErrWriter, "drivecp: the download server ignores Range requests: downloading as one stream")
		}
	}

	size := drive.Size
	pieces := chunker.Plan(size, ts.chunkSize, false)
	sess, err := openDownloadSession(c, cl.endpointHost, resume.APIv2, drive.UUID, size, out, ts.chunkSize, pieces, ts.opts.Concurrency)
	if err != nil {
		return err
	}
	defer sess.Close()
	sess.Attach(&ts.opts, pieces)
	bar := newProgress(c, size, "download")
	ts.opts.Progress = bar
	fo := transfer.FileOptions{Force: ts.force, ChunkSize: ts.chunkSize, Resume: sess.Resumed()}
	var sum transfer.Summary
	if single {
		sum, err = transfer.StreamFile(ctx, src, size, out, fo, ts.opts)
	} else {
		sum, err = transfer.DownloadSegments(ctx, src, size, out, fo, ts.opts)
		if errors.Is(err, transfer.ErrRangeIgnored) {
			if !c.Bool(flagQuiet) {
				fmt.Fprintln(c.App.ErrWriter, "drivecp: the download server ignores Range requests: continuing as one stream")
			}
			single = true
			sum, err = transfer.StreamFile(ctx, src, size, out, fo, ts.opts)
		}
	}
	bar.done()
	return finishDownload(c, sess, drive.UUID, out, sum, err, ts, func(f *os.File) error {
		return verifyRemoteV2(c, f, size, src, ts)
	})
}

// remoteFileName turns the name the server suggested into a plain file
// name in the current folder (safename.FileName), or names the file after
// the drive when nothing usable is left.
func remoteFileName(suggested, drive string) string {
	if name, err := safename.FileName(suggested); err == nil {
		return name
	}
	return drive + ".img"
}

// verifyRemoteV2 compares the first size bytes of the drive behind src with
// local, chunk by chunk: in parallel ranges, or as one stream with --single
// or when the storage host ignores Range.
func verifyRemoteV2(c *cli.Context, local io.ReaderAt, size int64, src *transfer.RangedSource, ts *transferSettings) error {
	o := ts.opts
	o.Done, o.OnChunkDone = nil, nil // verification records nothing in a checkpoint
	bar := newProgress(c, size, "verify")
	o.Progress = bar
	var (
		sum transfer.Summary
		err error
	)
	if c.Bool(flagSingle) {
		sum, err = transfer.VerifyStream(c.Context, local, src, size, ts.chunkSize, o)
	} else {
		sum, err = transfer.Verify(c.Context, local, src, size, ts.chunkSize, o)
		if errors.Is(err, transfer.ErrRangeIgnored) {
			bar.done()
			bar = newProgress(c, size, "verify")
			o.Progress = bar
			sum, err = transfer.VerifyStream(c.Context, local, src, size, ts.chunkSize, o)
		}
	}
	bar.done()
	if err != nil {
		return err
	}
	noteVerified(c, size, sum)
	return nil
}
