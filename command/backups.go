package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// storeFlag names the backup store of every store command.
func storeFlag() cli.Flag {
	return &cli.StringFlag{Name: "store", Usage: "the backup store (made by 'drivecp backup --store')"}
}

func newBackupsCommand() *cli.Command {
	return &cli.Command{
		Name:  "backups",
		Usage: "list, show, forget and prune the backups of a store made by 'drivecp backup --store'",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list the backups, oldest first",
				Flags:   []cli.Flag{storeFlag(), &cli.StringFlag{Name: "drive", Usage: "only the backups of this drive UUID"}},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					return runBackupsList(c.Context, c.App.Writer, backupsOptions{Store: c.String("store"), Drive: c.String("drive"), JSON: c.Bool(flagJSON)})
				},
			},
			{
				Name:      "show",
				Usage:     "show one backup, or with --drive the newest of that drive",
				ArgsUsage: "[BACKUP]",
				Flags:     []cli.Flag{storeFlag(), &cli.StringFlag{Name: "drive", Usage: "show the newest backup of this drive UUID"}},
				Action: func(c *cli.Context) error {
					o := backupsOptions{Store: c.String("store"), Drive: c.String("drive"), JSON: c.Bool(flagJSON), ID: c.Args().First()}
					if c.NArg() > 1 || (o.ID == "") == (o.Drive == "") {
						return withHint(usageErrorf("name one backup: BACKUP or --drive UUID"), "list them with 'drivecp backups list --store %s'", dash(o.Store))
					}
					return runBackupsShow(c.Context, c.App.Writer, o)
				},
			},
			{
				Name:  "forget",
				Usage: "forget the backups a retention policy does not keep (restic's --keep-* rules, per drive)",
				Description: "Each rule keeps, per drive, the newest backup of each of the newest N days (weeks, months)\n" +
					"that have one, or with --keep-last the newest N backups; a backup any rule keeps stays, and the\n" +
					"oldest stays while a rule has counts left. Days are local time. -1 keeps all a rule covers.\n" +
					"Forgetting removes manifests only: --prune (or 'drivecp backups prune') removes the chunks.",
				Flags: []cli.Flag{storeFlag(),
					&cli.IntFlag{Name: "keep-last", Usage: "keep the newest N backups"},
					&cli.IntFlag{Name: "keep-daily", Usage: "keep the newest backup of each of the last N days with one"},
					&cli.IntFlag{Name: "keep-weekly", Usage: "keep the newest backup of each of the last N ISO weeks with one"},
					&cli.IntFlag{Name: "keep-monthly", Usage: "keep the newest backup of each of the last N months with one"},
					&cli.StringFlag{Name: "drive", Usage: "apply the policy to this drive UUID only"},
					&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would be forgotten (and pruned), change nothing"},
					&cli.BoolFlag{Name: "prune", Usage: "then remove the chunks no backup references"},
				},
				Action: func(c *cli.Context) error {
					o, err := forgetOptionsFrom(c)
					if err != nil {
						return err
					}
					return runBackupsForget(c.Context, c.App.Writer, o)
				},
			},
			{
				Name:  "prune",
				Usage: "remove the chunks no backup references (needs the store to itself)",
				Flags: []cli.Flag{storeFlag(),
					&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "count what would be removed, change nothing"}},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					return runBackupsPrune(c.Context, c.App.Writer, backupsOptions{Store: c.String("store"), JSON: c.Bool(flagJSON)}, c.Bool("dry-run"))
				},
			},
		},
	}
}

// backupsOptions are the arguments of the store commands.
type backupsOptions struct {
	Store string
	Drive string // a drive UUID filter, or (show) the drive whose newest backup to show
	ID    string // a backup ID
	JSON  bool
}

// openStore opens the store of a command that reads or forgets: a folder
// that is not a store is bad input.
func openStore(ctx context.Context, dir string) (*backupstore.Store, error) {
	if dir == "" {
		return nil, usageErrorf("--store needs a folder")
	}
	st, err := backupstore.Open(ctx, dir)
	if errors.Is(err, backupstore.ErrNotStore) {
		return nil, withHint(usageErrorf("%w", err), "a store is made by 'drivecp backup --store DIR'")
	}
	return st, err
}

// storeNotFound makes a backup the store does not hold a not-found error
// (exit 4).
func storeNotFound(err error, store string) error {
	if errors.Is(err, backupstore.ErrNotFound) {
		return withHint(fmt.Errorf("%w (%w)", err, providers.ErrNotFound), "list the backups with 'drivecp backups list --store %s'", store)
	}
	return err
}

