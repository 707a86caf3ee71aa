package command

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

func newBackupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "back up drives: snapshot, clone, download, verify, clean up (for nightly jobs)",
		ArgsUsage: "DRIVE... | --all | --tag TAG",
		Description: "Each drive is snapshotted, the snapshot cloned to a temporary drive, the clone downloaded to\n" +
			"DIR/<drive-name>-<uuid>/<UTC timestamp>.img with a manifest beside it, and the temporaries deleted,\n" +
			"on failure too. An interrupted run (exit 5) continues where it stopped when run again; every run\n" +
			"also deletes temporaries that earlier runs left. Exit 0: all drives backed up; 1: some failed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "folder that holds the backups as plain images (this or --store)"},
			&cli.StringFlag{Name: "store", Usage: "deduplicated backup store: each chunk stored once (this or --dir; see 'drivecp backups')"},
			&cli.BoolFlag{Name: "all", Usage: "back up every drive of the account"},
			&cli.StringSliceFlag{Name: "tag", Usage: "back up the drives with this tag UUID (repeatable)"},
			&cli.IntFlag{Name: "keep", Usage: "after a success keep only the newest N backups of the drive (0: keep all)"},
			&cli.BoolFlag{Name: "keep-snapshot", Usage: "keep the snapshot instead of deleting it"},
			&cli.IntFlag{Name: "concurrency", Value: backup.DefaultConcurrency, Usage: "transfer requests in flight, shared by all drives"},
			&cli.IntFlag{Name: "drives-at-once", Value: backup.DefaultDrivesAtOnce, Usage: "drives backed up at the same time"},
			&cli.DurationFlag{Name: flagTimeout, Value: defaultWaitTimeout, Usage: "give up waiting for a snapshot or clone after this long"},
			bwlimitFlag(),
			windowFlag(),
			logJSONFlag(),
		},
		Action: withEventLog(withWindow(func(c *cli.Context) error {
			p, err := openProvider(c, providerOptions{Retry: metaPolicy(c)})
			if err != nil {
				return err
			}
			if c.IsSet("store") {
				return runStoreBackupAction(c, p)
			}
			if p.Features.Backup != providers.BackupDownload {
				return runInCloudBackup(c, p)
			}
			o, err := backupOptionsFrom(c)
			if err != nil {
				return err
			}
			if o.download, err = backupDownloads(c, o.Concurrency); err != nil {
				return err
			}
			deps := backupDeps(p.Drives, p.Snapshots, p.Jobs, waitOptions{Timeout: c.Duration(flagTimeout)})
			return runBackup(c.Context, c.App.Writer, o, deps)
		})),
	}
}

// backupDownloads opens the cloud's transfer APIs for a backup run's
// downloads, under --bwlimit, sharing concurrency requests in flight.
func backupDownloads(c *cli.Context, concurrency int) (backup.DownloadFunc, error) {
	cl, err := newClients(c, concurrency)
	if err != nil {
		return nil, err
	}
	limiter, err := bandwidthLimiter(c, chunker.DefaultChunkSize)
	if err != nil {
		return nil, err
	}
	return newDriveDownloader(c, cl, concurrency, limiter), nil
}

// backupOptions are the arguments of `backup`.
type backupOptions struct {
	backup.Options
	JSON bool
	// download fetches a clone to a file; the action fills it with
	// newDriveDownloader, tests with a fake.
	download backup.DownloadFunc
}

