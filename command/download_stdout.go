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
	ts, err := parseTransferFlags(c)
	if err != nil {
		return err
	}
	var cl *clients
	mode := session.Offset
	if ts.api == "v2" {
		mode = session.Chunked
		cl, err = newTransferClients(c, ts.opts.Concurrency, metaRetry(ts.opts))
	} else {
		cl, err = newOffsetClients(c, ts)
	}
	if err != nil {
		return err
	}
	o, err := downloadOptions(c, ts, cl, mode, false)
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
