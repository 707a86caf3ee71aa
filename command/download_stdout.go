package command

import (
	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/session"
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
	o, err := orderedDownloadOptions(c)
	if err != nil {
		return err
	}
	_, sum, err := session.DownloadOrdered(c.Context, o, c.App.Writer)
	if err != nil {
		return err
	}
	printSummary(c, "downloaded", sum)
	return nil
}

// orderedDownloadOptions are the options of a download in order, which
// keeps no checkpoint: offset reads (API 1.0), or ranges (API 2.0; one
// stream with --single).
func orderedDownloadOptions(c *cli.Context) (session.DownloadOptions, error) {
	ts, err := parseTransferFlags(c)
	if err != nil {
		return session.DownloadOptions{}, err
	}
	var cl *clients
	mode := session.Offset
	if ts.api == "v2" {
		mode = session.Chunked
		if c.Bool(flagSingle) {
			mode = session.Single
		}
		cl, err = newTransferClients(c, ts.opts.Concurrency, metaRetry(ts.opts))
	} else {
		cl, err = newOffsetClients(c, ts)
	}
	if err != nil {
		return session.DownloadOptions{}, err
	}
	return downloadOptions(c, ts, cl, mode, false)
}