// backupSummary is a backup as `backups list` shows it.
type backupSummary struct {
	ID         string    `json:"id"`
	Drive      string    `json:"drive"`
	Name       string    `json:"name"`
	Time       time.Time `json:"time"`
	Size       int64     `json:"size"`
	Chunks     int       `json:"chunks"`
	ZeroChunks int       `json:"zero_chunks"`
	Added      int64     `json:"added"` // bytes of chunk files this backup was the first to write
	SHA256     string    `json:"sha256"`
}

func summarize(m *backupstore.Manifest) backupSummary {
	s := backupSummary{ID: m.ID, Drive: m.Drive, Name: m.Name, Time: m.Time, Size: m.Size,
		Chunks: len(m.Chunks), Added: m.Added, SHA256: m.SHA256}
	for _, h := range m.Chunks {
		if h.IsZeroChunk() {
			s.ZeroChunks++
		}
	}
	return s
}

// listBackups returns the store's backups, of drive only when it is set.
func listBackups(st *backupstore.Store, drive string) ([]*backupstore.Manifest, error) {
	all, err := st.List()
	if err != nil || drive == "" {
		return all, err
	}
	var out []*backupstore.Manifest
	for _, m := range all {
		if m.Drive == drive {
			out = append(out, m)
		}
	}
	return out, nil
}

func runBackupsList(ctx context.Context, w io.Writer, o backupsOptions) error {
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := listBackups(st, o.Drive)
	if err != nil {
		return err
	}
	sums := make([]backupSummary, 0, len(list))
	for _, m := range list {
		sums = append(sums, summarize(m))
	}
	if o.JSON {
		return printJSON(w, sums)
	}
	t := newTable(w, "ID", "DRIVE", "NAME", "TIME", "SIZE", "ADDED", "CHUNKS", "ZERO")
	for _, s := range sums {
		t.row(s.ID, s.Drive, dash(s.Name), s.Time.Local().Format(time.DateTime), units.FormatSize(s.Size),
			units.FormatSize(s.Added), strconv.Itoa(s.Chunks), strconv.Itoa(s.ZeroChunks))
	}
	if err := t.flush(); err != nil {
		return err
	}
	u, err := st.Usage(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s, %s in %s\n", plural(len(sums), "backup"), units.FormatSize(u.Bytes), plural(u.Chunks, "chunk"))
	return err
}

// backupDetail is `backups show --json`: the manifest, and what its chunks
// take on disk.
type backupDetail struct {
	*backupstore.Manifest
	// Stored is the size of the chunk files the backup references, shared
	// with other backups or not.
	Stored int64 `json:"stored"`
	Unique int   `json:"unique_chunks"` // distinct stored chunks
}

func runBackupsShow(ctx context.Context, w io.Writer, o backupsOptions) error {
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := findBackup(st, o.ID, o.Drive)
	if err != nil {
		return storeNotFound(err, o.Store)
	}
	d := backupDetail{Manifest: m}
	for h := range m.Referenced() {
		d.Unique++
		if fi, err := os.Stat(st.ChunkPath(h)); err == nil {
			d.Stored += fi.Size()
		}
	}
	if o.JSON {
		return printJSON(w, d)
	}
	s := summarize(m)
	return printFields(w,
		"ID", m.ID,
		"Drive", m.Drive,
		"Name", m.Name,
		"Snapshot", m.Snapshot,
		"Time", m.Time.Local().Format(time.RFC3339),
		"Size", sizeWithBytes(m.Size),
		"Chunks", fmt.Sprintf("%d of %s (%d zero, %d distinct stored)", s.Chunks, units.FormatSize(m.ChunkSize), s.ZeroChunks, d.Unique),
		"Stored", units.FormatSize(d.Stored)+" (its chunk files, shared or not)",
		"Added", units.FormatSize(m.Added)+" (chunk files it was the first to write)",
		"SHA-256", m.SHA256,
	)
}

// findBackup loads backup id, or the newest backup of drive when id is
// empty.
func findBackup(st *backupstore.Store, id, drive string) (*backupstore.Manifest, error) {
	if id != "" {
		return st.Load(id)
	}
	list, err := listBackups(st, drive)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no backup of drive %s: %w", drive, backupstore.ErrNotFound)
	}
	return list[len(list)-1], nil
}

// forgetOptions are the arguments of `backups forget`.
type forgetOptions struct {
	backupsOptions
	Policy backupstore.Policy
	DryRun bool
	Prune  bool
}

