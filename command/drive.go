package command

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
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
	limits    providers.DriveLimits
	// p is the provider the services come from (nil with test fakes); api
	// is the transfer API --api chose for the drive service, "" for the
	// provider's own services.
	p   *providers.Provider
	api string
}

// flagAPI selects the transfer API (CloudSigma's API 1.0 or 2.0) for the
// drive commands both offer.
const flagAPI = "api"

func apiFlag() cli.Flag {
	return &cli.StringFlag{Name: flagAPI, Usage: "API to use: the cloud's default, or v1 for CloudSigma's API 1.0"}
}

// servicesFrom opens the chosen cloud, behind the retry wrappers, and
// returns its services; with --api naming a transfer API other than the
// default, the drive service is that API's.
func servicesFrom(c *cli.Context) (services, error) {
	api := c.String(flagAPI)
	if api != "" {
		v, err := apiVersion(api)
		if err != nil {
			return services{}, err
		}
		api = v
	}
	p, err := openProvider(c, providerOptions{Retry: metaPolicy(c)})
	if err != nil {
		return services{}, err
	}
	if api != "" && (len(p.Transfers) == 0 || api != p.Transfers[0].Name) {
		t, err := p.Transfer(api)
		if err != nil {
			return services{}, err
		}
		return services{drives: t.Drives, p: p, api: api}, nil
	}
	return services{drives: p.Drives, editor: p.DriveEditor, snapshots: p.Snapshots, libdrives: p.LibDrives,
		jobs: p.Jobs, limits: p.Limits, p: p}, nil
}

// unsupported is the error of a command the services cannot serve: the
// provider's own line naming what the cloud has instead, or a hint to drop
// --api when only the chosen API lacks it.
func (s services) unsupported(what string) error {
	switch {
	case s.api != "":
		return withHint(fmt.Errorf("%s: %w by API %s", what, providers.ErrUnsupported, s.api), "use the default API (drop --api %s)", s.api)
	case s.p != nil:
		return s.p.Lack(what)
	}
	return fmt.Errorf("%s: %w", what, providers.ErrUnsupported)
}

func newDriveCommand() *cli.Command {
	cmd := &cli.Command{
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
					&cli.StringFlag{Name: "server", Usage: "on clouds with servers: only the drives of this server"},
				},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					s, err := servicesFrom(c)
					if err != nil {
						return err
					}
					f := providers.DriveFilter{Names: c.StringSlice("name"), Tags: c.StringSlice("tag"), Statuses: c.StringSlice("status"),
						Server: c.String("server")}
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
				Usage: "create an empty drive, wait until it is ready and print its UUID",
				Flags: append([]cli.Flag{
					apiFlag(),
					&cli.StringFlag{Name: "name", Usage: "drive name (required unless --server is given)"},
					&cli.StringFlag{Name: "size", Required: true, Usage: "drive size, e.g. 512M, 10G, 1T (binary multiples)"},
					&cli.StringFlag{Name: "server", Usage: "on clouds whose drives are servers' disks: the server to add the disk to"},
					&cli.StringFlag{Name: "path", Usage: "with --server: where the new disk is mounted (default: a raw disk)"},
					&cli.StringFlag{Name: "media", Value: "disk", Usage: "disk or cdrom"},
					&cli.StringFlag{Name: "storage-type", Usage: "storage type, e.g. dssd (see the location's capabilities)"},
					&cli.StringSliceFlag{Name: "tag", Usage: "tag UUID (repeatable)"},
					&cli.GenericFlag{Name: "meta", Value: &metaFlag{}, Usage: "metadata KEY=VALUE (repeatable)"},
				}, waitFlags()...),
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					if c.String("name") == "" && c.String("server") == "" {
						return withHint(usageErrorf("--name is required"), "give the new drive's name with --name NAME")
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
					spec := providers.DriveSpec{Name: c.String("name"), Server: c.String("server"), Path: c.String("path"), Size: size, Media: media,
						StorageType: c.String("storage-type"), Tags: c.StringSlice("tag"), Meta: readMeta(c, "meta").set()}
					return runDriveCreate(c.Context, c.App.Writer, s, spec, waitOptionsFrom(c), c.Bool(flagJSON))
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
	cmd.Subcommands = append(cmd.Subcommands, driveAttachCommands()...)
	return cmd
}
