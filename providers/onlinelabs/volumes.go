package onlinelabs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/drivecp/drivecp/providers"
)

// SizeUnit is the granularity of volume sizes: the API takes bytes but
// counts whole decimal gigabytes.
const SizeUnit = 1_000_000_000

// DefaultVolumeType is the volume type of a new volume when none is asked
// for: local SSD, as the seed's example creates.
const DefaultVolumeType = "l_ssd"

// object sends a request whose answer holds one object under key and
// returns that object as sent.
func (c *Client) object(ctx context.Context, op, method, path, key string, in any) (json.RawMessage, error) {
	var body map[string]json.RawMessage
	if _, err := c.do(ctx, op, method, path, nil, in, &body); err != nil {
		return nil, err
	}
	raw, ok := body[key]
	if !ok || string(raw) == "null" {
		return nil, fmt.Errorf("%s: the API's answer has no %q", op, key)
	}
	return raw, nil
}

// Volume status words. The API gives volumes no status; these say
// whether one is attached, for tables and filters.
const (
	StatusAvailable = "available"
	StatusAttached  = "attached"
)

// driveOf maps a volume onto a drive. serverState is the state word of
// the server it is attached to, if any: a volume attached to a stopped
// server may be changed (ready), to a running one it is in use, to a
// starting or stopping one busy.
func driveOf(raw json.RawMessage, v volumeWire, serverStateWord string) providers.Drive {
	d := providers.Drive{UUID: v.ID, Name: v.Name, Size: v.Size, Status: StatusAvailable, State: providers.StateReady,
		Media: "disk", StorageType: v.VolumeType, Raw: raw}
	if v.Server != nil && v.Server.ID != "" {
		d.Status = StatusAttached
		d.Servers = []string{v.Server.ID}
		d.State = serverState(serverStateWord)
	}
	return d
}

// ListDrives lists every volume of the organization, every page, and
// filters by name, ID and status word (or neutral state) here: the API
// has no filters. Volumes carry no tags, so a tag filter matches none.
func (c *Client) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	raws, err := c.listAll(ctx, "list volumes", "/volumes", "volumes")
	if err != nil {
		return nil, err
	}
	vols, err := decodeEach[volumeWire](raws)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	states := map[string]string{}
	if slices.ContainsFunc(vols, func(v volumeWire) bool { return v.Server != nil }) {
		_, servers, err := c.listServers(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range servers {
			states[s.ID] = s.State
		}
	}
	var out []providers.Drive
	for i, v := range vols {
		var st string
		if v.Server != nil {
			st = states[v.Server.ID]
		}
		d := driveOf(raws[i], v, st)
		if matches(d, f) {
			out = append(out, d)
		}
	}
	return out, nil
}

func matches(d providers.Drive, f providers.DriveFilter) bool {
	if len(f.Names) > 0 && !slices.Contains(f.Names, d.Name) {
		return false
	}
	if len(f.UUIDs) > 0 && !slices.Contains(f.UUIDs, d.UUID) {
		return false
	}
	if len(f.Tags) > 0 {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, d.Status) && !slices.Contains(f.Statuses, string(d.State)) {
		return false
	}
	return true
}

// GetDrive returns a volume; when it is attached, the server is read too
// for the volume's state.
func (c *Client) GetDrive(ctx context.Context, id string) (providers.Drive, error) {
	raw, v, err := c.getVolume(ctx, id)
	if err != nil {
		return providers.Drive{}, err
	}
	var st string
	if v.Server != nil && v.Server.ID != "" {
		s, err := c.getServer(ctx, v.Server.ID)
		switch {
		case errors.Is(err, providers.ErrNotFound):
			// Deleted meanwhile: the volume's state stays unknown.
		case err != nil:
			return providers.Drive{}, err
		default:
			st = s.State
		}
	}
	return driveOf(raw, v, st), nil
}

func (c *Client) getVolume(ctx context.Context, id string) (json.RawMessage, volumeWire, error) {
	raw, err := c.object(ctx, "get volume "+id, http.MethodGet, "/volumes/"+escape(id), "volume", nil)
	if err != nil {
		return nil, volumeWire{}, err
	}
	var v volumeWire
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, v, fmt.Errorf("get volume %s: %w", id, err)
	}
	return raw, v, nil
}

// RoundSize rounds size up to whole decimal gigabytes, the unit the API
// counts volumes in; at least one.
func RoundSize(size int64) int64 {
	if size <= SizeUnit {
		return SizeUnit
	}
	return (size + SizeUnit - 1) / SizeUnit * SizeUnit
}

// CreateDrive creates a volume in the organization, its size rounded up
// to whole gigabytes.
func (c *Client) CreateDrive(ctx context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	switch {
	case spec.Name == "":
		return providers.Drive{}, fmt.Errorf("%w: a volume needs a name", providers.ErrInvalid)
	case spec.Media != "" && spec.Media != "disk":
		return providers.Drive{}, fmt.Errorf("%w: volumes are disks; media %q does not exist here", providers.ErrInvalid, spec.Media)
	case len(spec.Tags) > 0 || len(spec.Meta) > 0:
		return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "tag volumes or give them metadata",
			Instead: "names"}
	}
	vt := spec.StorageType
	if vt == "" {
		vt = DefaultVolumeType
	}
	body := map[string]any{"name": spec.Name, "organization": c.org, "size": RoundSize(spec.Size), "volume_type": vt}
	raw, err := c.object(ctx, "create volume", http.MethodPost, "/volumes", "volume", body)
	if err != nil {
		return providers.Drive{}, err
	}
	var v volumeWire
	if err := json.Unmarshal(raw, &v); err != nil {
		return providers.Drive{}, fmt.Errorf("create volume: %w", err)
	}
	return driveOf(raw, v, ""), nil
}

// DeleteDrives deletes the volumes one by one (the API has no bulk
// deletion), stopping at the first failure.
func (c *Client) DeleteDrives(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := c.do(ctx, "delete volume "+id, http.MethodDelete, "/volumes/"+escape(id), nil, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// CloneDrive is not in the API: a volume is copied by snapshotting it.
func (c *Client) CloneDrive(ctx context.Context, id string, spec providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "clone volumes", Instead: "snapshots of volumes"}
}

// EditDrive renames a volume (PUT /volumes/{id}). Volumes have no tags or
// metadata to change.
func (c *Client) EditDrive(ctx context.Context, id string, e providers.DriveEdit) (providers.Drive, error) {
	if e.Tags != nil || e.Meta != nil {
		return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "tag volumes or give them metadata",
			Instead: "names"}
	}
	if e.Name == nil {
		return c.GetDrive(ctx, id)
	}
	if _, err := c.object(ctx, "rename volume "+id, http.MethodPut, "/volumes/"+escape(id), "volume",
		map[string]any{"name": *e.Name}); err != nil {
		return providers.Drive{}, err
	}
	return c.GetDrive(ctx, id)
}

// ResizeDrive is not in the API: the documentation of the time has no
// way to change a volume's size.
func (c *Client) ResizeDrive(ctx context.Context, id string, size int64) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "resize volumes",
		Instead: "new volumes of any size"}
}