func forgetOptionsFrom(c *cli.Context) (forgetOptions, error) {
	o := forgetOptions{backupsOptions: backupsOptions{Store: c.String("store"), Drive: c.String("drive"), JSON: c.Bool(flagJSON)},
		Policy: backupstore.Policy{Last: c.Int("keep-last"), Daily: c.Int("keep-daily"), Weekly: c.Int("keep-weekly"),
			Monthly: c.Int("keep-monthly"), Location: time.Local},
		DryRun: c.Bool("dry-run"), Prune: c.Bool("prune")}
	if err := noArgs(c); err != nil {
		return o, err
	}
	for _, n := range []string{"keep-last", "keep-daily", "keep-weekly", "keep-monthly"} {
		if c.Int(n) < -1 {
			return o, usageErrorf("--%s must be -1 (all) or more", n)
		}
	}
	if o.Policy.Empty() {
		return o, withHint(usageErrorf("no retention policy: nothing would be kept"),
			"give at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly")
	}
	return o, nil
}

// forgetResult is `backups forget --json`.
type forgetResult struct {
	Decisions []backupstore.Decision   `json:"decisions"`
	Forgotten []string                 `json:"forgotten"`
	DryRun    bool                     `json:"dry_run,omitempty"`
	Prune     *backupstore.PruneReport `json:"prune,omitempty"`
}

func runBackupsForget(ctx context.Context, w io.Writer, o forgetOptions) error {
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := listBackups(st, o.Drive)
	if err != nil {
		return err
	}
	res := forgetResult{Decisions: backupstore.Forget(list, o.Policy), Forgotten: []string{}, DryRun: o.DryRun}
	for _, d := range res.Decisions {
		if !d.Keep {
			res.Forgotten = append(res.Forgotten, d.ID)
		}
	}
	if !o.DryRun {
		if err := st.Remove(res.Forgotten...); err != nil {
			return fmt.Errorf("forget: %w", err)
		}
	}
	var pruneErr error
	if o.Prune {
		po := backupstore.PruneOptions{DryRun: o.DryRun}
		if o.DryRun {
			po.Without = res.Forgotten
		}
		rep, err := st.Prune(ctx, po)
		if err != nil {
			pruneErr = pruneError(err, o.Store)
		} else {
			res.Prune = &rep
		}
	}
	if o.JSON {
		if err := printJSON(w, res); err != nil {
			return err
		}
		return pruneErr
	}
	t := newTable(w, "ID", "DRIVE", "TIME", "ACTION", "KEPT BY")
	for _, d := range res.Decisions {
		action := "keep"
		if !d.Keep {
			action = "forget"
			if o.DryRun {
				action = "would forget"
			}
		}
		t.row(d.ID, d.Drive, d.Time.Local().Format(time.DateTime), action, dash(strings.Join(d.Reasons, ",")))
	}
	if err := t.flush(); err != nil {
		return err
	}
	verb := "forgot"
	if o.DryRun {
		verb = "would forget"
	}
	fmt.Fprintf(w, "%s %s, kept %d\n", verb, plural(len(res.Forgotten), "backup"), len(res.Decisions)-len(res.Forgotten))
	if res.Prune != nil {
		if err := printPruneReport(w, *res.Prune); err != nil {
			return err
		}
	}
	return pruneErr
}

// pruneError adds the hint of a store another drivecp is using.
func pruneError(err error, store string) error {
	if errors.Is(err, backupstore.ErrBusy) {
		return withHint(fmt.Errorf("prune: %w", err), "run 'drivecp backups prune --store %s' when it has finished", store)
	}
	return fmt.Errorf("prune: %w", err)
}

func runBackupsPrune(ctx context.Context, w io.Writer, o backupsOptions, dryRun bool) error {
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.Prune(ctx, backupstore.PruneOptions{DryRun: dryRun})
	if err != nil {
		return pruneError(err, o.Store)
	}
	if o.JSON {
		return printJSON(w, rep)
	}
	return printPruneReport(w, rep)
}

func printPruneReport(w io.Writer, rep backupstore.PruneReport) error {
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	_, err := fmt.Fprintf(w, "%s %s (%s) and %s; kept %s (%s) of %s\n", verb,
		plural(rep.Removed, "chunk"), units.FormatSize(rep.RemovedBytes), plural(rep.Temps, "temporary file"),
		plural(rep.Kept, "chunk"), units.FormatSize(rep.KeptBytes), plural(rep.Backups, "backup"))
	return err
}
