package api2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 2.0's drive management.
var (
	_ providers.DriveService = (*Client)(nil)
	_ providers.DriveEditor  = (*Client)(nil)
)

// maxPages bounds a listing, so a server whose total_count never matches
// what it sends cannot keep the client paging for ever.
const maxPages = 10000

// ListDrives returns the drives matching f, every page of them. It asks for
// the detailed listing, because the plain one carries only uuid, status and
// owner. The name, uuid and status filters are also applied to the answer:
// status is not among the filters the API documents and may be ignored.
func (c *Client) ListDrives(ctx context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	q := url.Values{}
	addFilter(q, "name", f.Names)
	addFilter(q, "uuid", f.UUIDs)
	addFilter(q, "tag", f.Tags)
	addFilter(q, "status", f.Statuses)
	ds, err := listAll[wire.Drive](ctx, c, "list drives", "drives/detail/", q)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Drive, 0, len(ds))
	for _, d := range ds {
		if oneOf(f.Names, d.Name) && oneOf(f.UUIDs, d.UUID) && oneOf(f.Statuses, d.Status) {
			out = append(out, DriveFromWire(d))
		}
	}
	return out, nil
}

// driveCreate is the body of a create request: only what the caller chose,
// so the API applies its own defaults to the rest.
type driveCreate struct {
	Name        string            `json:"name"`
	Size        int64             `json:"size"`
	Media       string            `json:"media"`
	StorageType string            `json:"storage_type,omitempty"`
	Tags        []wire.Ref        `json:"tags,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
}

// CreateDrive creates an empty drive (`POST /drives/`, 201).
func (c *Client) CreateDrive(ctx context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	const op = "create drive"
	body := driveCreate{Name: spec.Name, Size: spec.Size, Media: spec.Media, StorageType: spec.StorageType,
		Tags: refs(spec.Tags), Meta: spec.Meta}
	if body.Media == "" {
		body.Media = "disk"
	}
	var raw json.RawMessage
	err := c.doJSON(ctx, request{op: op, method: http.MethodPost, path: "drives/",
		body: wire.List[driveCreate]{Objects: []driveCreate{body}}}, &raw)
	if err != nil {
		return providers.Drive{}, err
	}
	return decodeDrive(op, raw)
}

// EditDrive changes a drive's name, tags or metadata. PUT wants the full
// definition, so the drive is read first and sent back with the changes;
// fields this client does not model travel back untouched.
func (c *Client) EditDrive(ctx context.Context, uuid string, edit providers.DriveEdit) (providers.Drive, error) {
	op := "edit drive " + uuid
	path, err := itemPath(op, "drives", uuid)
	if err != nil {
		return providers.Drive{}, err
	}
	def, err := c.getObject(ctx, op, path)
	if err != nil {
		return providers.Drive{}, err
	}
	if edit.Name != nil {
		if err := setField(def, "name", *edit.Name); err != nil {
			return providers.Drive{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	if edit.Tags != nil {
		if err := setField(def, "tags", refsOrEmpty(edit.Tags)); err != nil {
			return providers.Drive{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	if edit.Meta != nil {
		if err := setField(def, "meta", edit.Meta); err != nil {
			return providers.Drive{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodPut, path: path, body: def}, &raw); err != nil {
		return providers.Drive{}, err
	}
	return decodeDrive(op, raw)
}

// ResizeDrive starts a resize (`POST /drives/{uuid}/action/?do=resize`,
// 202), which unlike PUT fails instead of silently ignoring a size change it
// cannot apply. It too wants the full definition.
func (c *Client) ResizeDrive(ctx context.Context, uuid string, size int64) (providers.Drive, error) {
	op := "resize drive " + uuid
	path, err := itemPath(op, "drives", uuid)
	if err != nil {
		return providers.Drive{}, err
	}
	def, err := c.getObject(ctx, op, path)
	if err != nil {
		return providers.Drive{}, err
	}
	if err := setField(def, "size", size); err != nil {
		return providers.Drive{}, fmt.Errorf("%s: %w", op, err)
	}
	var raw json.RawMessage
	err = c.doJSON(ctx, request{op: op, method: http.MethodPost, path: path + "action/",
		query: url.Values{"do": {"resize"}}, body: def}, &raw)
	if err != nil {
		return providers.Drive{}, err
	}
	return decodeDrive(op, raw)
}

// DeleteDrives deletes one drive with `DELETE /drives/{uuid}/` and several
// with one `DELETE /drives/` whose body lists their UUIDs.
func (c *Client) DeleteDrives(ctx context.Context, uuids ...string) error {
	return c.deleteMany(ctx, "drives", "drive", uuids)
}

// CloneDrive starts a clone (`POST /drives/{uuid}/action/?do=clone`, 202)
// and returns the new drive, normally still `cloning_dst`, with its jobs.
// API 2.0 clones keep the source's size: a larger one is a resize after the
// clone, so a Size is ErrUnsupported here.
func (c *Client) CloneDrive(ctx context.Context, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	return c.clone(ctx, "clone drive "+uuid, "drives", uuid, spec)
}

// clone runs the clone action on a drive, snapshot or library drive.
func (c *Client) clone(ctx context.Context, op, kind, uuid string, spec providers.CloneSpec) (providers.Drive, error) {
	path, err := itemPath(op, kind, uuid)
	if err != nil {
		return providers.Drive{}, err
	}
	if spec.Size != 0 {
		return providers.Drive{}, fmt.Errorf("%s: a size for the clone: %w by API 2.0 (resize it afterwards)", op, providers.ErrUnsupported)
	}
	q := url.Values{"do": {"clone"}}
	if len(spec.Avoid) > 0 {
		q.Set("avoid", strings.Join(spec.Avoid, ","))
	}
	body := wire.DriveClone{Name: spec.Name, Media: spec.Media, StorageType: spec.StorageType}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodPost, path: path + "action/", query: q, body: body}, &raw); err != nil {
		return providers.Drive{}, err
	}
	return decodeDrive(op, raw)
}

// deleteMany deletes resources of kind (drives, snapshots): one with
// DELETE on its own URL, several in one DELETE on the list URL.
func (c *Client) deleteMany(ctx context.Context, kind, noun string, uuids []string) error {
	op := "delete " + noun
	if len(uuids) == 0 {
		return nil
	}
	var list []wire.Ref
	for _, u := range uuids {
		if _, err := itemPath(op, kind, u); err != nil {
			return err
		}
		list = append(list, wire.Ref{UUID: u})
	}
	if len(uuids) == 1 {
		op += " " + uuids[0]
		path, _ := itemPath(op, kind, uuids[0])
		return c.doJSON(ctx, request{op: op, method: http.MethodDelete, path: path}, nil)
	}
	return c.doJSON(ctx, request{op: op + "s " + strings.Join(uuids, ","), method: http.MethodDelete,
		path: kind + "/", body: wire.List[wire.Ref]{Objects: list}}, nil)
}

// listAll fetches every object of a list resource. It asks for everything
// at once (limit=0) and keeps asking from the next offset while the answer
// holds fewer objects than meta.total_count, for servers that cap pages.
func listAll[T any](ctx context.Context, c *Client, op, path string, q url.Values) ([]T, error) {
	var all []T
	for page := 0; page < maxPages; page++ {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		pq.Set("limit", "0")
		if len(all) > 0 {
			pq.Set("offset", strconv.Itoa(len(all)))
		}
		var l wire.List[T]
		if err := c.doJSON(ctx, request{op: op, method: http.MethodGet, path: path, query: pq}, &l); err != nil {
			return nil, err
		}
		all = append(all, l.Objects...)
		if l.Meta == nil || len(l.Objects) == 0 || len(all) >= l.Meta.TotalCount {
			return all, nil
		}
	}
	return nil, fmt.Errorf("%s: %w: more than %d pages", op, providers.ErrNotCloudSigma, maxPages)
}

// getObject reads one resource as raw JSON members, to be sent back whole
// by PUT or an action that wants the full definition.
func (c *Client) getObject(ctx context.Context, op, path string) (map[string]json.RawMessage, error) {
	var def map[string]json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodGet, path: path}, &def); err != nil {
		return nil, err
	}
	if def == nil {
		return nil, fmt.Errorf("%s: %w: empty definition", op, providers.ErrNotCloudSigma)
	}
	return def, nil
}

// setField replaces one member of a raw definition.
func setField(def map[string]json.RawMessage, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	def[key] = b
	return nil
}

// decodeOne decodes an answer that is either {"objects":[x, ...]} (create,
// clone, resize) or x itself (snapshot clone, edit), returning x.
func decodeOne[T any](op string, raw json.RawMessage) (T, error) {
	var zero, out T
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(raw, &env); err == nil && env.Objects != nil {
		if len(env.Objects) != 1 {
			return zero, fmt.Errorf("%s: %w: expected one object, got %d", op, providers.ErrNotCloudSigma, len(env.Objects))
		}
		raw = env.Objects[0]
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return zero, fmt.Errorf("%s: %w: %v", op, providers.ErrNotCloudSigma, err)
	}
	return out, nil
}

// decodeDrive decodes a drive answer and checks it names the drive.
func decodeDrive(op string, raw json.RawMessage) (providers.Drive, error) {
	d, err := decodeOne[wire.Drive](op, raw)
	if err != nil {
		return providers.Drive{}, err
	}
	if d.UUID == "" {
		return providers.Drive{}, fmt.Errorf("%s: %w: drive without a uuid", op, providers.ErrNotCloudSigma)
	}
	return DriveFromWire(d), nil
}

// itemPath returns kind/uuid/ after rejecting identifiers that would change
// the path: an empty one would turn `drives//` into the list of all drives.
func itemPath(op, kind, uuid string) (string, error) {
	if err := checkID(op, uuid); err != nil {
		return "", err
	}
	return kind + "/" + uuid + "/", nil
}

// checkID rejects identifiers that are empty, would change the request
// path, or hold anything but printable ASCII: no CloudSigma identifier
// does, and sending one only earns a 404 that reads as "no such drive"
// when the input was malformed.
func checkID(op, id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/?#%\\") || !printableASCII(id) {
		return fmt.Errorf("%s: %w: %q is not a UUID", op, providers.ErrInvalid, id)
	}
	return nil
}

