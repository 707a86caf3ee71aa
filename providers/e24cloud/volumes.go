package e24cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/drivecp/drivecp/providers"
)

// SizeUnit is the granularity of volume and image sizes: the API counts
// whole gigabytes, taken here as GiB (an assumption, see the package doc).
const SizeUnit = 1 << 30

// Volume state words (assumed: e24cloud's documentation names no states of
// storage volumes; these follow its machines' vocabulary).
const (
	VolumeCreating  = "creating"
	VolumeAvailable = "available"
	VolumeAttached  = "attached"
	VolumeResizing  = "resizing"
	VolumeDeleting  = "deleting"
	VolumeError     = "error"
)

// VolumeWire is a storage volume as the API sends it.
type VolumeWire struct {
	ID         flexID `json:"id"`
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	Type       string `json:"type"`
	SystemDisk bool   `json:"system_disk"`
	State      string `json:"state"`
	Machines   []struct {
		ID    flexID `json:"id"`
		Label string `json:"label"`
	} `json:"virtual_machines"`
}

// volumeState maps a volume's state word; an attached volume counts as in
// use, since its machine's power state is not in the volume's answer.
func volumeState(word string) providers.State {
	switch word {
	case VolumeAvailable:
		return providers.StateReady
	case VolumeAttached:
		return providers.StateInUse
	case VolumeCreating, VolumeResizing:
		return providers.StateBusy
	case VolumeDeleting:
		return providers.StateGone
	case VolumeError:
		return providers.StateFailed
	}
	return providers.StateUnknown
}

func driveOf(raw json.RawMessage, v VolumeWire) providers.Drive {
	d := providers.Drive{UUID: string(v.ID), Name: v.Name, Size: v.Size * SizeUnit, Status: v.State,
		State: volumeState(v.State), Media: "disk", StorageType: v.Type, Raw: raw}
	if v.SystemDisk {
		d.Meta = map[string]string{"system_disk": "true"}
	}
	for _, m := range v.Machines {
		d.Servers = append(d.Servers, string(m.ID))
	}
	return d
}

// ListDrives lists every storage volume and filters here: the API has no
// filters and no pages (it answers the whole list at once). Volumes carry
// no tags, so a tag filter matches none.
func (c *Client) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	var body struct {
		Volumes []json.RawMessage `json:"storage_volumes"`
	}
	if err := c.do(ctx, "list storage volumes", http.MethodGet, "/storage-volumes", nil, &body); err != nil {
		return nil, err
	}
	var out []providers.Drive
	for _, raw := range body.Volumes {
		var v VolumeWire
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("list storage volumes: %w", err)
		}
		d := driveOf(raw, v)
		if (len(f.Names) > 0 && !slices.Contains(f.Names, d.Name)) ||
			(len(f.UUIDs) > 0 && !slices.Contains(f.UUIDs, d.UUID)) ||
			(len(f.Statuses) > 0 && !slices.Contains(f.Statuses, d.Status) && !slices.Contains(f.Statuses, string(d.State))) ||
			len(f.Tags) > 0 {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// GetDrive returns one storage volume.
func (c *Client) GetDrive(ctx context.Context, id string) (providers.Drive, error) {
	var body struct {
		Volume json.RawMessage `json:"storage_volume"`
	}
	if err := c.do(ctx, "get storage volume "+id, http.MethodGet, "/storage-volumes/"+escape(id), nil, &body); err != nil {
		return providers.Drive{}, err
	}
	var v VolumeWire
	if err := json.Unmarshal(body.Volume, &v); err != nil {
		return providers.Drive{}, fmt.Errorf("get storage volume %s: %w", id, err)
	}
	return driveOf(body.Volume, v), nil
}

// CreateDrive adds a task creating a volume of spec.Size rounded up to
// whole GiB and returns the volume as it is then (usually creating).
func (c *Client) CreateDrive(ctx context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	if spec.Media != "" && spec.Media != "disk" {
		return providers.Drive{}, fmt.Errorf("%w: e24cloud volumes are disks, not %q", providers.ErrInvalid, spec.Media)
	}
	if len(spec.Tags) > 0 || len(spec.Meta) > 0 {
		return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "tag storage volumes"}
	}
	in := map[string]any{"create_storage_volume": map[string]any{
		"name": spec.Name, "size": (spec.Size + SizeUnit - 1) / SizeUnit, "type": spec.StorageType}}
	var body struct {
		Volume struct {
			ID flexID `json:"id"`
		} `json:"storage_volume"`
	}
	if err := c.do(ctx, "create storage volume", http.MethodPut, "/storage-volumes", in, &body); err != nil {
		return providers.Drive{}, err
	}
	return c.GetDrive(ctx, string(body.Volume.ID))
}

// DeleteDrives deletes each volume in turn: the API deletes one per
// request.
func (c *Client) DeleteDrives(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if err := c.do(ctx, "delete storage volume "+id, http.MethodDelete, "/storage-volumes/"+escape(id), nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// CloneDrive is not in e24cloud's API.
func (c *Client) CloneDrive(ctx context.Context, id string, spec providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "clone", Instead: Features().Lacks["clone"]}
}

// EditDrive is not in e24cloud's API: volumes have no rename, tags or
// metadata there.
func (c *Client) EditDrive(ctx context.Context, id string, e providers.DriveEdit) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "edit storage volumes", Instead: "resizing"}
}

// ResizeDrive adds a task growing the volume to size rounded up to whole
// GiB and returns the volume as it is then (usually resizing).
func (c *Client) ResizeDrive(ctx context.Context, id string, size int64) (providers.Drive, error) {
	in := map[string]any{"size": (size + SizeUnit - 1) / SizeUnit}
	if err := c.do(ctx, "resize storage volume "+id, http.MethodPost, "/storage-volumes/"+escape(id)+"/resize", in, nil); err != nil {
		return providers.Drive{}, err
	}
	return c.GetDrive(ctx, id)
}
