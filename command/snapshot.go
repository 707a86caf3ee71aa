package command

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

func newSnapshotCommand() *cli.Command {
	cmd := &cli.Command{
		Name:  "snapshot",
		Usage: "list, inspect, create, edit, delete snapshots and clone them to drives",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list snapshots (all pages)",
				Flags:   []cli.Flag{&cli.StringFlag{Name: "drive", Usage: "only snapshots of this drive UUID"}},
				Action: withServices(noArgsRule, func(c *cli.Context, s services, _ []string) error {
					return runSnapshotList(c.Context, c.App.Writer, s, c.String("drive"), c.Bool(flagJSON))
				}),
			},
			{
				Name:      "info",
				Usage:     "show one snapshot",
				ArgsUsage: "UUID",
				Action: withServices(oneArg("UUID"), func(c *cli.Context, s services, args []string) error {
					return runSnapshotInfo(c.Context, c.App.Writer, s, args[0], c.Bool(flagJSON))
				}),
			},
			{
				Name:      "create",
				Usage:     "snapshot a drive (or, on clouds that snapshot servers, a server), wait until the snapshot is available and print its ID",
				ArgsUsage: "DRIVE|SERVER",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "snapshot name (default: the API's, from the drive UUID and time)"},
					&cli.GenericFlag{Name: "meta", Value: &metaFlag{}, Usage: "metadata KEY=VALUE (repeatable)"},
					&cli.IntFlag{Name: "expire-days", Usage: "on clouds whose snapshots expire: after this many days"},
					&cli.BoolFlag{Name: "replace", Usage: "on clouds that keep one snapshot per server: replace the existing one"},
				}, waitFlags()...),
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "DRIVE")
					if err != nil {
						return err
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					if c.Int("expire-days") < 0 {
						return usageErrorf("--expire-days must not be negative")
					}
					return runSnapshotCreate(c.Context, c.App.Writer, s, snapshotCreateOptions{Drive: args[0],
						Name: c.String("name"), Meta: readMeta(c, "meta").set(), ExpireDays: c.Int("expire-days"),
						Replace: c.Bool("replace"), Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)})
				},
			},
			{
				Name:      "edit",
				Usage:     "rename a snapshot or change its metadata",
				ArgsUsage: "UUID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "new name"},
					&cli.GenericFlag{Name: "meta", Value: &metaFlag{}, Usage: "set metadata KEY=VALUE, or remove KEY with KEY= (repeatable)"},
				},
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "UUID")
					if err != nil {
						return err
					}
					o := snapshotEditOptions{UUID: args[0], Meta: readMeta(c, "meta"), JSON: c.Bool(flagJSON)}
					if c.IsSet("name") {
						name := c.String("name")
						o.Name = &name
					}
					if o.Name == nil && o.Meta == nil {
						return usageErrorf("nothing to change: give --name or --meta")
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					return runSnapshotEdit(c.Context, c.App.Writer, s, o)
				},
			},
			{
				Name:      "delete",
				Aliases:   []string{"rm"},
				Usage:     "delete snapshots (asks first; --yes when not on a terminal)",
				ArgsUsage: "UUID...",
				Flags:     []cli.Flag{yesFlag()},
				Action:    deleteAction(runSnapshotDelete),
			},
			{
				Name:      "clone",
				Usage:     "make a drive from a snapshot, wait for it and print its UUID",
				ArgsUsage: "SNAPSHOT",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "name of the new drive"},
					&cli.StringFlag{Name: "media", Usage: "media of the new drive: disk or cdrom"},
					&cli.StringSliceFlag{Name: "avoid", Usage: "drive UUIDs whose storage hosts the new drive must avoid"},
				}, waitFlags()...),
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "SNAPSHOT")
					if err != nil {
						return err
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					return runSnapshotClone(c.Context, c.App.Writer, s, snapshotCloneOptions{UUID: args[0],
						Spec: providers.CloneSpec{Name: c.String("name"), Media: c.String("media"), Avoid: c.StringSlice("avoid")},
						Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)})
				},
			},
		},
	}
	cmd.Subcommands = append(cmd.Subcommands, &cli.Command{
		Name:      "restore",
		Usage:     "revert what a snapshot was taken of to it (on clouds that restore snapshots)",
		ArgsUsage: "SNAPSHOT",
		Flags:     append([]cli.Flag{yesFlag()}, waitFlags()...),
		Action: withProvider(oneArg("SNAPSHOT"), func(c *cli.Context, p *providers.Provider, args []string) error {
			confirm, err := confirmerFrom(c)
			if err != nil {
				return err
			}
			return runSnapshotRestore(c.Context, c.App.Writer, p, args[0], confirm, waitOptionsFrom(c))
		}),
	})
	return cmd
}

