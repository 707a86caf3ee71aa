package command

import (
	"errors"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/session"
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
	cl, err := newTransferClients(c, ts.opts.Concurrency, metaRetry(ts.opts))
	if err != nil {
		return err
	}
	mode := session.Chunked
	if c.Bool(flagSingle) {
		mode = session.Single
	}
	o, err := downloadOptions(c, ts, cl, mode, true)
	if err != nil {
		return err
	}
	o.Out, o.RemoteName = out, remote
	o.CheckOutput = func(out string) error { return checkOutput(out, ts.force) }
	d, err := session.PrepareDownload(c.Context, o)
	if err != nil {
		return err
	}
	defer d.Close()
	sum, err := d.Run(c.Context)
	return finishDownload(c, d.Drive().UUID, d.Out(), sum, err, ts, func(f *os.File) error {
		return verifyRemoteV2(c, f, d.Drive().Size, d.Ranged(), ts)
	})
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
