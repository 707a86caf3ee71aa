package centurylink

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/providers"
)

// GB is the unit of the API's disk sizes (sizeGB); drivecp counts it as a
// binary gigabyte, as the VMware disks underneath do.
const GB = 1 << 30

// Keys of DriveSpec.Meta that CreateDrive reads, and of Drive.Meta.
const (
	// MetaServer names the server a disk is added to (required: a disk
	// exists only on a server).
	MetaServer = "server"
	// MetaPath is the partition path (mount point) of a new partitioned
	// disk; without it DriveSpec.Name is taken as the path, and with
	// neither the disk is raw.
	MetaPath = "path"
	// MetaDisk is the disk's ID on its server (bus:unit) in Drive.Meta.
	MetaDisk = "disk"
	// MetaOS is "true" in Drive.Meta for an operating-system disk.
	MetaOS = "os"
)

func upper(s string) string { return strings.ToUpper(s) }

// splitDiskID splits SERVER:DISK (WA1ALIASWEB01:0:1).
func splitDiskID(id string) (server, disk string, err error) {
	server, disk, ok := strings.Cut(id, ":")
	if !ok || server == "" || disk == "" {
		return "", "", fmt.Errorf("%w: %q is not a disk ID of the form SERVER:DISK (for example WA1ALIASWEB01:0:1)",
			providers.ErrInvalid, id)
	}
	return server, disk, nil
}

func findDisk(s serverJSON, disk string) (diskJSON, bool) {
	if s.Details != nil {
		for _, d := range s.Details.Disks {
			if d.ID == disk {
				return d, true
			}
		}
	}
	return diskJSON{}, false
}

func notFound(id string, s serverJSON) error {
	return fmt.Errorf("disk %s: %s has no such disk: %w", id, s.Name, providers.ErrNotFound)
}

// toDrive describes disk d of server s. A change of the server's disks
// this client started and has not seen finish makes every disk of the
// server busy, with the operation in Jobs.
func toDrive(s serverJSON, d diskJSON, job providers.Job, pending bool) providers.Drive {
	name, path := d.ID, ""
	if len(d.PartitionPaths) > 0 {
		path = d.PartitionPaths[0]
		name = path
	}
	dr := providers.Drive{UUID: s.Name + ":" + d.ID, Name: name, Size: d.SizeGB * GB,
		Status: serverStatus(s), State: serverState(s), Media: "disk", StorageType: s.StorageType,
		Servers: []string{s.Name}, Raw: d,
		Meta: map[string]string{MetaServer: s.Name, MetaDisk: d.ID, MetaPath: path, MetaOS: strconv.FormatBool(isOSDisk(s, d.ID))}}
	if pending {
		dr.Status, dr.State, dr.Jobs = "operation "+job.Status, job.State, []string{job.UUID}
	}
	return dr
}

// drivesOf describes the disks of s.
func (c *Client) drivesOf(ctx context.Context, s serverJSON) ([]providers.Drive, error) {
	job, pending, err := c.pendingState(ctx, c.disksPending, s.Name)
	if err != nil {
		return nil, err
	}
	var out []providers.Drive
	if s.Details != nil {
		for _, d := range s.Details.Disks {
			out = append(out, toDrive(s, d, job, pending))
		}
	}
	return out, nil
}

func matches(f providers.DriveFilter, d providers.Drive) bool {
	switch {
	case len(f.Names) > 0 && !slices.Contains(f.Names, d.Name):
		return false
	case len(f.UUIDs) > 0 && !slices.ContainsFunc(f.UUIDs, func(u string) bool { return strings.EqualFold(u, d.UUID) }):
		return false
	case len(f.Tags) > 0:
		return false // disks carry no tags
	case len(f.Statuses) > 0 && !slices.Contains(f.Statuses, d.Status):
		return false
	}
	return true
}

