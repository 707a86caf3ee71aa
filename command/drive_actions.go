package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// runDriveList prints the drives matching f as a table, or their API
// objects with asJSON.
func runDriveList(ctx context.Context, w io.Writer, s services, f providers.DriveFilter, asJSON bool) error {
	withServers := s.p != nil && s.p.Servers != nil
	if f.Server != "" && !withServers {
		return usageErrorf("--server: %s has no servers whose drives drivecp could list", s.cloud())
	}
	ds, err := s.drives.ListDrives(ctx, f)
	if err != nil {
		return err
	}
	if f.Server != "" {
		ds = slices.DeleteFunc(ds, func(d providers.Drive) bool {
			return !slices.ContainsFunc(d.Servers, func(id string) bool { return strings.EqualFold(id, f.Server) })
		})
	}
	if asJSON {
		return printRaws(w, ds, func(d providers.Drive) any { return d.Raw })
	}
	heads := []string{"UUID", "NAME", "SIZE", "STATUS", "STORAGE TYPE", "MEDIA"}
	if withServers {
		// On clouds with servers, which one a drive belongs to is what a
		// user looks for next (attach, snapshots of servers).
		heads = append(heads, "SERVERS")
	}
	t := newTable(w, heads...)
	for _, d := range ds {
		row := []string{d.UUID, dash(d.Name), s.size(d.Size), dash(d.Status), dash(d.StorageType), dash(d.Media)}
		if withServers {
			row = append(row, dash(strings.Join(d.Servers, ",")))
		}
		t.row(row...)
	}
	return t.flush()
}

// cloud names the services' cloud for messages.
func (s services) cloud() string {
	if s.p == nil {
		return "this cloud"
	}
	return s.p.Cloud
}

// runDriveInfo prints one drive.
func runDriveInfo(ctx context.Context, w io.Writer, s services, uuid string, asJSON bool) error {
	d, err := s.drives.GetDrive(ctx, uuid)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, d.Raw)
	}
	return printFields(w,
		"UUID", d.UUID, "Name", d.Name, "Size", sizeWithBytes(d.Size), "Status", d.Status, "Media", d.Media,
		"Storage type", d.StorageType, "Tags", strings.Join(d.Tags, ", "), "Meta", formatMeta(d.Meta),
		"Jobs", strings.Join(d.Jobs, ", "))
}

// runDriveCreate creates a drive after checking its size against the
// location's limits, and prints its UUID (or object).
func runDriveCreate(ctx context.Context, w io.Writer, s services, spec providers.DriveSpec, wo waitOptions, asJSON bool) error {
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
	if wo.NoWait {
		return s.printNoWait(w, wo, d.Jobs, s.noun()+" "+d.UUID, asJSON, func() error { return printDriveResult(w, d, asJSON) })
	}
	if d, err = waitDrive(ctx, s.drives, s.jobs, d, "creation of "+d.UUID, wo); err != nil {
		return driveWaitHint(err, d.UUID)
	}
	return printDriveResult(w, d, asJSON)
}

// printNoWait prints the result of a change not waited for. On clouds
// whose changes only their operation lets a later run follow
// (Features.OperationIDs) that is the operation just started, the last of
// jobs, for 'drivecp job wait', with a note naming what it changes;
// elsewhere (and with --json, which prints the object and its jobs) it is
// print's.
func (s services) printNoWait(w io.Writer, o waitOptions, jobs []string, what string, asJSON bool, print func() error) error {
	if s.p == nil || !s.p.Features.OperationIDs || len(jobs) == 0 || asJSON {
		return print()
	}
	op := jobs[len(jobs)-1]
	if o.Notes != nil {
		fmt.Fprintf(o.Notes, "drivecp: note: operation %s is changing %s; 'drivecp job wait %s' waits for it\n", op, what, op)
	}
	_, err := fmt.Fprintln(w, op)
	return err
}

// noun is what the cloud calls a drive.
func (s services) noun() string {
	if s.p == nil || s.p.Features.DriveNoun == "" {
		return "drive"
	}
	return s.p.Features.DriveNoun
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
		return s.unsupported("drive edit")
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
		return s.unsupported("drive resize")
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
	if o.Wait.NoWait {
		return s.printNoWait(w, o.Wait, d.Jobs, s.noun()+" "+d.UUID, o.JSON, func() error { return printDriveResult(w, d, o.JSON) })
	}
	if d, err = waitDrive(ctx, s.drives, s.jobs, d, "resize of "+o.UUID, o.Wait); err != nil {
		return driveWaitHint(err, d.UUID)
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
		return printJSON(w, d.Raw)
	}
	_, err := fmt.Fprintln(w, d.UUID)
	return err
}

// checkSizeRange refuses a size outside what the location allows for the
// storage type, before the API is asked. Without capabilities (API 1.0, or
// a location that does not report them) the API alone decides.
func checkSizeRange(ctx context.Context, r providers.DriveLimits, storageType string, size int64) error {
	if r == nil {
		return nil
	}
	lo, hi, ok, err := r.DriveSizeRange(ctx, storageType)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, providers.ErrAuth) || errors.Is(err, providers.ErrPermission) {
			return err
		}
		return nil
	}
	if !ok {
		return nil
	}
	if (lo > 0 && size < lo) || (hi > 0 && size > hi) {
		if storageType == "" {
			storageType = "dssd"
		}
		return usageErrorf("--size %s is outside the %s drive sizes this location allows (%s to %s)",
			units.FormatSize(size), storageType, units.FormatSize(lo), units.FormatSize(hi))
	}
	return nil
}

// size renders a drive size; on clouds that count decimal gigabytes it
// shows both, since 10G in drivecp is 10 GiB and becomes 11 GB there.
func (s services) size(n int64) string {
	if s.p != nil && s.p.Features.SizeUnit == 1e9 && n%(1<<30) != 0 {
		return fmt.Sprintf("%s (%s GB)", units.FormatSize(n), strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64))
	}
	return units.FormatSize(n)
}
