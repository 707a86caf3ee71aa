package command

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// services are the parts of a provider the drive, snapshot, library-drive
// and job commands use. A part the chosen API lacks is nil, and the
// commands that need it report providers.ErrUnsupported. Tests fill it with
// fakes.
type services struct {
	drives    providers.DriveService
	editor    providers.DriveEditor
	snapshots providers.SnapshotService
	libdrives providers.LibDriveService
	jobs      providers.JobService
	limits    sizeRanger
}

// sizeRanger reports the drive sizes a location allows per storage type
// (API 2.0's capabilities).
type sizeRanger interface {
	DriveSizeRange(ctx context.Context, storageType string) (r wire.SizeRange, ok bool, err error)
}

// flagAPI selects API 1.0 or 2.0 for the drive commands API 1.0 offers.
const flagAPI = "api"

func apiFlag() cli.Flag {
	return &cli.StringFlag{Name: flagAPI, Value: "v2", Usage: "API to use: v2, or v1 for CloudSigma's API 1.0"}
}

// servicesFrom connects to the API that --api names (v2 when the command
// has no such flag), repeating what is safe to repeat (retrying.go).
// Management calls are few and sequential: two connections are plenty.
func servicesFrom(c *cli.Context) (services, error) {
	v, err := apiVersion(c.String(flagAPI))
	if err != nil {
		return services{}, err
	}
	cl, err := newClients(c, 2)
	if err != nil {
		return services{}, err
	}
	if v == "v1" {
		return withRetries(c, services{drives: cl.v1}), nil
	}
	return withRetries(c, services{drives: cl.v2, editor: cl.v2, snapshots: cl.v2, libdrives: cl.v2, jobs: cl.v2, limits: cl.v2}), nil
}

func unsupported(what string) error {
	return withHint(fmt.Errorf("%s: %w", what, providers.ErrUnsupported), "use API 2.0 (drop --api v1)")
}

