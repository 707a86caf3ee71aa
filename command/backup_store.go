package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/internal/filelock"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// stagingDir is the folder inside a store where `backup --store` downloads
// images before it takes them into the store chunk by chunk. It is the
// --dir of an ordinary backup run, so downloads keep all of that machinery:
// parallel, resumable after a crash, read back and hashed, temporaries
// cleaned up.
const stagingDir = "staging"

// backupStateFile is the name backup.Run gives a drive folder's state
// while the drive's backup is unfinished: an image in a folder with one
// may still be the target of a run that will continue it.
const backupStateFile = ".backup-state.json"

// runStoreBackupAction is `drivecp backup --store DIR`.
func runStoreBackupAction(c *cli.Context, p *providers.Provider) error {
	if p.Features.Backup != providers.BackupDownload {
		return withHint(usageErrorf("%s keeps backups in the cloud as %ss: --store does not apply", p.Cloud, p.Features.Backup),
			"drop --store; nothing is downloaded on %s", p.Cloud)
	}
	if c.String("store") == "" {
		return usageErrorf("--store needs a folder")
	}
	if c.IsSet("keep") {
		return withHint(usageErrorf("--keep applies to --dir"), "with --store, use 'drivecp backups forget --store DIR --keep-last N --prune'")
	}
	o, err := backupOptionsFrom(c)
	if err != nil {
		return err
	}
	so := storeBackupOptions{backupOptions: o, Store: c.String("store"), Cloud: p.Cloud, Endpoint: p.Endpoint}
	records, err := driveRecords()
	if err != nil {
		return err
	}
	so.Records = &records
	if abs, err := filepath.Abs(so.Store); err == nil {
		so.Store = abs
	}
	if so.download, err = backupDownloads(c, o.Concurrency); err != nil {
		return err
	}
	deps := backupDeps(p.Drives, p.Snapshots, p.Jobs, waitOptions{Timeout: c.Duration(flagTimeout)})
	return runStoreBackup(c.Context, c.App.Writer, so, deps)
}

// storeBackupOptions are the arguments of `backup --store`.
type storeBackupOptions struct {
	backupOptions
	Store string
	// Records, when set, learns what each drive backed up held (for a
	// later incremental restore or upload), under Cloud and Endpoint.
	Records         *driverecord.Store
	Cloud, Endpoint string
}

// storeDriveReport is a drive's line of the report: the backup run's, and
// what the store made of the image.
type storeDriveReport struct {
	backup.DriveReport
	Backup        string  `json:"backup,omitempty"` // ID in the store
	Added         int64   `json:"added"`            // bytes of new chunk files
	IngestSeconds float64 `json:"ingest_seconds,omitempty"`
}

