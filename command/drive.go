package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
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

// runDriveList prints the drives matching f as a table, or their API
// objects with asJSON.
func runDriveList(ctx context.Context, w io.Writer, s services, f providers.DriveFilter, asJSON bool) error {
	ds, err := s.drives.ListDrives(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		return printRaws(w, ds, func(d providers.Drive) any { return d.Raw })
	}
	t := newTable(w, "UUID", "NAME", "SIZE", "STATUS", "STORAGE TYPE", "MEDIA")
	for _, d := range ds {
		t.row(d.UUID, dash(d.Name), units.FormatSize(d.Size), dash(d.Status), dash(d.StorageType), dash(d.Media))
	}
	return t.flush()
}

// runDriveInfo prints one drive.
func runDriveInfo(ctx context.Context, w io.Writer, s services, uuid string, asJSON bool) error {
	d, err := s.drives.GetDrive(ctx, uuid)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, jsonValue(d.Raw))
	}
	return printFields(w,
		"UUID", d.UUID, "Name", d.Name, "Size", sizeWithBytes(d.Size), "Status", d.Status, "Media", d.Media,
		"Storage type", d.StorageType, "Tags", strings.Join(d.Tags, ", "), "Meta", formatMeta(d.Meta),
		"Jobs", strings.Join(d.Jobs, ", "))
}

// runDriveCreate creates a drive after checking its size against the
// location's limits, and prints its UUID (or object).
func runDriveCreate(ctx context.Context, w io.Writer, s services, spec providers.DriveSpec, asJSON bool) error {
	if spec.Size <= 0 {
		return usageErrorf("--size must be positive")
	}
	if err := checkSizeRange(ctx, s.limits, spec.StorageType, spec.Size); err != nil {
		return err
	}
	d, err := s.drives.CreateDrive(ctx, spec)
	if err != nil {
		return lostAnswerHint(err, "drive", listCommand(spec.Name))
	}
	return printDriveResult(w, d, asJSON)
}

// driveEditOptions are the changes `drive edit` makes; nil fields stay.
type driveEditOptions struct {
	UUID string
	Name *string
	Tags []string
	// Meta sets keys; an empty value removes the key. The rest of the
	// drive's metadata is kept.
	Meta metaValues
	JSON bool
}

// runDriveEdit applies o and prints the drive's UUID (or object).
func runDriveEdit(ctx context.Context, w io.Writer, s services, o driveEditOptions) error {
	if s.editor == nil {
		return unsupported("drive edit")
	}
	edit := providers.DriveEdit{Name: o.Name, Tags: o.Tags}
	if o.Meta != nil {
		cur, err := s.drives.GetDrive(ctx, o.UUID)
		if err != nil {
			return err
		}
		edit.Meta = o.Meta.apply(cur.Meta)
	}
	d, err := s.editor.EditDrive(ctx, o.UUID, edit)
	if err != nil {
		return err
	}
	return printDriveResult(w, d, o.JSON)
}

// driveResizeOptions are the arguments of `drive resize`.
type driveResizeOptions struct {
	UUID string
	Size int64
	Wait waitOptions
	JSON bool
}

// runDriveResize grows a drive. Shrinking is refused before calling the
// API (it would lose data), as is a size outside the location's limits.
func runDriveResize(ctx context.Context, w io.Writer, s services, o driveResizeOptions) error {
	if s.editor == nil {
		return unsupported("drive resize")
	}
	cur, err := s.drives.GetDrive(ctx, o.UUID)
	if err != nil {
		return err
	}
	switch {
	case o.Size < cur.Size:
		return usageErrorf("--size %s is below the current size of drive %s (%s): drives can only grow",
			units.FormatSize(o.Size), o.UUID, units.FormatSize(cur.Size))
	case o.Size == cur.Size:
		return printDriveResult(w, cur, o.JSON) // nothing to do
	}
	if err := checkSizeRange(ctx, s.limits, cur.StorageType, o.Size); err != nil {
		return err
	}
	d, err := s.editor.ResizeDrive(ctx, o.UUID, o.Size)
	if err != nil {
		return err
	}
	if !o.Wait.NoWait {
		if d, err = waitDrive(ctx, s.drives, s.jobs, d, "resize of "+o.UUID, o.Wait); err != nil {
			return driveWaitHint(err, d.UUID)
		}
	}
	return printDriveResult(w, d, o.JSON)
}

