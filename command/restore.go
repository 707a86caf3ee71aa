package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/filelock"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

func newRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a backup of a store to a local image file (sparse, SHA-256 checked) or to a new drive",
		ArgsUsage: "BACKUP",
		Description: "Writes FILE.part, leaving the backup's chunks of zeros as holes, checks the SHA-256 of the whole\n" +
			"image against the backup's manifest and only then renames it to FILE. BACKUP is an ID from\n" +
			"'drivecp backups list' ('drivecp backups show --store DIR --drive UUID' names a drive's newest).\n" +
			"With --name, the backup goes into a new drive of the chosen cloud instead, through the parallel\n" +
			"API 1.0 upload: chunks read from the store (each checked against its hash), zero chunks not sent.",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the image file to write (required)"},
			&cli.BoolFlag{Name: flagForce, Usage: "replace FILE if it exists"},
			&cli.StringFlag{Name: "name", Usage: "restore into a new drive of this name instead of a file; prints its UUID"},
		},
		Action: func(c *cli.Context) error {
			o := restoreOptions{Store: c.String("store"), ID: c.Args().First(),
				Output: c.String("output"), Force: c.Bool(flagForce), JSON: c.Bool(flagJSON)}
			if c.NArg() != 1 || o.ID == "" {
				return withHint(usageErrorf("name one backup to restore"), "list them with 'drivecp backups list --store %s'", dash(o.Store))
			}
			switch name := c.String("name"); {
			case name != "" && o.Output != "":
				return usageErrorf("-o and --name exclude each other: restore to a file or to a new drive")
			case name != "":
				return runRestoreToDrive(c, o, name)
			case o.Output == "":
				return withHint(usageErrorf("-o FILE or --name NAME is required"), "restore to a local file with -o, or into a new drive with --name")
			}
			return runRestore(c.Context, c.App.Writer, o)
		},
	}
}

// restoreOptions are the arguments of `restore`.
type restoreOptions struct {
	Store  string
	ID     string
	Output string
	Force  bool
	JSON   bool
}

// restoreResult is what `restore` reports.
type restoreResult struct {
	Backup  string  `json:"backup"`
	File    string  `json:"file"`
	Size    int64   `json:"size"`
	SHA256  string  `json:"sha256"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"`
}

func runRestore(ctx context.Context, w io.Writer, o restoreOptions) error {
	start := time.Now()
	if err := checkOutput(o.Output, o.Force); err != nil {
		return err
	}
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := st.Load(o.ID)
	if err != nil {
		return storeNotFound(err, o.Store)
	}
	if err := restoreFile(ctx, st, m, o.Output); err != nil {
		return fmt.Errorf("restore %s: %w", m.ID, err)
	}
	secs := time.Since(start).Seconds()
	res := restoreResult{Backup: m.ID, File: o.Output, Size: m.Size, SHA256: m.SHA256, Seconds: secs, MBps: units.MBps(m.Size, secs)}
	if o.JSON {
		return printJSON(w, res)
	}
	_, err = fmt.Fprintf(w, "restored %s to %s: %s, SHA-256 %s, %.1f s\n", m.ID, o.Output, units.FormatSize(m.Size), m.SHA256, secs)
	return err
}

// restoreFile writes backup m to out through out.part: locked against a
// second restore into the same file, synced, renamed only once its SHA-256
// matched, mode 0600 (an image may hold secrets). A failed restore removes
// the part.
func restoreFile(ctx context.Context, st *backupstore.Store, m *backupstore.Manifest, out string) (err error) {
	part := out + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := filelock.Flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("another drivecp is writing %s", part)
		}
		return err
	}
	// The part is ours from here: a failure removes it.
	defer func() {
		if err != nil {
			os.Remove(part)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := st.Restore(ctx, m, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := os.Rename(part, out); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(out))
}

// runRestoreToDrive uploads backup o.ID into a new drive named name, with
// the API 1.0 engine: the store is read chunk by chunk (each chunk checked
// against its hash), zero chunks are never read or sent (a new drive reads
// as zeros). A failure names the drive, which then holds part of the image.
// It keeps no checkpoint: running it again restores into another new drive.
func runRestoreToDrive(c *cli.Context, o restoreOptions, name string) error {
	ctx := c.Context
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := st.Load(o.ID)
	if err != nil {
		return storeNotFound(err, o.Store)
	}
	cl, err := newClients(c, transfer.DefaultConcurrency)
	if err != nil {
		return err
	}
	if cl.v1.DriveService == nil {
		return usageErrorf("restore --name writes drives at offsets, which this cloud's transfer APIs cannot: restore to a file with -o and upload it")
	}
	piece := m.ChunkSize
	if cl.v1.MaxPiece > 0 {
		piece = min(piece, cl.v1.MaxPiece)
	}
	img := st.ImageReader(m)
	pieces := chunker.Plan(m.Size, piece, false)
	for i := range pieces {
		// Pieces never span two store chunks: the store's chunk size is
		// a multiple of the piece size.
		pieces[i].Hole = m.ChunkSize%piece == 0 && img.Zero(int(pieces[i].Offset/m.ChunkSize))
	}
	drive, err := cl.v1.CreateDrive(ctx, providers.DriveSpec{Name: name, Size: m.Size})
	if err != nil {
		return lostAnswerHint(err, "drive", listCommand(name))
	}
	// A new drive may still be being created: writes wait until it is not.
	if drive, err = session.WaitReady(ctx, cl.v1, drive, uploadWaits(c)); err != nil {
		return withHint(fmt.Errorf("restore %s into drive %s: %w", m.ID, drive.UUID, err),
			"delete drive %s ('drivecp drive delete %s') and run the restore again", drive.UUID, drive.UUID)
	}
	bar := newProgress(c, m.Size, "restore")
	sum, err := transfer.Upload(ctx, img, pieces, transfer.OffsetSink{W: cl.v1, Drive: drive.UUID},
		transfer.Options{Concurrency: transfer.DefaultConcurrency, Gzip: true, SkipZero: true, Progress: bar})
	bar.done()
	if err != nil {
		return withHint(fmt.Errorf("restore %s into drive %s: %w", m.ID, drive.UUID, err),
			"drive %s holds part of the backup: delete it ('drivecp drive delete %s') and run the restore again", drive.UUID, drive.UUID)
	}
	printSummary(c, "restored", sum)
	if o.JSON {
		return printJSON(c.App.Writer, map[string]any{"backup": m.ID, "drive": drive.UUID, "size": m.Size, "sha256": m.SHA256, "summary": sum})
	}
	_, err = fmt.Fprintln(c.App.Writer, drive.UUID)
	return err
}