// storeBackupReport is the report of `backup --store`.
type storeBackupReport struct {
	Run     string             `json:"run"`
	Store   string             `json:"store"`
	Seconds float64            `json:"seconds"`
	Drives  []storeDriveReport `json:"drives"`
	// Recovered are backups an earlier run downloaded but did not take
	// into the store before it stopped, which this run did.
	Recovered []string `json:"recovered,omitempty"`
	Orphans   []string `json:"orphans,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	// StoreBytes and StoreChunks are the store's size after the run.
	StoreBytes  int64 `json:"store_bytes"`
	StoreChunks int   `json:"store_chunks"`
}

// runStoreBackup runs an ordinary backup into the store's staging folder,
// then takes every finished image there into the store and deletes it. The
// store is open (its lock held shared) throughout, so no prune runs beside.
func runStoreBackup(ctx context.Context, w io.Writer, o storeBackupOptions, deps backup.Deps) error {
	start := time.Now()
	st, err := backupstore.Create(ctx, o.Store)
	if errors.Is(err, backupstore.ErrNotStore) {
		return withHint(usageErrorf("backup: %w", err), "give an empty or new folder, or one made by 'drivecp backup --store'")
	}
	if err != nil {
		return fmt.Errorf("backup store: %w", err)
	}
	defer st.Close()
	o.Dir = filepath.Join(o.Store, stagingDir)
	deps.Download = o.download
	rep, err := backup.Run(ctx, o.Options, deps)
	if err != nil {
		return err
	}
	out := storeBackupReport{Run: rep.Run, Store: o.Store, Orphans: rep.Orphans, Warnings: rep.Warnings}
	byImage := map[string]int{}
	for _, d := range rep.Drives {
		if d.Status == backup.StatusOK {
			byImage[d.File] = len(out.Drives)
		}
		out.Drives = append(out.Drives, storeDriveReport{DriveReport: d})
	}
	// Every finished image in the staging folder: this run's, and those of
	// earlier runs that stopped between the download and the store.
	images, err := stagedImages(o.Dir)
	if err != nil {
		return err
	}
	for _, img := range images {
		i, ours := byImage[img]
		t0 := time.Now()
		m, err := ingestStaged(ctx, st, img)
		switch {
		case ours:
			d := &out.Drives[i]
			d.IngestSeconds = time.Since(t0).Seconds()
			d.File, d.Manifest = "", ""
			if err != nil {
				d.Err, d.Error = err, "store: "+err.Error()
				d.Status = backup.StatusFailed
				if ctx.Err() != nil {
					d.Status = backup.StatusInterrupted
				}
				continue
			}
			d.Backup, d.Added = m.ID, m.Added
			d.Seconds += d.IngestSeconds
			d.MBps = units.MBps(d.Bytes, d.Seconds)
			if err := o.record(m); err != nil {
				out.Warnings = append(out.Warnings, fmt.Sprintf("record what drive %s holds: %v", m.Drive, err))
			}
		case err != nil:
			out.Warnings = append(out.Warnings, fmt.Sprintf("take %s into the store: %v", img, err))
		default:
			out.Recovered = append(out.Recovered, m.ID)
		}
	}
	if u, err := st.Usage(ctx); err == nil {
		out.StoreBytes, out.StoreChunks = u.Bytes, u.Chunks
	}
	out.Seconds = time.Since(start).Seconds()
	if o.JSON {
		if err := printJSON(w, out); err != nil {
			return err
		}
	} else if err := printStoreBackupReport(w, out); err != nil {
		return err
	}
	interrupted, failed := 0, 0
	for _, d := range out.Drives {
		switch d.Status {
		case backup.StatusInterrupted:
			interrupted++
		case backup.StatusFailed:
			failed++
		}
	}
	return backupOutcome(len(out.Drives), interrupted, failed)
}

// record saves what the drive of backup m held at the backup, unless
// there is no record store.
func (o storeBackupOptions) record(m *backupstore.Manifest) error {
	if o.Records == nil {
		return nil
	}
	r := driverecord.FromManifest(m, driverecord.FromBackup)
	r.Cloud, r.Endpoint = o.Cloud, o.Endpoint
	return o.Records.Save(r)
}

// stagedImages returns the finished images in the staging folder: an image
// with its manifest, in a drive folder without a backup state (a state
// means a run has not finished with that drive and may continue it).
func stagedImages(staging string) ([]string, error) {
	drives, err := os.ReadDir(staging)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range drives {
		dir := filepath.Join(staging, d.Name())
		if !d.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, backupStateFile)); err == nil {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), backup.ImageSuffix) && e.Type().IsRegular() {
				img := filepath.Join(dir, e.Name())
				if _, err := os.Stat(backup.ManifestPath(img)); err == nil {
					out = append(out, img)
				}
			}
		}
	}
	return out, nil
}

// ingestStaged takes a staged image into the store, checks that the store
// holds the image its download manifest describes, and deletes image and
// manifest. Holding a lock on the image keeps two runs from taking in the
// same one; should both manage to, the store keeps one backup (same drive,
// time and content give the same ID).
func ingestStaged(ctx context.Context, st *backupstore.Store, img string) (*backupstore.Manifest, error) {
	dm, err := backup.ReadManifest(backup.ManifestPath(img))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(img)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := filelock.Flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil, fmt.Errorf("another drivecp is taking %s into the store: %w", img, err)
	}
	if same, err := filelock.SamePath(f, img); err != nil || !same {
		return nil, fmt.Errorf("%s was taken into the store by another drivecp", img)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() != dm.Size {
		return nil, fmt.Errorf("%s is %d bytes, its manifest says %d", img, fi.Size(), dm.Size)
	}
	m, err := st.Backup(ctx, f, backupstore.Source{Drive: dm.Drive.UUID, Name: dm.Drive.Name,
		Snapshot: dm.Snapshot, Time: dm.Created, Size: dm.Size})
	if err != nil {
		return nil, err
	}
	if m.SHA256 != dm.SHA256 {
		return nil, fmt.Errorf("%s changed since it was downloaded: SHA-256 %s, its manifest says %s", img, m.SHA256, dm.SHA256)
	}
	// The backup is in the store: the staged copy goes, manifest last, so
	// a crash in between leaves nothing that looks like a finished image.
	if err := os.Remove(img); err != nil {
		return m, err
	}
	if err := os.Remove(backup.ManifestPath(img)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	return m, nil
}

// printStoreBackupReport prints one aligned row per drive and the store's
// size.
func printStoreBackupReport(w io.Writer, rep storeBackupReport) error {
	t := newTable(w, "DRIVE", "NAME", "STATUS", "SIZE", "ADDED", "SECONDS", "MB/S", "BACKUP", "ERROR")
	for _, d := range rep.Drives {
		size, added, secs, rate := "-", "-", "-", "-"
		if d.Status == backup.StatusOK {
			size = units.FormatSize(d.Bytes)
			added = units.FormatSize(d.Added)
			rate = strconv.FormatFloat(d.MBps, 'f', 1, 64)
		}
		if d.Seconds > 0 {
			secs = strconv.FormatFloat(d.Seconds, 'f', 1, 64)
		}
		t.row(d.Drive, dash(d.Name), string(d.Status), size, added, secs, rate, dash(d.Backup), dash(oneLine(d.Error)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, id := range rep.Recovered {
		if _, err := fmt.Fprintf(w, "stored backup %s, downloaded by an earlier run that stopped before storing it\n", id); err != nil {
			return err
		}
	}
	for _, id := range rep.Orphans {
		if _, err := fmt.Fprintf(w, "deleted temporary clone %s: the drive it was cloned from no longer exists\n", id); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "store %s: %s in %s\n", rep.Store, units.FormatSize(rep.StoreBytes), plural(rep.StoreChunks, "chunk"))
	return err
}
