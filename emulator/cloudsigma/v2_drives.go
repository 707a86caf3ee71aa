package cloudsigma

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// driveListFields are the members of the plain drive list;
// `detail/` and `fields=` show more.
func driveListFields() []string { return []string{"owner", "resource_uri", "status", "uuid"} }

// driveFilters are the drive list filters: those of the API 2.0 manual's drive schema
// (name, name__contains, tag, uuid) and, because scripts ask for them, the
// plain members status, media and storage_type.
func driveFilters() map[string]filterFunc[wire.Drive] {
	return map[string]filterFunc[wire.Drive]{
		"name":            func(d wire.Drive, v string) bool { return d.Name == v },
		"name__contains":  func(d wire.Drive, v string) bool { return contains(d.Name, v) },
		"name__icontains": func(d wire.Drive, v string) bool { return icontains(d.Name, v) },
		"uuid":            func(d wire.Drive, v string) bool { return d.UUID == v },
		"tag":             func(d wire.Drive, v string) bool { return hasTag(d.Tags, v) },
		"status":          func(d wire.Drive, v string) bool { return d.Status == v },
		"media":           func(d wire.Drive, v string) bool { return d.Media == v },
		"storage_type":    func(d wire.Drive, v string) bool { return d.StorageType == v },
	}
}

// tagRefs accepts tags as the API does: a list of UUIDs, of tag URIs, or of
// `{"uuid": ..., "resource_uri": ...}` objects.
type tagRefs []wire.Ref

// UnmarshalJSON implements json.Unmarshaler.
func (t *tagRefs) UnmarshalJSON(b []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return invalid("tags", "must be a list of tag UUIDs or objects")
	}
	out := make(tagRefs, 0, len(raws))
	for _, raw := range raws {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			id := lastSegment(s)
			if id == "" {
				return invalid("tags", "empty tag")
			}
			out = append(out, wire.Ref{UUID: id, ResourceURI: "/api/2.0/tags/" + id + "/"})
			continue
		}
		var ref wire.Ref
		if err := json.Unmarshal(raw, &ref); err != nil || ref.UUID == "" {
			return invalid("tags", "a tag is a UUID, a tag URI or an object with a uuid")
		}
		if ref.ResourceURI == "" {
			ref.ResourceURI = "/api/2.0/tags/" + ref.UUID + "/"
		}
		out = append(out, ref)
	}
	*t = out
	return nil
}

// driveInput is a drive definition as a request sends it. Pointers tell a
// member that is absent (kept as it is by an edit) from one that is set;
// read-only members a client echoes back (uuid, status, jobs, ...) are
// ignored.
type driveInput struct {
	Name            *string            `json:"name"`
	Size            *jsonInt           `json:"size"`
	Media           *string            `json:"media"`
	StorageType     *string            `json:"storage_type"`
	AllowMultimount *bool              `json:"allow_multimount"`
	Affinities      *[]string          `json:"affinities"`
	Tags            *tagRefs           `json:"tags"`
	Meta            *map[string]string `json:"meta"`
}

// decodeDriveInput decodes one drive object, reporting type errors (and
// tagRefs' own) as validation errors on their member.
func decodeDriveInput(raw []byte) (driveInput, error) {
	var in driveInput
	err := decodeJSON(raw, &in)
	return in, err
}

func validMedia(m string) error {
	if m != "disk" && m != "cdrom" {
		return invalid("media", "must be disk or cdrom, not %q", m)
	}
	return nil
}

// applyEdits copies the members an edit may change onto d; the size only
// when withSize. A storage type cannot change once a drive exists: a clone
// with another storage_type is the way.
func (in driveInput) applyEdits(d *wire.Drive, withSize bool) error {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return invalid("name", "this field is required")
		}
		d.Name = *in.Name
	}
	if in.Media != nil {
		if err := validMedia(*in.Media); err != nil {
			return err
		}
		d.Media = *in.Media
	}
	if in.StorageType != nil && *in.StorageType != "" && *in.StorageType != d.StorageType {
		return invalid("storage_type", "a drive's storage type cannot be changed (it is %s); clone it with storage_type %s instead", d.StorageType, *in.StorageType)
	}
	if in.AllowMultimount != nil {
		d.AllowMultimount = *in.AllowMultimount
	}
	if in.Affinities != nil {
		d.Affinities = append([]string{}, (*in.Affinities)...)
	}
	if in.Tags != nil {
		d.Tags = append([]wire.Ref{}, (*in.Tags)...)
	}
	if in.Meta != nil {
		d.Meta = *in.Meta
	}
	if withSize && in.Size != nil {
		d.Size = int64(*in.Size)
	}
	return nil
}

// hasEdits reports whether in sets anything besides the size.
func (in driveInput) hasEdits() bool {
	return in.Name != nil || in.Media != nil || in.AllowMultimount != nil || in.Affinities != nil ||
		in.Tags != nil || in.Meta != nil
}