// ListDrives lists the disks of every server of the account in the data
// center, walking its groups.
func (c *Client) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	var ss []serverJSON
	if f.Server != "" {
		// One server: no need to walk the groups, and an unknown one is
		// ErrNotFound rather than an empty list.
		s, err := c.getServer(ctx, f.Server)
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	} else {
		var err error
		if ss, err = c.servers(ctx); err != nil {
			return nil, err
		}
	}
	var out []providers.Drive
	for _, s := range ss {
		ds, err := c.drivesOf(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if matches(f, d) {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// ServerDrives lists the disks of one server (drive list --server S).
func (c *Client) ServerDrives(ctx context.Context, server string) ([]providers.Drive, error) {
	s, err := c.getServer(ctx, server)
	if err != nil {
		return nil, err
	}
	return c.drivesOf(ctx, s)
}

// GetDrive reads one disk, SERVER:DISK.
func (c *Client) GetDrive(ctx context.Context, id string) (providers.Drive, error) {
	server, disk, err := splitDiskID(id)
	if err != nil {
		return providers.Drive{}, err
	}
	s, err := c.getServer(ctx, server)
	if err != nil {
		return providers.Drive{}, err
	}
	d, ok := findDisk(s, disk)
	if !ok {
		return providers.Drive{}, notFound(id, s)
	}
	job, pending, err := c.pendingState(ctx, c.disksPending, s.Name)
	if err != nil {
		return providers.Drive{}, err
	}
	return toDrive(s, d, job, pending), nil
}

// sizeGB rounds a size in bytes up to whole GB.
func sizeGB(size int64) int64 { return (size + GB - 1) / GB }

// currentDisks is the server's disk list as a PATCH repeats it.
func currentDisks(s serverJSON) []diskSpec {
	var out []diskSpec
	if s.Details != nil {
		for _, d := range s.Details.Disks {
			out = append(out, diskSpec{DiskID: d.ID, SizeGB: d.SizeGB})
		}
	}
	return out
}

// setDisks PATCHes the server's whole disk list and records the operation
// that carries the change out.
func (c *Client) setDisks(ctx context.Context, s serverJSON, disks []diskSpec) (providers.Job, error) {
	p, err := c.path(ctx, "/v2/servers", s.Name)
	if err != nil {
		return providers.Job{}, err
	}
	op := "set the disks of " + s.Name
	var l statusLink
	code, err := c.do(ctx, op, "PATCH", p, []patch{{Op: "set", Member: "disks", Value: disks}}, &l)
	if err != nil {
		return providers.Job{}, err
	}
	if code == 204 {
		return providers.Job{State: providers.StateReady, Progress: 100}, nil
	}
	id, err := opID(op, l)
	if err != nil {
		return providers.Job{}, err
	}
	c.setPending(c.disksPending, s.Name, id)
	return providers.Job{UUID: id, Operation: op, Status: "notStarted", State: providers.StateBusy, Progress: -1,
		Resources: []string{s.Name}}, nil
}

// CreateDrive adds a disk to the server spec.Meta["server"]: a partitioned
// disk mounted at spec.Meta["path"] (or spec.Name), else a raw disk. The
// size is rounded up to whole GB. The PATCH carries the server's whole
// disk list; the new disk is busy until its operation has succeeded.
func (c *Client) CreateDrive(ctx context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	server, path := cmp.Or(spec.Server, spec.Meta[MetaServer]), cmp.Or(spec.Path, spec.Meta[MetaPath])
	switch {
	case server == "":
		return providers.Drive{}, providers.WithHint(fmt.Errorf("%w: a disk is added to a server, and none was named", providers.ErrInvalid),
			"name the server: drive create --server SERVER --size 10G [--path /data]")
	case spec.Media != "" && spec.Media != "disk":
		return providers.Drive{}, fmt.Errorf("%w: servers here have disks only, not %s", providers.ErrInvalid, spec.Media)
	case spec.Size <= 0:
		return providers.Drive{}, fmt.Errorf("%w: a disk needs a size", providers.ErrInvalid)
	case path != "" && spec.Name != "" && spec.Name != path:
		return providers.Drive{}, fmt.Errorf("%w: a disk's name is its partition path: %q and %q differ", providers.ErrInvalid, spec.Name, path)
	}
	if path == "" {
		path = spec.Name
	}
	s, err := c.getServer(ctx, server)
	if err != nil {
		return providers.Drive{}, err
	}
	before := map[string]bool{}
	for _, d := range currentDisks(s) {
		before[d.DiskID] = true
	}
	add := diskSpec{SizeGB: sizeGB(spec.Size), Type: "raw"}
	if path != "" {
		add.Type, add.Path = "partitioned", path
	}
	job, err := c.setDisks(ctx, s, append(currentDisks(s), add))
	if err != nil {
		return providers.Drive{}, err
	}
	after, err := c.getServer(ctx, s.Name)
	if err != nil {
		return providers.Drive{}, err
	}
	pending := job.UUID != ""
	if after.Details != nil {
		for _, d := range after.Details.Disks {
			if !before[d.ID] && d.SizeGB == add.SizeGB && (path == "" || slices.Contains(d.PartitionPaths, path)) {
				return toDrive(after, d, job, pending), nil
			}
		}
	}
	// The API has not listed the disk yet: it takes the first free unit on
	// bus 0 when the operation runs.
	id := ""
	for u := 0; id == ""; u++ {
		if k := fmt.Sprintf("0:%d", u); !before[k] {
			id = k
		}
	}
	d := diskJSON{ID: id, SizeGB: add.SizeGB}
	if path != "" {
		d.PartitionPaths = []string{path}
	}
	return toDrive(s, d, job, pending), nil
}

// DeleteDrives removes disks from their servers, one PATCH per server.
// Operating-system disks are refused (ErrInvalid) before anything changes.
func (c *Client) DeleteDrives(ctx context.Context, ids ...string) error {
	type change struct {
		s      serverJSON
		remove map[string]bool
	}
	var changes []*change
	byServer := map[string]*change{}
	for _, id := range ids {
		server, disk, err := splitDiskID(id)
		if err != nil {
			return err
		}
		ch := byServer[upper(server)]
		if ch == nil {
			s, err := c.getServer(ctx, server)
			if err != nil {
				return err
			}
			ch = &change{s: s, remove: map[string]bool{}}
			byServer[upper(server)] = ch
			changes = append(changes, ch)
		}
		if _, ok := findDisk(ch.s, disk); !ok {
			return notFound(id, ch.s)
		}
		if isOSDisk(ch.s, disk) {
			return fmt.Errorf("%w: %s is an operating-system disk of %s, which CenturyLink Cloud does not remove "+
				"(only disks added to the server can be deleted)", providers.ErrInvalid, id, ch.s.Name)
		}
		ch.remove[disk] = true
	}
	for _, ch := range changes {
		keep := slices.DeleteFunc(currentDisks(ch.s), func(d diskSpec) bool { return ch.remove[d.DiskID] })
		if _, err := c.setDisks(ctx, ch.s, keep); err != nil {
			return err
		}
	}
	return nil
}

// ResizeDrive grows a disk to size, rounded up to whole GB; disks never
// shrink (ErrInvalid).
func (c *Client) ResizeDrive(ctx context.Context, id string, size int64) (providers.Drive, error) {
	server, disk, err := splitDiskID(id)
	if err != nil {
		return providers.Drive{}, err
	}
	s, err := c.getServer(ctx, server)
	if err != nil {
		return providers.Drive{}, err
	}
	d, ok := findDisk(s, disk)
	if !ok {
		return providers.Drive{}, notFound(id, s)
	}
	gb := sizeGB(size)
	switch {
	case gb < d.SizeGB:
		return providers.Drive{}, fmt.Errorf("%w: disks only grow: %s has %d GB, %d GB asked", providers.ErrInvalid, id, d.SizeGB, gb)
	case gb == d.SizeGB:
		return c.GetDrive(ctx, id)
	}
	disks := currentDisks(s)
	for i := range disks {
		if disks[i].DiskID == disk {
			disks[i].SizeGB = gb
		}
	}
	job, err := c.setDisks(ctx, s, disks)
	if err != nil {
		return providers.Drive{}, err
	}
	after, err := c.getServer(ctx, s.Name)
	if err != nil {
		return providers.Drive{}, err
	}
	if nd, ok := findDisk(after, disk); ok {
		d = nd
	}
	return toDrive(after, d, job, job.UUID != ""), nil
}

// EditDrive is unsupported: a disk has no name of its own (its name is its
// partition path, set when it is added) and no tags.
func (c *Client) EditDrive(ctx context.Context, id string, edit providers.DriveEdit) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "rename or tag disks",
		Instead: "disks named by their partition path, set when they are added"}
}

// CloneDrive is unsupported: the API copies no disks.
func (c *Client) CloneDrive(ctx context.Context, id string, spec providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "clone disks", Instead: lacksInstead}
}
