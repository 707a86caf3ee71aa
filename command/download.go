package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

const flagOutput = "output"

func newDownloadCommand() *cli.Command {
	return &cli.Command{
		Name:      "download",
		Usage:     "download a drive into a local raw image",
		ArgsUsage: "DRIVE-UUID",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Usage: "file to write (FILE.part until complete); - writes to standard output"},
			remoteNameFlag(),
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
	r := cl.v1
	ctx := c.Context
	id := c.Args().First()
	var drive providers.Drive
	err = transfer.Do(ctx, metaRetry(ts.opts), "drive lookup", 0, func(ctx context.Context) error {
		drive, err = cl.v1.GetDrive(ctx, id)
		return err
	})
	if err != nil {
		return unreachableHint(goneDriveHint(err, id, out))
	}
	src := transfer.OffsetSource{R: r, Drive: drive.UUID}
	// The plan DownloadFile makes: chunks capped at the source's largest read.
	chunk := ts.chunkSize
	if m := src.MaxPiece(); m > 0 {
		chunk = min(chunk, m)
	}
	pieces := chunker.Plan(drive.Size, chunk, false)
	sess, err := openDownloadSession(c, cl.endpointHost, resume.APIv1, drive.UUID, drive.Size, out, chunk, pieces, ts.opts.Concurrency)
	if err != nil {
		return err
	}
	defer sess.Close()
	sess.Attach(&ts.opts, pieces)
	bar := newProgress(c, drive.Size, "download")
	ts.opts.Progress = bar
	sum, err := transfer.DownloadFile(ctx, src, drive.Size, out,
		transfer.FileOptions{Force: ts.force, ChunkSize: chunk, Resume: sess.Resumed()}, ts.opts)
	bar.done()
	return finishDownload(c, sess, drive.UUID, out, sum, err, ts, func(f *os.File) error {
		return verifyRemote(c, f, drive.Size, src, ts)
	})
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

// goneDriveHint explains a drive lookup that found no drive while the
// checkpoint of an earlier download of it (into out, or anywhere when out
// is "" as with -O) remains: that saved progress can never be used, and
// the hint names the command that discards it. Other errors pass as they
// are.
func goneDriveHint(err error, drive, out string) error {
	if !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	st, stErr := checkpointStore()
	if stErr != nil {
		return err
	}
	cs, _ := st.List() // unreadable checkpoints are not this hint's business
	abs := ""
	if out != "" {
		if abs, stErr = session.AbsPath(out); stErr != nil {
			return err
		}
	}
	var ids []string
	for _, c := range cs {
		if c.Key.Direction == resume.Download && c.Key.Drive == drive && (abs == "" || c.Key.LocalPath == abs) {
			ids = append(ids, c.ID())
		}
	}
	if len(ids) == 0 {
		return err
	}
	return withHint(err, "the drive is gone, so the saved progress of its download is of no use: discard it with 'drivecp checkpoint rm %s'",
		strings.Join(ids, " "))
}

// finishDownload turns the end of a download into the command's answer:
// the checkpoint session's verdict on err (exit 5 when interrupted), the
// --force hint, the summary line, --verify, and the --json result.
func finishDownload(c *cli.Context, sess *session.Session, drive, out string, sum transfer.Summary, err error,
	ts *transferSettings, verify func(f *os.File) error) error {
	if !errors.Is(err, transfer.ErrExists) {
		err = sess.Finish(c.Context, err)
	}
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
