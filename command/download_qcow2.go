package command

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/internal/qcow2write"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

const flagFormat = "format"

// Formats `drivecp download` writes.
const (
	formatRaw   = "raw"
	formatQcow2 = "qcow2"
)

func downloadFormatFlag() cli.Flag {
	return &cli.StringFlag{Name: flagFormat,
		Usage: "raw or qcow2 (zero chunks left unallocated; not resumable); default: qcow2 for a FILE named *.qcow2, else raw"}
}

// downloadFormat is the format the flags ask for: --format, else qcow2
// for an output named *.qcow2, else raw.
func downloadFormat(c *cli.Context) (string, error) {
	switch f := c.String(flagFormat); f {
	case formatRaw, formatQcow2:
		return f, nil
	case "":
		if strings.EqualFold(filepath.Ext(c.String(flagOutput)), ".qcow2") {
			return formatQcow2, nil
		}
		return formatRaw, nil
	default:
		return "", usageErrorf("unknown --format %q: raw or qcow2", f)
	}
}

// runDownloadQcow2 is `drivecp download DRIVE --format qcow2 -o FILE`: the
// drive's bytes arrive in order (session.DownloadOrderedTo, as for -o -)
// and go through a streaming qcow2 writer that leaves the all-zero
// clusters unallocated. The writer puts its tables after the data, so
// there is no checkpoint to resume from: an interrupted download starts
// over and says so. It writes FILE.part (0600) and renames it to FILE
// once complete and synced (and with --verify, read back and found equal
// to the drive); on failure FILE.part is removed, and a SIGKILL leaves
// only FILE.part, with no header, never a FILE.
func runDownloadQcow2(c *cli.Context) error {
	out := c.String(flagOutput)
	switch {
	case out == "" || out == stdioPath:
		return withHint(usageErrorf("--format qcow2 needs -o FILE"),
			"a qcow2 file's tables go after its data, which a pipe cannot take; -o - writes raw bytes")
	case c.Bool(flagRemoteName):
		return usageErrorf("-O names a raw image: give -o FILE for --format qcow2")
	}
	if err := checkOutput(out, c.Bool(flagForce)); err != nil {
		return err
	}
	o, err := orderedDownloadOptions(c)
	if err != nil {
		return err
	}
	var f *qcow2write.File
	drive, sum, err := session.DownloadOrderedTo(c.Context, o, session.OrderedTarget{
		Name: "qcow2 file " + out,
		Hint: "a qcow2 download cannot be resumed: run it again, or download a raw image (--format raw), which can",
		Open: func(d providers.Drive) (io.Writer, error) {
			var err error
			f, err = qcow2write.Create(out, d.Size)
			if errors.Is(err, fs.ErrExist) {
				return nil, withHint(usageErrorf("%s.part exists", out),
					"it is a raw download to resume, or what a killed qcow2 download left: finish it or remove it")
			}
			return f, err
		},
	})
	if err != nil {
		if f != nil {
			f.Abort()
		}
		return err
	}
	var (
		check     func(part string) error
		verifyErr error
	)
	if c.Bool(flagVerify) {
		check = func(part string) error {
			printSummary(c, "downloaded", sum)
			verifyErr = verifyQcow2(c, part, drive, o)
			return verifyErr
		}
	}
	if err := f.CommitChecked(check); err != nil {
		if verifyErr != nil {
			return withHint(fmt.Errorf("%s: %w", out, verifyErr), "the unverified qcow2 file was removed: download it again")
		}
		return fmt.Errorf("write qcow2 file %s: %w", out, err)
	}
	if check == nil {
		printSummary(c, "downloaded", sum)
	}
	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, downloadResult{Drive: drive.UUID, File: out, Summary: sum, Verified: check != nil})
	}
	return nil
}

// verifyQcow2 reads the finished qcow2 file part back through imagefmt
// (go-qcow2reader, as upload reads it) and compares its guest bytes with
// the drive's, chunk by chunk, through the API the download used.
func verifyQcow2(c *cli.Context, part string, drive providers.Drive, o session.DownloadOptions) error {
	f, err := os.Open(part)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := imagefmt.Open(f)
	if err != nil {
		return fmt.Errorf("read back %s: %w", part, err)
	}
	defer img.Close()
	if img.Format != imagefmt.Qcow2 || img.Size != drive.Size {
		return fmt.Errorf("read back %s: a %s image of %d bytes, want qcow2 of %d", part, img.Format, img.Size, drive.Size)
	}
	ts := &transferSettings{opts: o.Engine, chunkSize: o.ChunkSize}
	if o.Mode == session.Offset {
		return verifyRemote(c, img.ReaderAt, drive.Size, transfer.OffsetSource{R: o.Offset, Drive: drive.UUID}, ts)
	}
	return verifyRemoteV2(c, img.ReaderAt, drive.Size, transfer.NewRangedSource(o.Chunked, drive.UUID), ts)
}