// newDrive validates a create request's drive: name and size are required,
// the size must be in the capabilities' range of the storage type, media is
// disk (the default) or cdrom.
func (in driveInput) newDrive(offer storageOffer) (wire.Drive, error) {
	var d wire.Drive
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return d, invalid("name", "this field is required")
	}
	d.Name = *in.Name
	d.Media = "disk"
	if in.Media != nil {
		if err := validMedia(*in.Media); err != nil {
			return d, err
		}
		d.Media = *in.Media
	}
	d.StorageType = offer.defaultType()
	if in.StorageType != nil && *in.StorageType != "" {
		d.StorageType = *in.StorageType
	}
	rng, err := offer.rangeOf(d.StorageType)
	if err != nil {
		return d, err
	}
	if in.Size == nil {
		return d, invalid("size", "this field is required")
	}
	if int64(*in.Size) < rng.Min || int64(*in.Size) > rng.Max {
		return d, invalid("size", "must be between %d and %d bytes for storage type %s (see /capabilities/), not %d",
			rng.Min, rng.Max, d.StorageType, int64(*in.Size))
	}
	d.Size = int64(*in.Size)
	if in.AllowMultimount != nil {
		d.AllowMultimount = *in.AllowMultimount
	}
	if in.Affinities != nil {
		d.Affinities = *in.Affinities
	}
	if in.Tags != nil {
		d.Tags = *in.Tags
	}
	if in.Meta != nil {
		d.Meta = *in.Meta
	}
	return d, nil
}

// atObject prefixes a validation message with the object's index when a
// request holds several.
func atObject(err error, i, n int) error {
	var fe *FieldError
	if n <= 1 || !errors.As(err, &fe) {
		return err
	}
	return &FieldError{Kind: fe.Kind, Field: fe.Field, Msg: fmt.Sprintf("object %d: %s", i, fe.Msg)}
}

// v2ListDrives serves `drives/` (uuid, resource_uri, owner and status of
// each drive) and, when detail, `drives/detail/` (full definitions).
func (s *Server) v2ListDrives(detail bool) http.HandlerFunc {
	o := listOptions[wire.Drive]{filters: driveFilters()}
	if !detail {
		o.fields = driveListFields()
	}
	return func(w http.ResponseWriter, r *http.Request) {
		serveList(w, r, s.store.ListDrives(), o)
	}
}

// v2CreateDrives creates one drive or several (`POST drives/`): every
// definition is checked before any drive is made, so a bad one
// creates nothing.
func (s *Server) v2CreateDrives(w http.ResponseWriter, r *http.Request) {
	objs, err := readObjects(w, r)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if len(objs) == 0 {
		writeV2StoreError(w, invalid("objects", "no drives to create"))
		return
	}
	defs := make([]wire.Drive, 0, len(objs))
	for i, raw := range objs {
		in, err := decodeDriveInput(raw)
		if err == nil {
			var d wire.Drive
			d, err = in.newDrive(s.offer)
			defs = append(defs, d)
		}
		if err != nil {
			writeV2StoreError(w, atObject(err, i, len(objs)))
			return
		}
	}
	created := make([]wire.Drive, 0, len(defs))
	for _, def := range defs {
		d, err := s.store.ProvisionDrive(def)
		if err != nil {
			// All or nothing: a half-done batch would leave drives the
			// client never learns the UUIDs of.
			for _, c := range created {
				_ = s.store.DeleteDrive(c.UUID)
			}
			writeV2StoreError(w, err)
			return
		}
		created = append(created, d)
	}
	if len(created) == 1 {
		w.Header().Set("Location", created[0].ResourceURI)
	}
	writeJSON(w, http.StatusCreated, wire.List[wire.Drive]{Objects: created})
}