// backupOptionsFrom reads and checks the flags.
func backupOptionsFrom(c *cli.Context) (backupOptions, error) {
	o := backupOptions{JSON: c.Bool(flagJSON)}
	o.Drives = dedupe(c.Args().Slice())
	o.All = c.Bool("all")
	o.Tags = nonEmpty(c.StringSlice("tag"))
	o.Dir = c.String("dir")
	o.Keep = c.Int("keep")
	o.KeepSnapshot = c.Bool("keep-snapshot")
	o.Concurrency = c.Int("concurrency")
	o.DrivesAtOnce = c.Int("drives-at-once")
	modes := 0
	for _, set := range []bool{len(o.Drives) > 0, o.All, len(o.Tags) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes != 1:
		return o, withHint(usageErrorf("name the drives to back up: drive UUIDs, --all or --tag (one of them)"),
			"run 'drivecp backup --help'")
	case slices.Contains(o.Drives, ""):
		return o, usageErrorf("an empty drive UUID")
	case o.Dir != "" && c.IsSet("store"):
		return o, withHint(usageErrorf("--dir and --store exclude each other"), "--dir keeps plain images, --store a deduplicated store: choose one")
	case o.Dir == "" && !c.IsSet("store"):
		return o, withHint(usageErrorf("--dir or --store is required"), "give the folder that holds the backups, e.g. --dir /srv/backups or --store /srv/store")
	case o.Keep < 0:
		return o, usageErrorf("--keep must not be negative")
	case o.Concurrency < 1:
		return o, usageErrorf("--concurrency must be positive")
	case o.DrivesAtOnce < 1:
		return o, usageErrorf("--drives-at-once must be positive")
	}
	if abs, err := filepath.Abs(o.Dir); err == nil {
		o.Dir = abs
	}
	if !c.Bool(flagQuiet) && isTerminal(c.App.ErrWriter) {
		errw := c.App.ErrWriter
		o.Logf = func(format string, args ...any) { fmt.Fprintf(errw, "drivecp: "+format+"\n", args...) }
	}
	errw := c.App.ErrWriter
	o.Warnf = func(format string, args ...any) { fmt.Fprintf(errw, "drivecp: warning: "+format+"\n", args...) }
	return o, nil
}

// backupDeps connects a backup run to the services and to wait.go's
// polling. Waits print no progress: several drives run at once.
func backupDeps(drives providers.DriveService, snaps providers.SnapshotService, jobs providers.JobService, wo waitOptions) backup.Deps {
	wo.Progress = nil
	return backup.Deps{
		Drives: drives, Snapshots: snaps, Jobs: jobs,
		WaitSnapshot: func(ctx context.Context, s providers.Snapshot) (providers.Snapshot, error) {
			return waitSnapshot(ctx, snaps, s, wo)
		},
		WaitClone: func(ctx context.Context, d providers.Drive) (providers.Drive, error) {
			return waitDrive(ctx, drives, jobs, d, "clone "+d.UUID, wo)
		},
	}
}

// runBackup runs the backup, prints the report (table or JSON) and turns
// it into the exit status: interrupted drives give ErrInterrupted (exit
// 5), failed ones a failure (exit 1).
func runBackup(ctx context.Context, w io.Writer, o backupOptions, deps backup.Deps) error {
	deps.Download = o.download
	rep, err := backup.Run(ctx, o.Options, deps)
	if err != nil {
		return err
	}
	if o.JSON {
		if err := printJSON(w, rep); err != nil {
			return err
		}
	} else if err := printBackupReport(w, rep); err != nil {
		return err
	}
	return backupOutcome(len(rep.Drives), rep.Count(backup.StatusInterrupted), rep.Count(backup.StatusFailed))
}

// backupOutcome turns how a run's n drives ended into its error and so its
// exit status: interrupted drives give ErrInterrupted (exit 5), failed ones
// exit 1, a run that matched no drive is an error too.
func backupOutcome(n, interrupted, failed int) error {
	switch {
	case interrupted > 0:
		return fmt.Errorf("backup: %d of %d drives %w", interrupted, n, ErrInterrupted)
	case failed > 0:
		return fmt.Errorf("backup: %d of %d drives failed (see the table)", failed, n)
	case n == 0:
		return fmt.Errorf("backup: no drive matched the selection")
	}
	return nil
}

// printBackupReport prints one aligned row per drive.
func printBackupReport(w io.Writer, rep backup.Report) error {
	t := newTable(w, "DRIVE", "NAME", "STATUS", "SIZE", "SECONDS", "MB/S", "FILE", "ERROR")
	for _, d := range rep.Drives {
		size, secs, rate := "-", "-", "-"
		if d.Status == backup.StatusOK {
			size = units.FormatSize(d.Bytes)
			rate = strconv.FormatFloat(d.MBps, 'f', 1, 64)
		}
		if d.Seconds > 0 {
			secs = strconv.FormatFloat(d.Seconds, 'f', 1, 64)
		}
		t.row(d.Drive, dash(d.Name), string(d.Status), size, secs, rate, dash(d.File), dash(oneLine(d.Error)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, id := range rep.Orphans {
		if _, err := fmt.Fprintf(w, "deleted temporary clone %s: the drive it was cloned from no longer exists\n", id); err != nil {
			return err
		}
	}
	return nil
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
