package command

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

const flagOutput = "output"

func newDownloadCommand() *cli.Command {
	return &cli.Command{
		Name:      "download",
		Usage:     "download a drive into a local raw image (or qcow2: --format)",
		ArgsUsage: "DRIVE-UUID",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Usage: "file to write (FILE.part until complete); - writes to standard output"},
			remoteNameFlag(),
			downloadFormatFlag(),
		}, transferFlags()...),
		Action: withEventLog(withWindow(runDownload)),
	}
}

// downloadResult is download's --json output.
type downloadResult struct {
	Drive string `json:"drive"`
	File  string `json:"file"`
	transfer.Summary
	Verified bool `json:"verified"`
}

func runDownload(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("download takes one DRIVE-UUID argument, got %d", c.NArg())
	}
	if f, err := downloadFormat(c); err != nil || f == formatQcow2 {
		if err != nil {
			return err
		}
		return runDownloadQcow2(c) // download_qcow2.go
	}
	if c.String(flagOutput) == stdioPath {
		return runDownloadStdout(c) // download_stdout.go
	}
	if api, err := apiVersion(c.String(flagAPI)); err == nil && api == "v2" {
		return runDownloadV2(c) // download_v2.go
	}
	out := c.String(flagOutput)
	if out == "" {
		return usageErrorf("download needs -o FILE")
	}
	ts, err := parseTransferFlags(c)
	if err != nil {
		return err
	}
	if err := checkOutput(out, ts.force); err != nil {
		return err
	}
	cl, err := newOffsetClients(c, ts)
	if err != nil {
		return err
	}
	o, err := downloadOptions(c, ts, cl, session.Offset, true)
	if err != nil {
		return err
	}
	o.Out = out
	d, err := session.PrepareDownload(c.Context, o)
	if err != nil {
		return err
	}
	// Closed once the result is out, like an upload's session.
	defer d.Close()
	sum, err := d.Run(c.Context)
	return finishDownload(c, d.Drive().UUID, out, sum, err, ts, func(f *os.File) error {
		return verifyRemote(c, f, d.Drive().Size, d.Offset(), ts)
	})
}

// downloadOptions turns the flags into the session's options for a
// download of the drive the argument names in mode. The checkpoint store is
// opened only for a download into a file, which keeps a checkpoint.
func downloadOptions(c *cli.Context, ts *transferSettings, cl *clients, mode session.Mode, toFile bool) (session.DownloadOptions, error) {
	var env session.Env
	if toFile {
		var err error
		if env, err = sessionEnv(c); err != nil {
			return session.DownloadOptions{}, err
		}
	} else {
		env = session.Env{Stderr: c.App.ErrWriter, Quiet: c.Bool(flagQuiet)}
	}
	return session.DownloadOptions{Env: env, Mode: mode, Offset: cl.v1, Chunked: cl.v2, Endpoint: cl.endpointHost,
		Drive: c.Args().First(), Force: ts.force, ChunkSize: ts.chunkSize, Engine: ts.opts, Meta: metaRetry(ts.opts),
		Progress: progressFunc(c), Explain: unreachableHint, FallbackNotes: true}, nil
}

// checkOutput refuses a download target that is a folder or anything but
// a regular file (a device node, FIFO or socket: --force would replace the
// node with a file, never write to the device), or that exists without
// --force. FILE.part, which the download writes and renames, must be a
// regular file too when it exists.
func checkOutput(out string, force bool) error {
	if fi, err := os.Stat(out); err == nil {
		switch {
		case fi.IsDir():
			return usageErrorf("%s is a folder", out)
		case !fi.Mode().IsRegular():
			return withHint(usageErrorf("%s is not a regular file (%s)", out, fileKind(fi.Mode())),
				"download writes regular files only, --force or not; name a file")
		case !force:
			return withHint(usageErrorf("%s exists", out), "pass --force to replace it")
		}
	}
	if fi, err := os.Lstat(out + ".part"); err == nil && !fi.Mode().IsRegular() {
		return withHint(usageErrorf("%s.part is not a regular file (%s)", out, fileKind(fi.Mode())),
			"move it away: the download writes there before renaming it to %s", out)
	}
	return nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	}
	return "not a regular file"
}

// finishDownload turns the end of a download into the command's answer:
// err is the checkpoint session's verdict (exit 5 when interrupted); then
// the --force hint, the summary line, --verify, and the --json result.
func finishDownload(c *cli.Context, drive, out string, sum transfer.Summary, err error,
	ts *transferSettings, verify func(f *os.File) error) error {
	if errors.Is(err, transfer.ErrExists) {
		return withHint(usageErrorf("%w", err), "pass --force to replace it")
	}
	if err != nil {
		return fmt.Errorf("download drive %s: %w", drive, err)
	}
	printSummary(c, "downloaded", sum)
	if ts.verify {
		f, err := os.Open(out)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := verify(f); err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
	}
	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, downloadResult{Drive: drive, File: out, Summary: sum, Verified: ts.verify})
	}
	return nil
}
