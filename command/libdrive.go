package command

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

func newLibdriveCommand() *cli.Command {
	return &cli.Command{
		Name:  "libdrive",
		Usage: "list and inspect library drives and clone them into the account",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list library drives (all pages)",
				Flags:   []cli.Flag{&cli.StringFlag{Name: "os", Usage: "only images of this OS, e.g. linux or windows"}},
				Action: withServices(noArgsRule, func(c *cli.Context, s services, _ []string) error {
					return runLibdriveList(c.Context, c.App.Writer, s, c.String("os"), c.Bool(flagJSON))
				}),
			},
			{
				Name:      "info",
				Usage:     "show one library drive",
				ArgsUsage: "UUID",
				Action: withServices(oneArg("UUID"), func(c *cli.Context, s services, args []string) error {
					return runLibdriveInfo(c.Context, c.App.Writer, s, args[0], c.Bool(flagJSON))
				}),
			},
			{
				Name:      "clone",
				Usage:     "copy a library drive into the account, wait for it and print the new drive's UUID",
				ArgsUsage: "UUID",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "name of the new drive"},
					&cli.StringFlag{Name: "media", Usage: "media of the new drive: disk or cdrom"},
					&cli.StringFlag{Name: "storage-type", Usage: "storage type of the new drive"},
					&cli.StringSliceFlag{Name: "avoid", Usage: "drive UUIDs whose storage hosts the new drive must avoid"},
				}, waitFlags()...),
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "UUID")
					if err != nil {
						return err
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					return runLibdriveClone(c.Context, c.App.Writer, s, libdriveCloneOptions{UUID: args[0],
						Spec: providers.CloneSpec{Name: c.String("name"), Media: c.String("media"),
							StorageType: c.String("storage-type"), Avoid: c.StringSlice("avoid")},
						Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)})
				},
			},
		},
	}
}

// runLibdriveList prints the library drives (of one OS when os is set).
func runLibdriveList(ctx context.Context, w io.Writer, s services, os string, asJSON bool) error {
	if s.libdrives == nil {
		return s.unsupported("libdrive list")
	}
	ls, err := s.libdrives.ListLibDrives(ctx, os)
	if err != nil {
		return err
	}
	if asJSON {
		return printRaws(w, ls, func(l providers.LibDrive) any { return l.Raw })
	}
	t := newTable(w, "UUID", "NAME", "SIZE", "STATUS", "OS", "DISTRIBUTION", "VERSION", "ARCH")
	for _, l := range ls {
		t.row(l.UUID, dash(l.Name), units.FormatSize(l.Size), dash(l.Status), dash(l.OS), dash(l.Distribution), dash(l.Version), dash(l.Arch))
	}
	return t.flush()
}

// runLibdriveInfo prints one library drive.
func runLibdriveInfo(ctx context.Context, w io.Writer, s services, uuid string, asJSON bool) error {
	if s.libdrives == nil {
		return s.unsupported("libdrive info")
	}
	l, err := s.libdrives.GetLibDrive(ctx, uuid)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, l.Raw)
	}
	return printFields(w, "UUID", l.UUID, "Name", l.Name, "Size", sizeWithBytes(l.Size), "Status", l.Status,
		"OS", l.OS, "Distribution", l.Distribution, "Version", l.Version, "Arch", l.Arch)
}

// libdriveCloneOptions are the arguments of `libdrive clone`.
type libdriveCloneOptions struct {
	UUID string
	Spec providers.CloneSpec
	Wait waitOptions
	JSON bool
}

// runLibdriveClone copies a library drive into the account and prints the
// new drive's UUID once it is ready (at once with --no-wait).
func runLibdriveClone(ctx context.Context, w io.Writer, s services, o libdriveCloneOptions) error {
	if s.libdrives == nil {
		return s.unsupported("libdrive clone")
	}
	d, err := s.libdrives.CloneLibDrive(ctx, o.UUID, o.Spec)
	if err != nil {
		return lostAnswerHint(err, "clone", listCommand(o.Spec.Name))
	}
	if !o.Wait.NoWait {
		if d, err = waitDrive(ctx, s.drives, s.jobs, d, "clone of library drive "+o.UUID, o.Wait); err != nil {
			return driveWaitHint(err, d.UUID)
		}
	}
	return printDriveResult(w, d, o.JSON)
}