// runSnapshotList prints the snapshots (of one drive when drive is set).
func runSnapshotList(ctx context.Context, w io.Writer, s services, drive string, asJSON bool) error {
	if s.snapshots == nil {
		return s.unsupported("snapshot list")
	}
	ss, err := s.snapshots.ListSnapshots(ctx, drive)
	if err != nil {
		return err
	}
	if asJSON {
		return printRaws(w, ss, func(s providers.Snapshot) any { return s.Raw })
	}
	t := newTable(w, "UUID", "NAME", "DRIVE", "SIZE", "STATUS", "TIMESTAMP")
	for _, sn := range ss {
		t.row(sn.UUID, dash(sn.Name), dash(sn.Drive), units.FormatSize(sn.Size), dash(sn.Status), dash(sn.Timestamp))
	}
	return t.flush()
}

// runSnapshotInfo prints one snapshot.
func runSnapshotInfo(ctx context.Context, w io.Writer, s services, uuid string, asJSON bool) error {
	if s.snapshots == nil {
		return s.unsupported("snapshot info")
	}
	sn, err := s.snapshots.GetSnapshot(ctx, uuid)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, sn.Raw)
	}
	return printFields(w, "UUID", sn.UUID, "Name", sn.Name, "Drive", sn.Drive, "Allocated", sizeWithBytes(sn.Size),
		"Status", sn.Status, "Timestamp", sn.Timestamp, "Meta", formatMeta(sn.Meta))
}

// snapshotCreateOptions are the arguments of `snapshot create`.
type snapshotCreateOptions struct {
	Drive      string
	Name       string
	Meta       map[string]string
	ExpireDays int
	Replace    bool
	Wait       waitOptions
	JSON       bool
}

// runSnapshotCreate snapshots a drive and, unless told not to, waits until
// the snapshot can be cloned.
func runSnapshotCreate(ctx context.Context, w io.Writer, s services, o snapshotCreateOptions) error {
	if s.snapshots == nil {
		return s.unsupported("snapshot create")
	}
	sn, err := s.snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: o.Drive, Name: o.Name, Meta: o.Meta,
		ExpireDays: o.ExpireDays, Replace: o.Replace})
	if err != nil {
		return lostAnswerHint(err, "snapshot", "drivecp snapshot list --drive "+o.Drive)
	}
	if o.Wait.NoWait {
		return s.printNoWait(w, o.Wait, sn.Jobs, "the snapshot of "+o.Drive, o.JSON, func() error { return printSnapshotResult(w, sn, o.JSON) })
	}
	if sn, err = waitSnapshot(ctx, s.snapshots, sn, o.Wait); err != nil {
		return withHint(err, "the snapshot is %s; 'drivecp snapshot info %s' shows its status", sn.UUID, sn.UUID)
	}
	return printSnapshotResult(w, sn, o.JSON)
}

// snapshotEditOptions are the changes `snapshot edit` makes; nil fields
// stay.
type snapshotEditOptions struct {
	UUID string
	Name *string
	Meta metaValues // merged into the snapshot's metadata; "" removes a key
	JSON bool
}