// runDriveDelete deletes drives in one request. With confirm, it first shows
// what would go (which also catches a mistyped UUID) and asks.
func runDriveDelete(ctx context.Context, s services, uuids []string, confirm confirmFunc) error {
	uuids = dedupe(uuids)
	if confirm != nil {
		var details []string
		for _, u := range uuids {
			d, err := s.drives.GetDrive(ctx, u)
			if err != nil {
				return err
			}
			details = append(details, fmt.Sprintf("%s  %s  %s  %s", d.UUID, dash(d.Name), units.FormatSize(d.Size), dash(d.Status)))
		}
		if err := confirm(fmt.Sprintf("Delete %s?", plural(len(uuids), "drive")), details); err != nil {
			return err
		}
	}
	return s.drives.DeleteDrives(ctx, uuids...)
}

// driveCloneOptions are the arguments of `drive clone`.
type driveCloneOptions struct {
	UUID string
	Spec providers.CloneSpec // Size is ignored: see Size
	Size int64               // 0: the source's size
	Wait waitOptions
	JSON bool
}

// runDriveClone copies a drive. A larger size is part of the clone request
// on API 1.0; on API 2.0, which clones at the source's size, the copy is
// resized once the clone is done.
func runDriveClone(ctx context.Context, w io.Writer, s services, o driveCloneOptions) error {
	spec := o.Spec
	spec.Size = 0
	grow := int64(0)
	if o.Size != 0 {
		src, err := s.drives.GetDrive(ctx, o.UUID)
		if err != nil {
			return err
		}
		if o.Size < src.Size {
			return usageErrorf("--size %s is below the size of drive %s (%s): a clone is at least as large as its source",
				units.FormatSize(o.Size), o.UUID, units.FormatSize(src.Size))
		}
		if o.Size > src.Size {
			if s.editor == nil {
				spec.Size = o.Size
			} else {
				if o.Wait.NoWait {
					return usageErrorf("--size with --no-wait: API 2.0 clones at the source's size and grows the copy once cloned, so drop --no-wait")
				}
				st := spec.StorageType
				if st == "" {
					st = src.StorageType
				}
				if err := checkSizeRange(ctx, s.limits, st, o.Size); err != nil {
					return err
				}
				grow = o.Size
			}
		}
	}
	d, err := s.drives.CloneDrive(ctx, o.UUID, spec)
	if err != nil {
		return lostAnswerHint(err, "clone", listCommand(spec.Name))
	}
	if o.Wait.NoWait {
		return printDriveResult(w, d, o.JSON)
	}
	if d, err = waitDrive(ctx, s.drives, s.jobs, d, "clone of "+o.UUID, o.Wait); err != nil {
		return driveWaitHint(err, d.UUID)
	}
	if grow > 0 {
		if d, err = s.editor.ResizeDrive(ctx, d.UUID, grow); err != nil {
			return driveWaitHint(err, d.UUID)
		}
		if d, err = waitDrive(ctx, s.drives, s.jobs, d, "resize of "+d.UUID, o.Wait); err != nil {
			return driveWaitHint(err, d.UUID)
		}
	}
	return printDriveResult(w, d, o.JSON)
}

// driveWaitHint tells where the new drive is when waiting for it failed, so
// it can be inspected or cleaned up.
func driveWaitHint(err error, uuid string) error {
	if uuid == "" {
		return err
	}
	return withHint(err, "the drive is %s; 'drivecp drive info %s' shows its status", uuid, uuid)
}

// printDriveResult prints the UUID of a drive a command made or changed,
// or its API object with --json.
func printDriveResult(w io.Writer, d providers.Drive, asJSON bool) error {
	if asJSON {
		return printJSON(w, jsonValue(d.Raw))
	}
	_, err := fmt.Fprintln(w, d.UUID)
	return err
}

// checkSizeRange refuses a size outside what the location allows for the
// storage type, before the API is asked. Without capabilities (API 1.0, or
// a location that does not report them) the API alone decides.
func checkSizeRange(ctx context.Context, r sizeRanger, storageType string, size int64) error {
	if r == nil {
		return nil
	}
	rng, ok, err := r.DriveSizeRange(ctx, storageType)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, providers.ErrAuth) || errors.Is(err, providers.ErrPermission) {
			return err
		}
		return nil
	}
	if !ok {
		return nil
	}
	if (rng.Min > 0 && size < rng.Min) || (rng.Max > 0 && size > rng.Max) {
		if storageType == "" {
			storageType = "dssd"
		}
		return usageErrorf("--size %s is outside the %s drive sizes this location allows (%s to %s)",
			units.FormatSize(size), storageType, units.FormatSize(rng.Min), units.FormatSize(rng.Max))
	}
	return nil
}

// sizeFlag parses a size flag with units; a bad or non-positive size is a
// usage error.
func sizeFlag(c *cli.Context, name string) (int64, error) {
	n, err := units.ParseSize(c.String(name))
	if err != nil {
		return 0, &usageError{fmt.Errorf("--%s: %w", name, err)}
	}
	if n <= 0 {
		return 0, usageErrorf("--%s must be positive", name)
	}
	return n, nil
}

