package api2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 2.0's drives library.
var _ providers.LibDriveService = (*Client)(nil)

// ListLibDrives returns every library drive, or those whose os matches
// (the `os` filter; compared again, ignoring case, on the answer).
func (c *Client) ListLibDrives(ctx context.Context, os string) ([]providers.LibDrive, error) {
	q := url.Values{}
	if os != "" {
		q.Set("os", os)
	}
	ls, err := listAll[wire.LibDrive](ctx, c, "list library drives", "libdrives/", q)
	if err != nil {
		return nil, err
	}
	out := make([]providers.LibDrive, 0, len(ls))
	for _, l := range ls {
		if os == "" || strings.EqualFold(l.OS, os) {
			out = append(out, LibDriveFromWire(l))
		}
	}
	return out, nil
}

// GetLibDrive returns one library drive.
func (c *Client) GetLibDrive(ctx context.Context, uuid string) (providers.LibDrive, error) {
	op := "get library drive " + uuid
	path, err := itemPath(op, "libdrives", uuid)
	if err != nil {
		return providers.LibDrive{}, err
	}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodGet, path: path}, &raw); err != nil {
		return providers.LibDrive{}, err
	}
	l, err := decodeOne[wire.LibDrive](op, raw)
	if err != nil {
		return providers.LibDrive{}, err
	}
	if l.UUID == "" {
		return providers.LibDrive{}, fmt.Errorf("%s: %w: library drive without a uuid", op, providers.ErrNotCloudSigma)
	}
	return LibDriveFromWire(l), nil
}

// CloneLibDrive starts copying a library drive into the account
// (`POST /libdrives/{uuid}/action/?do=clone`, 202), as a drive clone does.
func (c *Client) CloneLibDrive(ctx context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	return c.clone(ctx, "clone library drive "+uuid, "libdrives", uuid, spec)
}

// LibDriveFromWire converts an API 2.0 library drive into the neutral type,
// keeping the API object for --json output.
func LibDriveFromWire(l wire.LibDrive) providers.LibDrive {
	return providers.LibDrive{UUID: l.UUID, Name: l.Name, Size: l.Size, Status: l.Status, State: wire.DriveState(l.Status), OS: l.OS,
		Distribution: l.Distribution, Version: l.Version, Arch: l.Arch, Raw: l}
}