// runSnapshotEdit applies o and prints the snapshot's UUID (or object).
func runSnapshotEdit(ctx context.Context, w io.Writer, s services, o snapshotEditOptions) error {
	if s.snapshots == nil {
		return s.unsupported("snapshot edit")
	}
	var meta map[string]string
	if o.Meta != nil {
		cur, err := s.snapshots.GetSnapshot(ctx, o.UUID)
		if err != nil {
			return err
		}
		meta = o.Meta.apply(cur.Meta)
	}
	sn, err := s.snapshots.EditSnapshot(ctx, o.UUID, o.Name, meta)
	if err != nil {
		return err
	}
	return printSnapshotResult(w, sn, o.JSON)
}

// runSnapshotDelete deletes snapshots in one request, after showing them
// and asking when confirm is set.
func runSnapshotDelete(ctx context.Context, s services, uuids []string, confirm confirmFunc) error {
	if s.snapshots == nil {
		return s.unsupported("snapshot delete")
	}
	uuids = dedupe(uuids)
	if confirm != nil {
		var details []string
		for _, u := range uuids {
			sn, err := s.snapshots.GetSnapshot(ctx, u)
			if err != nil {
				return err
			}
			details = append(details, fmt.Sprintf("%s  %s  of drive %s  %s", sn.UUID, dash(sn.Name), dash(sn.Drive), dash(sn.Timestamp)))
		}
		if err := confirm(fmt.Sprintf("Delete %s?", plural(len(uuids), "snapshot")), details); err != nil {
			return err
		}
	}
	return s.snapshots.DeleteSnapshots(ctx, uuids...)
}

// snapshotCloneOptions are the arguments of `snapshot clone`.
type snapshotCloneOptions struct {
	UUID string
	Spec providers.CloneSpec
	Wait waitOptions
	JSON bool
}

// runSnapshotClone makes a drive from a snapshot and prints the drive's
// UUID once it is ready (at once with --no-wait).
func runSnapshotClone(ctx context.Context, w io.Writer, s services, o snapshotCloneOptions) error {
	if s.snapshots == nil {
		return s.unsupported("snapshot clone")
	}
	d, err := s.snapshots.CloneSnapshot(ctx, o.UUID, o.Spec)
	if err != nil {
		return lostAnswerHint(err, "clone", listCommand(o.Spec.Name))
	}
	if !o.Wait.NoWait {
		if d, err = waitDrive(ctx, s.drives, s.jobs, d, "clone of snapshot "+o.UUID, o.Wait); err != nil {
			return driveWaitHint(err, d.UUID)
		}
	}
	return printDriveResult(w, d, o.JSON)
}

func printSnapshotResult(w io.Writer, sn providers.Snapshot, asJSON bool) error {
	if asJSON {
		return printJSON(w, sn.Raw)
	}
	_, err := fmt.Fprintln(w, sn.UUID)
	return err
}

// runSnapshotRestore reverts a snapshot's target to it, after a
// confirmation: what was written since is lost.
func runSnapshotRestore(ctx context.Context, w io.Writer, p *providers.Provider, id string, confirm confirmFunc, o waitOptions) error {
	if p.SnapshotRestorer == nil || p.Snapshots == nil {
		return p.Lack("restore snapshots")
	}
	sn, err := p.Snapshots.GetSnapshot(ctx, id)
	if err != nil {
		return err
	}
	if err := ask(confirm, fmt.Sprintf("Restore %s to snapshot %s? What was written since is lost.", sn.Drive, sn.UUID),
		[]string{fmt.Sprintf("%s  %s  %s", sn.UUID, dash(sn.Name), dash(sn.Timestamp))}); err != nil {
		return err
	}
	job, err := p.SnapshotRestorer.RestoreSnapshot(ctx, id)
	if err != nil {
		return err
	}
	if job.UUID != "" && p.Jobs != nil && !o.NoWait {
		if _, err := waitJob(ctx, p.Jobs, job.UUID, o); err != nil {
			return err
		}
	}
	if job.UUID != "" && o.NoWait {
		_, err = fmt.Fprintln(w, job.UUID)
	}
	return err
}