// exactArgs returns the one positional argument a command takes.
func exactArgs(c *cli.Context, name string) ([]string, error) {
	if c.NArg() != 1 || c.Args().First() == "" {
		return nil, withHint(usageErrorf("%s takes exactly one %s, got %d arguments", c.Command.HelpName, name, c.NArg()),
			"run '%s --help'", c.Command.HelpName)
	}
	return c.Args().Slice(), nil
}

// argsRule checks the positional arguments of a command and returns them.
type argsRule func(c *cli.Context) ([]string, error)

// noArgsRule accepts no positional arguments.
func noArgsRule(c *cli.Context) ([]string, error) { return nil, noArgs(c) }

// oneArg accepts exactly one positional argument, described as name.
func oneArg(name string) argsRule {
	return func(c *cli.Context) ([]string, error) { return exactArgs(c, name) }
}

// someArgsRule accepts one or more positional arguments.
func someArgsRule(name string) argsRule {
	return func(c *cli.Context) ([]string, error) { return someArgs(c, name) }
}

// withServices is the shape of most resource actions: check the arguments,
// connect to the API the flags choose, then run.
func withServices(rule argsRule, run func(c *cli.Context, s services, args []string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		args, err := rule(c)
		if err != nil {
			return err
		}
		s, err := servicesFrom(c)
		if err != nil {
			return err
		}
		return run(c, s, args)
	}
}

// someArgs returns the positional arguments of a command taking one or
// more.
func someArgs(c *cli.Context, name string) ([]string, error) {
	args := c.Args().Slice()
	if len(args) == 0 || slices.Contains(args, "") {
		return nil, withHint(usageErrorf("%s needs at least one %s", c.Command.HelpName, name), "run '%s --help'", c.Command.HelpName)
	}
	return args, nil
}

// noArgs refuses stray positional arguments, which are usually a
// mistyped flag.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return withHint(usageErrorf("%s takes no arguments, got %q", c.Command.HelpName, c.Args().First()),
			"run '%s --help'", c.Command.HelpName)
	}
	return nil
}

// metaFlag collects repeated KEY=VALUE flags. Unlike a string slice flag
// it does not split values at commas, which metadata values may hold.
type metaFlag struct{ pairs [][2]string }

// Set adds one KEY=VALUE.
func (m *metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	m.pairs = append(m.pairs, [2]string{k, v})
	return nil
}

// String shows the pairs in help output.
func (m *metaFlag) String() string {
	if m == nil {
		return ""
	}
	parts := make([]string, len(m.pairs))
	for i, p := range m.pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, ",")
}

// metaValues are metadata changes: KEY to VALUE, "" meaning remove.
type metaValues map[string]string

// readMeta reads a metaFlag; nil when it was not given.
func readMeta(c *cli.Context, name string) metaValues {
	m, ok := c.Generic(name).(*metaFlag)
	if !ok || len(m.pairs) == 0 {
		return nil
	}
	out := metaValues{}
	for _, p := range m.pairs {
		out[p[0]] = p[1]
	}
	return out
}

// set is the metadata a create starts with: the non-empty values.
func (m metaValues) set() map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// apply returns cur with the changes made, never nil.
func (m metaValues) apply(cur map[string]string) map[string]string {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range m {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// printFields prints label/value pairs as aligned `Label:  value` lines;
// empty values show as "-".
func printFields(w io.Writer, pairs ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], dash(pairs[i+1]))
	}
	return tw.Flush()
}

// printRaws prints the API objects of a list as one JSON array ([] when
// empty, never null).
func printRaws[T any](w io.Writer, items []T, raw func(T) any) error {
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, jsonValue(raw(it)))
	}
	return printJSON(w, out)
}

// jsonValue makes an API object printable as JSON: API 1.0's key-value
// objects become JSON objects.
func jsonValue(raw any) any {
	if kv, ok := raw.(wire.KV); ok {
		m := make(map[string]string, len(kv))
		for _, p := range kv {
			m[p.Key] = p.Value
		}
		return m
	}
	return raw
}

// sizeWithBytes shows a size for people and for copying: "10 GiB (10737418240 bytes)".
func sizeWithBytes(n int64) string {
	return fmt.Sprintf("%s (%d bytes)", units.FormatSize(n), n)
}

// formatMeta prints metadata as sorted k=v pairs.
func formatMeta(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// dash stands in for an empty table cell, so columns stay aligned for awk.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// dedupe drops repeated values, keeping the first order.
func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// nonEmpty drops empty strings, keeping a non-nil (possibly empty) slice.
func nonEmpty(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
