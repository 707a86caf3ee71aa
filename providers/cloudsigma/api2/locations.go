package api2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// DefaultStorageType is where new drives go when no storage type is asked
// for (the API 2.0 manual, "Storage Types").
const DefaultStorageType = "dssd"

// Locations lists the cloud's locations, with each one's direct-transfer
// host (`GET /locations/`).
func (c *Client) Locations(ctx context.Context) ([]wire.Location, error) {
	return listAll[wire.Location](ctx, c, "list locations", "locations/", nil)
}

// sizeRangeAny accepts both spellings of a drive size range: the manual's
// capabilities example says min_size/max_size, the wire type min/max.
type sizeRangeAny struct {
	Min     *int64 `json:"min"`
	Max     *int64 `json:"max"`
	MinSize *int64 `json:"min_size"`
	MaxSize *int64 `json:"max_size"`
}

func (r sizeRangeAny) sizeRange() wire.SizeRange {
	var out wire.SizeRange
	for _, v := range []*int64{r.Min, r.MinSize} {
		if v != nil {
			out.Min = *v
		}
	}
	for _, v := range []*int64{r.Max, r.MaxSize} {
		if v != nil {
			out.Max = *v
		}
	}
	return out
}

// capabilities is the part of `GET /capabilities/` read here: the drive size
// range of every storage type the location offers.
func (c *Client) capabilities(ctx context.Context) (map[string]wire.SizeRange, error) {
	var caps struct {
		Drives map[string]json.RawMessage `json:"drives"`
	}
	if err := c.doJSON(ctx, request{op: "get capabilities", method: http.MethodGet, path: "capabilities/"}, &caps); err != nil {
		return nil, err
	}
	out := make(map[string]wire.SizeRange, len(caps.Drives))
	for typ, raw := range caps.Drives {
		var r sizeRangeAny
		if err := json.Unmarshal(raw, &r); err != nil {
			continue // not a size range: a member this client does not know
		}
		out[typ] = r.sizeRange()
	}
	return out, nil
}

// Capabilities returns the limits the tool checks before calling: the dssd
// drive size range.
func (c *Client) Capabilities(ctx context.Context) (wire.Capabilities, error) {
	ranges, err := c.capabilities(ctx)
	if err != nil {
		return wire.Capabilities{}, err
	}
	return wire.Capabilities{Drives: wire.DriveCapabilities{DSSD: ranges[DefaultStorageType]}}, nil
}

// DriveSizeRange returns the drive size range of a storage type ("" means
// the default, dssd). ok is false when the location does not report one,
// e.g. a storage type it does not offer.
func (c *Client) DriveSizeRange(ctx context.Context, storageType string) (r wire.SizeRange, ok bool, err error) {
	ranges, err := c.capabilities(ctx)
	if err != nil {
		return wire.SizeRange{}, false, err
	}
	if storageType == "" {
		storageType = DefaultStorageType
	}
	r, ok = ranges[storageType]
	if ok && r.Max > 0 && r.Min > r.Max {
		return wire.SizeRange{}, false, fmt.Errorf("get capabilities: %w: %s drive sizes from %d to %d", providers.ErrNotCloudSigma, storageType, r.Min, r.Max)
	}
	return r, ok, nil
}
