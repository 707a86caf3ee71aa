package api1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 1.0's drive management.
var _ providers.DriveService = (*Client)(nil)

// API 1.0 keys the drive calls send or read beyond those in package wire.
const (
	keyTags     = "tags"
	affinitySSD = "affinity:ssd"
)

// ListDrives returns the drives matching f. API 1.0 has no server-side
// filters, so `GET /drives/info` fetches every drive and f applies here.
func (c *Client) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	objs, err := c.doKV(ctx, request{op: "list drives", method: http.MethodGet, path: "drives/info"})
	if err != nil {
		return nil, err
	}
	var out []providers.Drive
	for _, o := range splitObjects(objs) {
		d, err := driveFromKV(o)
		if err != nil {
			return nil, fmt.Errorf("list drives: %w", err)
		}
		if matches(d, f) {
			out = append(out, d)
		}
	}
	return out, nil
}

// GetDrive returns one drive (`GET /drives/UUID/info`).
func (c *Client) GetDrive(ctx context.Context, uuid string) (providers.Drive, error) {
	op := "get drive " + uuid
	if err := checkID(op, uuid); err != nil {
		return providers.Drive{}, err
	}
	return c.oneDrive(ctx, request{op: op, method: http.MethodGet, path: "drives/" + url.PathEscape(uuid) + "/info"})
}

// CreateDrive creates an empty drive (`POST /drives/create`). API 1.0 knows
// no media, metadata or storage types beyond the SSD affinity tag; asking for
// others is ErrUnsupported rather than silently ignored.
func (c *Client) CreateDrive(ctx context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	const op = "create drive"
	if spec.Name == "" || spec.Size <= 0 {
		return providers.Drive{}, fmt.Errorf("%s: %w: a name and a positive size are required", op, providers.ErrInvalid)
	}
	if len(spec.Meta) > 0 || (spec.Media != "" && spec.Media != "disk") {
		return providers.Drive{}, fmt.Errorf("%s: media and metadata: %w by API 1.0", op, providers.ErrUnsupported)
	}
	kv := wire.KV{{Key: wire.V1KeyName, Value: spec.Name}, {Key: wire.V1KeySize, Value: strconv.FormatInt(spec.Size, 10)}}
	tags := slices.Clone(spec.Tags)
	switch strings.ToLower(spec.StorageType) {
	case "":
	case "ssd", "dssd":
		tags = append(tags, affinitySSD)
	default:
		return providers.Drive{}, fmt.Errorf("%s: storage type %q: %w by API 1.0", op, spec.StorageType, providers.ErrUnsupported)
	}
	if len(tags) > 0 {
		kv = append(kv, wire.Pair{Key: keyTags, Value: strings.Join(tags, " ")})
	}
	return c.oneDrive(ctx, request{op: op, method: http.MethodPost, path: "drives/create", body: []byte(kv.String())})
}

// DeleteDrives destroys the drives one request each (API 1.0 has no bulk
// delete). It tries every drive even when one fails, so a typo in one UUID
// does not leave the others behind, and returns the failures joined.
func (c *Client) DeleteDrives(ctx context.Context, uuids ...string) error {
	var errs []error
	for _, uuid := range uuids {
		op := "delete drive " + uuid
		if err := checkID(op, uuid); err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "drives/" + url.PathEscape(uuid) + "/destroy"})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
			continue
		}
		resp.Body.Close()
	}
	return errors.Join(errs...)
}

// CloneDrive copies a drive (`POST /drives/UUID/clone`). API 1.0 requires a
// name and a size: missing ones are taken from the source (name + "-clone",
// the source's size). The copy is made before the call returns.
func (c *Client) CloneDrive(ctx context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	op := "clone drive " + uuid
	if err := checkID(op, uuid); err != nil {
		return providers.Drive{}, err
	}
	if len(spec.Avoid) > 0 || spec.Media != "" || spec.StorageType != "" {
		return providers.Drive{}, fmt.Errorf("%s: media, storage type and avoid: %w by API 1.0", op, providers.ErrUnsupported)
	}
	if spec.Name == "" || spec.Size == 0 {
		src, err := c.GetDrive(ctx, uuid)
		if err != nil {
			return providers.Drive{}, err
		}
		if spec.Name == "" {
			spec.Name = src.Name + "-clone"
		}
		if spec.Size == 0 {
			spec.Size = src.Size
		}
	}
	kv := wire.KV{{Key: wire.V1KeyName, Value: spec.Name}, {Key: wire.V1KeySize, Value: strconv.FormatInt(spec.Size, 10)}}
	return c.oneDrive(ctx, request{op: op, method: http.MethodPost, path: "drives/" + url.PathEscape(uuid) + "/clone", body: []byte(kv.String())})
}