// addFilter sets an OR filter: the values joined by commas, with commas and
// the backslashes before them escaped as the API's filtering rules say.
func addFilter(q url.Values, key string, values []string) {
	if len(values) == 0 {
		return
	}
	esc := make([]string, len(values))
	for i, v := range values {
		esc[i] = escapeFilterValue(v, i < len(values)-1)
	}
	q.Set(key, strings.Join(esc, ","))
}

// escapeFilterValue escapes commas as `\,` and doubles the backslashes that
// precede a comma, including the separating comma that follows the value
// when more follows.
func escapeFilterValue(v string, moreFollows bool) string {
	var b strings.Builder
	run := 0 // backslashes seen just before the current position
	flush := func(double bool) {
		n := run
		if double {
			n *= 2
		}
		b.WriteString(strings.Repeat(`\`, n))
		run = 0
	}
	for _, r := range v {
		switch r {
		case '\\':
			run++
		case ',':
			flush(true)
			b.WriteString(`\,`)
		default:
			flush(false)
			b.WriteRune(r)
		}
	}
	flush(moreFollows)
	return b.String()
}

// oneOf reports whether v is among values, or values is empty.
func oneOf(values []string, v string) bool {
	return len(values) == 0 || slices.Contains(values, v)
}

// refs turns UUIDs into related-resource references; nil for none.
func refs(uuids []string) []wire.Ref {
	var out []wire.Ref
	for _, u := range uuids {
		out = append(out, wire.Ref{UUID: u})
	}
	return out
}

// refsOrEmpty is refs that encodes no UUIDs as [] (clear), never null.
func refsOrEmpty(uuids []string) []wire.Ref {
	out := refs(uuids)
	if out == nil {
		out = []wire.Ref{}
	}
	return out
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