func newDriveCommand() *cli.Command {
	return &cli.Command{
		Name:  "drive",
		Usage: "list, inspect, create, edit, resize, delete and clone drives",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list drives (all pages)",
				Flags: []cli.Flag{
					apiFlag(),
					&cli.StringSliceFlag{Name: "name", Usage: "only drives with this name (comma or repeat: any of them)"},
					&cli.StringSliceFlag{Name: "tag", Usage: "only drives with this tag UUID (comma or repeat: any of them)"},
					&cli.StringSliceFlag{Name: "status", Usage: "only drives in this status, e.g. unmounted (comma or repeat: any of them)"},
				},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					f := providers.DriveFilter{Names: c.StringSlice("name"), Tags: c.StringSlice("tag"), Statuses: c.StringSlice("status")}
					return runDriveList(c.Context, c.App.Writer, s, f, c.Bool(flagJSON))
				},
			},
			{
				Name:      "info",
				Usage:     "show one drive",
				ArgsUsage: "UUID",
				Flags:     []cli.Flag{apiFlag()},
				Action: withServices(oneArg("UUID"), func(c *cli.Context, s services, args []string) error {
					return runDriveInfo(c.Context, c.App.Writer, s, args[0], c.Bool(flagJSON))
				}),
			},
			{
				Name:  "create",
				Usage: "create an empty drive and print its UUID",
				Flags: []cli.Flag{
					apiFlag(),
					&cli.StringFlag{Name: "name", Required: true, Usage: "drive name"},
					&cli.StringFlag{Name: "size", Required: true, Usage: "drive size, e.g. 512M, 10G, 1T (binary multiples)"},
					&cli.StringFlag{Name: "media", Value: "disk", Usage: "disk or cdrom"},
					&cli.StringFlag{Name: "storage-type", Usage: "storage type, e.g. dssd (see the location's capabilities)"},
					&cli.StringSliceFlag{Name: "tag", Usage: "tag UUID (repeatable)"},
					&cli.GenericFlag{Name: "meta", Value: &metaFlag{}, Usage: "metadata KEY=VALUE (repeatable)"},
				},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					size, err := sizeFlag(c, "size")
					if err != nil {
						return err
					}
					media := c.String("media")
					if media != "disk" && media != "cdrom" {
						return usageErrorf("--media %q: use disk or cdrom", media)
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					spec := providers.DriveSpec{Name: c.String("name"), Size: size, Media: media,
						StorageType: c.String("storage-type"), Tags: c.StringSlice("tag"), Meta: readMeta(c, "meta").set()}
					return runDriveCreate(c.Context, c.App.Writer, s, spec, c.Bool(flagJSON))
				},
			},
			{
				Name:      "edit",
				Usage:     "rename a drive or change its tags or metadata",
				ArgsUsage: "UUID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "new name"},
					&cli.StringSliceFlag{Name: "tag", Usage: "tag UUID (repeatable; replaces the tags, --tag '' clears them)"},
					&cli.GenericFlag{Name: "meta", Value: &metaFlag{}, Usage: "set metadata KEY=VALUE, or remove KEY with KEY= (repeatable)"},
				},
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "UUID")
					if err != nil {
						return err
					}
					o := driveEditOptions{UUID: args[0], JSON: c.Bool(flagJSON)}
					if c.IsSet("name") {
						name := c.String("name")
						o.Name = &name
					}
					if c.IsSet("tag") {
						o.Tags = nonEmpty(c.StringSlice("tag"))
					}
					if m := readMeta(c, "meta"); len(m) > 0 {
						o.Meta = m
					}
					if o.Name == nil && o.Tags == nil && o.Meta == nil {
						return usageErrorf("nothing to change: give --name, --tag or --meta")
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					return runDriveEdit(c.Context, c.App.Writer, s, o)
				},
			},
			{
				Name:      "resize",
				Usage:     "grow a drive, wait for it and print its UUID",
				ArgsUsage: "UUID",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "size", Required: true, Usage: "new size, e.g. 20G (drives only grow)"},
				}, waitFlags()...),
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "UUID")
					if err != nil {
						return err
					}
					size, err := sizeFlag(c, "size")
					if err != nil {
						return err
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					return runDriveResize(c.Context, c.App.Writer, s, driveResizeOptions{UUID: args[0], Size: size,
						Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)})
				},
			},
			{
				Name:      "delete",
				Aliases:   []string{"rm"},
				Usage:     "delete drives (asks first; --yes when not on a terminal)",
				ArgsUsage: "UUID...",
				Flags:     []cli.Flag{apiFlag(), yesFlag()},
				Action:    deleteAction(runDriveDelete),
			},
			{
				Name:      "clone",
				Usage:     "copy a drive, wait for the copy and print its UUID",
				ArgsUsage: "UUID",
				Flags: append([]cli.Flag{
					apiFlag(),
					&cli.StringFlag{Name: "name", Usage: "name of the copy (default: the API's clone naming)"},
					&cli.StringFlag{Name: "size", Usage: "size of the copy, at least the source's (API 2.0 grows it after cloning)"},
					&cli.StringFlag{Name: "media", Usage: "media of the copy: disk or cdrom"},
					&cli.StringFlag{Name: "storage-type", Usage: "storage type of the copy (default: the source's)"},
					&cli.StringSliceFlag{Name: "avoid", Usage: "drive UUIDs whose storage hosts the copy must avoid (comma or repeat)"},
				}, waitFlags()...),
				Action: func(c *cli.Context) error {
					args, err := exactArgs(c, "UUID")
					if err != nil {
						return err
					}
					o := driveCloneOptions{UUID: args[0], Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON),
						Spec: providers.CloneSpec{Name: c.String("name"), Media: c.String("media"),
							StorageType: c.String("storage-type"), Avoid: c.StringSlice("avoid")}}
					if c.IsSet("size") {
						if o.Size, err = sizeFlag(c, "size"); err != nil {
							return err
						}
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					return runDriveClone(c.Context, c.App.Writer, s, o)
				},
			},
		},
	}
}
