package onlinelabs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/drivecp/drivecp/providers"
)

// snapshotState maps a snapshot's state word onto the neutral states.
func snapshotState(word string) providers.State {
	switch word {
	case "available":
		return providers.StateReady
	case "snapshotting":
		return providers.StateBusy
	case "error":
		return providers.StateFailed
	}
	return providers.StateUnknown
}

func snapshotOf(raw json.RawMessage, s snapshotWire) providers.Snapshot {
	return providers.Snapshot{UUID: s.ID, Name: s.Name, Drive: s.BaseVolume.ID, Status: s.State, State: snapshotState(s.State),
		Size: s.Size, Timestamp: s.CreationDate, Raw: raw}
}

// ListSnapshots lists the organization's snapshots, every page; with a
// volume given, only that volume's (filtered here: the API has no
// filter).
func (c *Client) ListSnapshots(ctx context.Context, volume string) ([]providers.Snapshot, error) {
	raws, err := c.listAll(ctx, "list snapshots", "/snapshots", "snapshots")
	if err != nil {
		return nil, err
	}
	snaps, err := decodeEach[snapshotWire](raws)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []providers.Snapshot
	for i, s := range snaps {
		if volume == "" || s.BaseVolume.ID == volume {
			out = append(out, snapshotOf(raws[i], s))
		}
	}
	return out, nil
}

func (c *Client) snapshot(ctx context.Context, op, method, path string, in any) (providers.Snapshot, error) {
	raw, err := c.object(ctx, op, method, path, "snapshot", in)
	if err != nil {
		return providers.Snapshot{}, err
	}
	var s snapshotWire
	if err := json.Unmarshal(raw, &s); err != nil {
		return providers.Snapshot{}, fmt.Errorf("%s: %w", op, err)
	}
	return snapshotOf(raw, s), nil
}

// GetSnapshot returns a snapshot.
func (c *Client) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	return c.snapshot(ctx, "get snapshot "+id, http.MethodGet, "/snapshots/"+escape(id), nil)
}

// CreateSnapshot starts a snapshot of a volume; it is snapshotting
// (StateBusy) until the API says available. Snapshots carry no metadata
// and never expire, so a spec with Meta is refused and ExpireDays is
// ignored.
func (c *Client) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	if len(spec.Meta) > 0 {
		return providers.Snapshot{}, &providers.UnsupportedError{Cloud: Name, What: "keep metadata on snapshots",
			Instead: "snapshot names"}
	}
	if spec.Target == "" {
		return providers.Snapshot{}, fmt.Errorf("%w: which volume to snapshot", providers.ErrInvalid)
	}
	name := spec.Name
	if name == "" {
		name = spec.Target
	}
	body := map[string]any{"name": name, "organization": c.org, "volume_id": spec.Target}
	return c.snapshot(ctx, "snapshot volume "+spec.Target, http.MethodPost, "/snapshots", body)
}

// EditSnapshot renames a snapshot; snapshots have no metadata.
func (c *Client) EditSnapshot(ctx context.Context, id string, name *string, meta map[string]string) (providers.Snapshot, error) {
	if meta != nil {
		return providers.Snapshot{}, &providers.UnsupportedError{Cloud: Name, What: "keep metadata on snapshots",
			Instead: "snapshot names"}
	}
	if name == nil {
		return c.GetSnapshot(ctx, id)
	}
	return c.snapshot(ctx, "rename snapshot "+id, http.MethodPut, "/snapshots/"+escape(id), map[string]any{"name": *name})
}

// DeleteSnapshots deletes the snapshots one by one, stopping at the first
// failure.
func (c *Client) DeleteSnapshots(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := c.do(ctx, "delete snapshot "+id, http.MethodDelete, "/snapshots/"+escape(id), nil, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// CloneSnapshot is not in the API documentation of the time: a snapshot
// becomes usable again as the root volume of an image.
func (c *Client) CloneSnapshot(ctx context.Context, id string, spec providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "make volumes of snapshots",
		Instead: "images made of snapshots"}
}