// v2GetDrive serves one drive. A library drive's UUID is answered too, with
// a null owner.
func (s *Server) v2GetDrive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	d, err := s.store.GetDrive(id)
	if errors.Is(err, ErrNotFound) {
		if l, lerr := s.store.GetLibDrive(id); lerr == nil {
			writeJSON(w, http.StatusOK, libDriveAsDrive(l))
			return
		}
	}
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// v2EditDrive edits a drive (`PUT drives/{uuid}/`): members
// the body leaves out keep their values. A larger size grows the drive at
// once, as it would on a drive not mounted on a running server; a smaller
// one is refused.
func (s *Server) v2EditDrive(w http.ResponseWriter, r *http.Request) {
	var in driveInput
	if err := readJSON(w, r, &in); err != nil {
		writeV2StoreError(w, err)
		return
	}
	d, err := s.store.UpdateDrive(r.PathValue("uuid"), func(d *wire.Drive) error {
		return in.applyEdits(d, true)
	})
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// v2DeleteDrive deletes one drive (204); a busy drive is a 503 concurrency
// error the client retries.
func (s *Server) v2DeleteDrive(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteDrive(r.PathValue("uuid")); err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeNoContent(w)
}

// v2DeleteDrives deletes the drives a body lists (`DELETE drives/`). An
// unknown UUID fails the request before anything is deleted.
func (s *Server) v2DeleteDrives(w http.ResponseWriter, r *http.Request) {
	ids, err := readUUIDs(w, r)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	for _, id := range ids {
		if _, err := s.store.GetDrive(id); err != nil {
			writeV2StoreError(w, err)
			return
		}
	}
	for _, id := range ids {
		if err := s.store.DeleteDrive(id); err != nil {
			writeV2StoreError(w, err)
			return
		}
	}
	writeNoContent(w)
}

// v2DriveAction runs `POST drives/{uuid}/action/?do=resize|clone|upload_chunk`.
func (s *Server) v2DriveAction(w http.ResponseWriter, r *http.Request) {
	switch actionOf(r) {
	case "resize":
		s.v2ResizeDrive(w, r)
	case "clone":
		s.v2CloneDrive(w, r)
	case "upload_chunk":
		s.v2UploadChunkLink(w, r)
	default:
		writeUnknownAction(w, r, "resize", "clone", "upload_chunk")
	}
}

// v2ResizeDrive is the "update or fail" resize: the body is
// a full definition whose size must not be below the current one. Every
// member is validated before anything changes; the drive is `resizing`
// until the job finishes.
func (s *Server) v2ResizeDrive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	var in driveInput
	if err := readJSON(w, r, &in); err != nil {
		writeV2StoreError(w, err)
		return
	}
	cur, err := s.store.GetDrive(id)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if in.Size == nil {
		writeV2StoreError(w, invalid("size", "this field is required: the resize action takes the full drive definition"))
		return
	}
	if int64(*in.Size) < cur.Size {
		writeV2StoreError(w, invalid("size", "%d is smaller than the drive's %d bytes: drives can only grow", int64(*in.Size), cur.Size))
		return
	}
	probe := cur
	if err := in.applyEdits(&probe, false); err != nil {
		writeV2StoreError(w, err)
		return
	}
	d, _, err := s.store.ResizeDrive(id, int64(*in.Size))
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if in.hasEdits() {
		edited, err := s.store.UpdateDrive(id, func(d *wire.Drive) error { return in.applyEdits(d, false) })
		if err != nil {
			writeV2StoreError(w, err)
			return
		}
		// The answer shows the drive as the action left it, `resizing`,
		// even when a zero-length job has already ended.
		edited.Status = d.Status
		d = edited
	}
	writeJSON(w, http.StatusAccepted, wire.List[wire.Drive]{Objects: []wire.Drive{d}})
}

// cloneInput is the optional body of a clone action.
type cloneInput struct {
	wire.DriveClone
	Affinities *[]string `json:"affinities"`
}

// cloneSpecOf reads and validates a clone action's body and `avoid=`
// query. `avoid` names drives to keep on other storage
// hosts; the emulator has one host, so it only checks the UUIDs' syntax.
func cloneSpecOf(w http.ResponseWriter, r *http.Request, offer storageOffer) (CloneSpec, error) {
	var in cloneInput
	if err := readOptionalObject(w, r, &in); err != nil {
		return CloneSpec{}, err
	}
	for _, v := range r.URL.Query()["avoid"] {
		for _, id := range splitOr(v) {
			if id = strings.TrimSpace(id); id != "" && !looksLikeUUID(id) {
				return CloneSpec{}, invalid("avoid", "%q is not a UUID", id)
			}
		}
	}
	spec := CloneSpec{Name: in.Name, Media: in.Media, StorageType: in.StorageType}
	if in.Affinities != nil {
		spec.Affinities = append([]string{}, (*in.Affinities)...)
	}
	if spec.Media != "" {
		if err := validMedia(spec.Media); err != nil {
			return CloneSpec{}, err
		}
	}
	if spec.StorageType != "" {
		if _, err := offer.rangeOf(spec.StorageType); err != nil {
			return CloneSpec{}, err
		}
	}
	return spec, nil
}

// looksLikeUUID accepts the 8-4-4-4-12 hexadecimal form.
func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// v2CloneDrive clones a drive: 202 with the new drive,
// `cloning_dst` until its job ends, while the source is `cloning_src`.
func (s *Server) v2CloneDrive(w http.ResponseWriter, r *http.Request) {
	s.serveClone(w, r, s.store.CloneDrive, true)
}

// serveClone runs clone on the request's UUID with the spec of its body
// and answers 202 with the new drive, in an `objects` list when listed
// (drives, library drives) or bare (snapshots), as the API 2.0 manual's examples do.
func (s *Server) serveClone(w http.ResponseWriter, r *http.Request,
	clone func(ctx context.Context, id string, spec CloneSpec) (wire.Drive, wire.Job, error), listed bool) {
	spec, err := cloneSpecOf(w, r, s.offer)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	d, _, err := clone(r.Context(), r.PathValue("uuid"), spec)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	w.Header().Set("Location", d.ResourceURI)
	if listed {
		writeJSON(w, http.StatusAccepted, wire.List[wire.Drive]{Objects: []wire.Drive{d}})
		return
	}
	writeJSON(w, http.StatusAccepted, d)
}
