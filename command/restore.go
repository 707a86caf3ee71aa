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
	"github.com/drivecp/drivecp/driverecord"
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
			"API 1.0 upload: chunks read from the store (each checked against its hash), zero chunks not sent.\n" +
			"With --drive, it overwrites an existing drive of the backup's size; with --incremental only the\n" +
			"chunks that differ from what drivecp recorded of that drive at its last upload, restore or backup\n" +
			"are sent, after a sample of the recorded chunks was read back and matched. An interrupted\n" +
			"restore into a drive continues where it stopped when run again.",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the image file to write (required)"},
			&cli.BoolFlag{Name: flagForce, Usage: "replace FILE if it exists"},
			&cli.StringFlag{Name: "name", Usage: "restore into a new drive of this name instead of a file; prints its UUID"},
			&cli.StringFlag{Name: "drive", Usage: "restore into this existing drive (overwritten) instead of a file"},
			&cli.BoolFlag{Name: flagIncremental, Usage: "with --drive: send only the chunks that differ from what drivecp recorded of the drive"},
		},
		Action: func(c *cli.Context) error {
			o := restoreOptions{Store: c.String("store"), ID: c.Args().First(),
				Output: c.String("output"), Force: c.Bool(flagForce), JSON: c.Bool(flagJSON)}
			if c.NArg() != 1 || o.ID == "" {
				return withHint(usageErrorf("name one backup to restore"), "list them with 'drivecp backups list --store %s'", dash(o.Store))
			}
			name, drive := c.String("name"), c.String("drive")
			switch targets := countSet(o.Output, name, drive); {
			case targets > 1:
				return usageErrorf("-o, --name and --drive exclude each other: restore to a file, a new drive or an existing one")
			case c.Bool(flagIncremental) && drive == "":
				return usageErrorf("--incremental applies to --drive: a file or a new drive gets every chunk")
			case name != "":
				return runRestoreToDrive(c, o, name, "")
			case drive != "":
				return runRestoreToDrive(c, o, "", drive)
			case o.Output == "":
				return withHint(usageErrorf("-o FILE, --name NAME or --drive UUID is required"),
					"restore to a local file with -o, into a new drive with --name, into an existing drive with --drive")
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

// countSet counts the non-empty strings.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

// runRestoreToDrive writes backup o.ID into a new drive named name, or into
// the existing drive id, with the API 1.0 engine: the store is read chunk
// by chunk (each chunk checked against its hash). A new drive reads as
// zeros, so its zero chunks are neither read nor sent; an existing drive
// gets every chunk, or with --incremental only those that differ from its
// record. Either way the drive's record is kept as the restore goes (see
// incrementalWrite), so an interrupted restore into a drive continues when
// run again; a restore into a new drive that fails names the drive, which
// then holds part of the image.
func runRestoreToDrive(c *cli.Context, o restoreOptions, name, id string) error {
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
		return usageErrorf("restore into a drive writes drives at offsets, which this cloud's transfer APIs cannot: restore to a file with -o and upload it")
	}
	records, err := driveRecords()
	if err != nil {
		return err
	}
	cloud := cloudName(c)
	var drive providers.Drive
	var base *driverecord.Record
	if id != "" {
		if drive, err = cl.v1.GetDrive(ctx, id); err != nil {
			return unreachableHint(err)
		}
		if drive.Size != m.Size {
			return withHint(usageErrorf("drive %s holds %s, backup %s %s", id, units.FormatSize(drive.Size), m.ID, units.FormatSize(m.Size)),
				"restore into a drive of the backup's size ('drivecp drive resize'), or into a new drive with --name")
		}
		if base, err = restoreBase(c, cl, records, cloud, drive, m); err != nil {
			return err
		}
	} else {
		if drive, err = cl.v1.CreateDrive(ctx, providers.DriveSpec{Name: name, Size: m.Size}); err != nil {
			return lostAnswerHint(err, "drive", listCommand(name))
		}
		// A new drive may still be being created: writes wait until it is not.
		if drive, err = session.WaitReady(ctx, cl.v1, drive, uploadWaits(c)); err != nil {
			return withHint(fmt.Errorf("restore %s into drive %s: %w", m.ID, drive.UUID, err),
				"delete drive %s ('drivecp drive delete %s') and run the restore again", drive.UUID, drive.UUID)
		}
		base = driverecord.Blank(cloud, cl.endpointHost, drive.UUID, m.Size, m.ChunkSize)
	}
	img, want := st.ImageReader(m), m.Chunks
	if base.HashKind() != driverecord.KindSHA256 {
		// A record an upload or download made: the backup's chunks are
		// hashed its way, from the store (local, no network).
		if want, err = driverecord.HashImage(ctx, img, m.Size, m.ChunkSize, base.HashKind(), transfer.DefaultConcurrency); err != nil {
			return fmt.Errorf("restore %s: %w", m.ID, err)
		}
	}
	bar := newProgress(c, m.Size, "restore")
	res, err := session.WriteIncremental(ctx, session.IncrementalOptions{API: cl.v1, Records: records, Drive: drive, Base: base,
		Image: img, Want: want, Source: driverecord.FromRestore, Fresh: id == "" && cl.v1.FreshDriveZeroed,
		Engine: transfer.Options{Concurrency: transfer.DefaultConcurrency}, Progress: bar})
	bar.done()
	if err != nil {
		err = fmt.Errorf("restore %s into drive %s: %w", m.ID, drive.UUID, err)
		if id == "" && ctx.Err() == nil {
			return withHint(err, "drive %s holds part of the backup: delete it ('drivecp drive delete %s') and run the restore again", drive.UUID, drive.UUID)
		}
		return err
	}
	printSummary(c, "restored", res.Summary)
	if !c.Bool(flagQuiet) && c.Bool(flagIncremental) {
		fmt.Fprintf(c.App.ErrWriter, "drivecp: %d of %d chunks differed from what drive %s held and were sent\n", res.Changed, res.Chunks, drive.UUID)
	}
	if o.JSON {
		return printJSON(c.App.Writer, map[string]any{"backup": m.ID, "drive": drive.UUID, "size": m.Size, "sha256": m.SHA256,
			"chunks": res.Chunks, "chunks_sent": res.Changed, "summary": res.Summary})
	}
	_, err = fmt.Fprintln(c.App.Writer, drive.UUID)
	return err
}

// restoreBase is what an existing drive is taken to hold: with
// --incremental its record, checked by reading a sample back; without,
// nothing, so every chunk is written.
func restoreBase(c *cli.Context, cl *clients, records driverecord.Store, cloud string, drive providers.Drive, m *backupstore.Manifest) (*driverecord.Record, error) {
	again := fmt.Sprintf("restore in full: drivecp restore --store %s %s --drive %s (without --incremental)", c.String("store"), m.ID, drive.UUID)
	if !c.Bool(flagIncremental) {
		return driverecord.Blank(cloud, cl.endpointHost, drive.UUID, m.Size, m.ChunkSize), nil
	}
	base, err := records.Load(cloud, cl.endpointHost, drive.UUID)
	if errors.Is(err, driverecord.ErrNotFound) {
		return nil, withHint(usageErrorf("--incremental: drivecp has no record of what drive %s holds", drive.UUID), "%s", again)
	}
	if err != nil {
		return nil, err
	}
	if base.Size != m.Size || base.ChunkSize != m.ChunkSize {
		return nil, withHint(usageErrorf("--incremental: the record of drive %s is of %s in chunks of %s, backup %s of %s in chunks of %s",
			drive.UUID, units.FormatSize(base.Size), units.FormatSize(base.ChunkSize), m.ID, units.FormatSize(m.Size), units.FormatSize(m.ChunkSize)), "%s", again)
	}
	if err := session.CheckRecord(c.Context, cl.v1, drive.UUID, base, transfer.DefaultConcurrency); err != nil {
		return nil, staleRecordHint(err, again)
	}
	return base, nil
}