// oneDrive sends r and decodes the single drive it answers with.
func (c *Client) oneDrive(ctx context.Context, r request) (providers.Drive, error) {
	objs, err := c.doKV(ctx, r)
	if err != nil {
		return providers.Drive{}, err
	}
	objs = splitObjects(objs)
	if len(objs) != 1 {
		return providers.Drive{}, fmt.Errorf("%s: %w: expected one drive, got %d objects", r.op, providers.ErrNotCloudSigma, len(objs))
	}
	d, err := driveFromKV(objs[0])
	if err != nil {
		return providers.Drive{}, fmt.Errorf("%s: %w", r.op, err)
	}
	return d, nil
}

// checkID rejects identifiers that would change the request path (an empty
// one would turn `drives//info` into `drives/info`, the list of all drives)
// and those holding anything but printable ASCII, which no CloudSigma
// identifier does: the server would answer a malformed one with a 404 that
// reads as "no such drive".
func checkID(op, id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/?#") || !printableASCII(id) {
		return fmt.Errorf("%s: %w: %q is not a drive UUID", op, providers.ErrInvalid, id)
	}
	return nil
}

// splitObjects starts a new object wherever a key repeats within one, so a
// listing whose blank separator lines were lost (as in the manual's own
// example) still yields one object per drive.
func splitObjects(objs []wire.KV) []wire.KV {
	var out []wire.KV
	for _, o := range objs {
		seen := map[string]bool{}
		start := 0
		for i, p := range o {
			if seen[p.Key] {
				out = append(out, o[start:i])
				start = i
				clear(seen)
			}
			seen[p.Key] = true
		}
		out = append(out, o[start:])
	}
	return out
}

// driveFromKV converts an API 1.0 drive object, keeping it as Raw.
func driveFromKV(kv wire.KV) (providers.Drive, error) {
	d := providers.Drive{Raw: kv}
	d.UUID, _ = kv.Get(wire.V1KeyDrive)
	if d.UUID == "" {
		return d, fmt.Errorf("%w: drive object without a %q key", providers.ErrNotCloudSigma, wire.V1KeyDrive)
	}
	d.Name, _ = kv.Get(wire.V1KeyName)
	d.Status, _ = kv.Get(wire.V1KeyStatus)
	d.State = wire.DriveState(d.Status)
	d.Media, _ = kv.Get(wire.V1KeyType)
	if s, ok := kv.Get(wire.V1KeySize); ok && s != "" {
		n, err := wire.ParseSize(s)
		if err != nil {
			return d, fmt.Errorf("%w: drive %s: size: %v", providers.ErrNotCloudSigma, d.UUID, err)
		}
		d.Size = n
	}
	if s, ok := kv.Get(keyTags); ok {
		d.Tags = strings.Fields(s)
		if slices.Contains(d.Tags, affinitySSD) {
			d.StorageType = "ssd"
		}
	}
	return d, nil
}

// matches applies a DriveFilter: every non-empty field must match one of
// its values.
func matches(d providers.Drive, f providers.DriveFilter) bool {
	if len(f.Names) > 0 && !slices.Contains(f.Names, d.Name) {
		return false
	}
	if len(f.UUIDs) > 0 && !slices.Contains(f.UUIDs, d.UUID) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, d.Status) {
		return false
	}
	if len(f.Tags) > 0 && !slices.ContainsFunc(f.Tags, func(t string) bool { return slices.Contains(d.Tags, t) }) {
		return false
	}
	return true
}

// printableASCII reports whether s holds only the visible ASCII characters
// (no spaces, controls or other scripts).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
