package api2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 2.0's snapshots.
var _ providers.SnapshotService = (*Client)(nil)

// ListSnapshots returns every snapshot, of one drive when drive is not
// empty (the `drive` filter, checked again on the answer).
func (c *Client) ListSnapshots(ctx context.Context, drive string) ([]providers.Snapshot, error) {
	q := url.Values{}
	if drive != "" {
		if err := checkID("list snapshots", drive); err != nil {
			return nil, err
		}
		q.Set("drive", drive)
	}
	ss, err := listAll[wire.Snapshot](ctx, c, "list snapshots", "snapshots/detail/", q)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Snapshot, 0, len(ss))
	for _, s := range ss {
		if drive == "" || (s.Drive != nil && s.Drive.UUID == drive) {
			out = append(out, SnapshotFromWire(s))
		}
	}
	return out, nil
}

// GetSnapshot returns one snapshot.
func (c *Client) GetSnapshot(ctx context.Context, uuid string) (providers.Snapshot, error) {
	op := "get snapshot " + uuid
	path, err := itemPath(op, "snapshots", uuid)
	if err != nil {
		return providers.Snapshot{}, err
	}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodGet, path: path}, &raw); err != nil {
		return providers.Snapshot{}, err
	}
	return decodeSnapshot(op, raw)
}

// snapshotCreate is the body of a snapshot create request; the drive is
// named by its UUID alone, as the API's example does.
type snapshotCreate struct {
	Drive string            `json:"drive"`
	Name  string            `json:"name,omitempty"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// CreateSnapshot snapshots a drive (`POST /snapshots/`, 201). The snapshot
// is usually `creating` on return.
func (c *Client) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	drive, name, meta := spec.Target, spec.Name, spec.Meta
	op := "create snapshot of " + drive
	if spec.ExpireDays != 0 {
		return providers.Snapshot{}, fmt.Errorf("%s: snapshot expiry: %w by API 2.0", op, providers.ErrUnsupported)
	}
	if err := checkID(op, drive); err != nil {
		return providers.Snapshot{}, err
	}
	body := wire.List[snapshotCreate]{Objects: []snapshotCreate{{Drive: drive, Name: name, Meta: meta}}}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodPost, path: "snapshots/", body: body}, &raw); err != nil {
		return providers.Snapshot{}, err
	}
	return decodeSnapshot(op, raw)
}

// EditSnapshot renames a snapshot or replaces its metadata (nil: unchanged)
// with a PUT of the full definition read just before.
func (c *Client) EditSnapshot(ctx context.Context, uuid string, name *string, meta map[string]string) (providers.Snapshot, error) {
	op := "edit snapshot " + uuid
	path, err := itemPath(op, "snapshots", uuid)
	if err != nil {
		return providers.Snapshot{}, err
	}
	def, err := c.getObject(ctx, op, path)
	if err != nil {
		return providers.Snapshot{}, err
	}
	if name != nil {
		if err := setField(def, "name", *name); err != nil {
			return providers.Snapshot{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	if meta != nil {
		if err := setField(def, "meta", meta); err != nil {
			return providers.Snapshot{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodPut, path: path, body: def}, &raw); err != nil {
		return providers.Snapshot{}, err
	}
	return decodeSnapshot(op, raw)
}

// DeleteSnapshots deletes snapshots, several in one request.
func (c *Client) DeleteSnapshots(ctx context.Context, uuids ...string) error {
	return c.deleteMany(ctx, "snapshots", "snapshot", uuids)
}

// CloneSnapshot starts cloning a snapshot to a new drive
// (`POST /snapshots/{uuid}/action/?do=clone`, 202).
func (c *Client) CloneSnapshot(ctx context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	return c.clone(ctx, "clone snapshot "+uuid, "snapshots", uuid, spec)
}

func decodeSnapshot(op string, raw json.RawMessage) (providers.Snapshot, error) {
	s, err := decodeOne[wire.Snapshot](op, raw)
	if err != nil {
		return providers.Snapshot{}, err
	}
	if s.UUID == "" {
		return providers.Snapshot{}, fmt.Errorf("%s: %w: snapshot without a uuid", op, providers.ErrNotCloudSigma)
	}
	return SnapshotFromWire(s), nil
}

// SnapshotFromWire converts an API 2.0 snapshot into the neutral type,
// keeping the API object for --json output.
func SnapshotFromWire(s wire.Snapshot) providers.Snapshot {
	out := providers.Snapshot{UUID: s.UUID, Name: s.Name, Status: s.Status, State: wire.SnapshotState(s.Status), Size: s.AllocatedSize,
		Timestamp: s.Timestamp, Meta: s.Meta, Raw: s}
	if s.Drive != nil {
		out.Drive = s.Drive.UUID
	}
	return out
}
