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
	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/internal/filelock"
	"github.com/drivecp/drivecp/internal/units"
)

func newRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a backup of a store to a local image file (sparse, SHA-256 checked)",
		ArgsUsage: "BACKUP",
		Description: "Writes FILE.part, leaving the backup's chunks of zeros as holes, checks the SHA-256 of the whole\n" +
			"image against the backup's manifest and only then renames it to FILE. BACKUP is an ID from\n" +
			"'drivecp backups list' ('drivecp backups show --store DIR --drive UUID' names a drive's newest).",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the image file to write (required)"},
			&cli.BoolFlag{Name: flagForce, Usage: "replace FILE if it exists"},
		},
		Action: func(c *cli.Context) error {
			o := restoreOptions{Store: c.String("store"), ID: c.Args().First(),
				Output: c.String("output"), Force: c.Bool(flagForce), JSON: c.Bool(flagJSON)}
			if c.NArg() != 1 || o.ID == "" {
				return withHint(usageErrorf("name one backup to restore"), "list them with 'drivecp backups list --store %s'", dash(o.Store))
			}
			if o.Output == "" {
				return withHint(usageErrorf("-o FILE is required"), "restoring into the cloud is not there yet: restore to a file, then 'drivecp upload FILE'")
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
