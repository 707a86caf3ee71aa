package cloudsigma

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// snapshotFilters are the API 2.0 manual's snapshot filters (name, name__contains,
// tag, uuid, and drive) plus status.
func snapshotFilters() map[string]filterFunc[snapshotDoc] {
	return map[string]filterFunc[snapshotDoc]{
		"drive": func(sn snapshotDoc, v string) bool {
			return sn.Drive != nil && sn.Drive.UUID == lastSegment(v)
		},
		"name":            func(sn snapshotDoc, v string) bool { return sn.Name == v },
		"name__contains":  func(sn snapshotDoc, v string) bool { return contains(sn.Name, v) },
		"name__icontains": func(sn snapshotDoc, v string) bool { return icontains(sn.Name, v) },
		"uuid":            func(sn snapshotDoc, v string) bool { return sn.UUID == v },
		"tag":             func(sn snapshotDoc, v string) bool { return hasTag(sn.Tags, v) },
		"status":          func(sn snapshotDoc, v string) bool { return sn.Status == v },
	}
}

// snapshotDoc is a snapshot as the API answers it: the store's snapshot and
// the sharing members (`grantees`, `permissions`) every snapshot has; the
// emulator has one user, so they are empty.
type snapshotDoc struct {
	wire.Snapshot
	Grantees    []json.RawMessage `json:"grantees"`
	Permissions []json.RawMessage `json:"permissions"`
}

func snapDoc(sn wire.Snapshot) snapshotDoc {
	return snapshotDoc{Snapshot: sn, Grantees: []json.RawMessage{}, Permissions: []json.RawMessage{}}
}

func snapDocs(sns []wire.Snapshot) []snapshotDoc {
	out := make([]snapshotDoc, len(sns))
	for i, sn := range sns {
		out[i] = snapDoc(sn)
	}
	return out
}

// lastSegment turns a resource URI (`/api/2.0/drives/UUID/`) into its UUID
// and leaves a bare UUID as it is.
func lastSegment(v string) string {
	v = strings.TrimSuffix(strings.TrimSpace(v), "/")
	if i := strings.LastIndex(v, "/"); i >= 0 {
		return v[i+1:]
	}
	return v
}

// resourceRef is a reference a request may give as a UUID, a resource URI
// or an object with a uuid.
type resourceRef string

// UnmarshalJSON implements json.Unmarshaler.
func (ref *resourceRef) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*ref = resourceRef(lastSegment(s))
		return nil
	}
	var obj wire.Ref
	if err := json.Unmarshal(b, &obj); err != nil {
		return invalid("drive", "must be a drive UUID, URI or object with a uuid")
	}
	if obj.UUID == "" {
		obj.UUID = lastSegment(obj.ResourceURI)
	}
	*ref = resourceRef(obj.UUID)
	return nil
}

// snapshotInput is a snapshot definition as create and edit requests send
// it.
type snapshotInput struct {
	Drive *resourceRef       `json:"drive"`
	Name  *string            `json:"name"`
	Meta  *map[string]string `json:"meta"`
	Tags  *tagRefs           `json:"tags"`
}

// applyEdits copies name, meta and tags onto sn. The drive may be echoed
// back but not changed.
func (in snapshotInput) applyEdits(sn *wire.Snapshot) error {
	if in.Drive != nil && *in.Drive != "" && (sn.Drive == nil || string(*in.Drive) != sn.Drive.UUID) {
		return invalid("drive", "a snapshot's drive cannot be changed")
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return invalid("name", "must not be empty")
		}
		sn.Name = *in.Name
	}
	if in.Meta != nil {
		sn.Meta = *in.Meta
	}
	if in.Tags != nil {
		sn.Tags = append([]wire.Ref{}, (*in.Tags)...)
	}
	return nil
}

// v2ListSnapshots serves `snapshots/` and `snapshots/detail/`; both show
// full snapshots, as the API 2.0 manual's examples do.
func (s *Server) v2ListSnapshots(w http.ResponseWriter, r *http.Request) {
	serveList(w, r, snapDocs(s.store.ListSnapshots("")), listOptions[snapshotDoc]{filters: snapshotFilters()})
}

// v2GetSnapshot serves one snapshot.
func (s *Server) v2GetSnapshot(w http.ResponseWriter, r *http.Request) {
	sn, err := s.store.GetSnapshot(r.PathValue("uuid"))
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snapDoc(sn))
}

// v2CreateSnapshots takes one snapshot or several (`POST snapshots/`):
// 201 with the snapshots, `creating` until their jobs end. Every definition
// is checked first; if a snapshot fails, those already taken are removed.
func (s *Server) v2CreateSnapshots(w http.ResponseWriter, r *http.Request) {
	objs, err := readObjects(w, r)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	if len(objs) == 0 {
		writeV2StoreError(w, invalid("objects", "no snapshots to create"))
		return
	}
	ins := make([]snapshotInput, 0, len(objs))
	for i, raw := range objs {
		var in snapshotInput
		if err := decodeJSON(raw, &in); err != nil {
			writeV2StoreError(w, atObject(err, i, len(objs)))
			return
		}
		if in.Drive == nil || *in.Drive == "" {
			writeV2StoreError(w, atObject(invalid("drive", "this field is required"), i, len(objs)))
			return
		}
		if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
			writeV2StoreError(w, atObject(invalid("name", "must not be empty"), i, len(objs)))
			return
		}
		if _, err := s.store.GetDrive(string(*in.Drive)); err != nil {
			if errors.Is(err, ErrNotFound) {
				err = &FieldError{Kind: ErrNotFound, Field: "drive", Msg: MessageOf(err)}
			}
			writeV2StoreError(w, atObject(err, i, len(objs)))
			return
		}
		ins = append(ins, in)
	}
	created := make([]wire.Snapshot, 0, len(ins))
	undo := func() {
		for _, c := range created {
			_ = s.store.DeleteSnapshot(c.UUID)
		}
	}
	for _, in := range ins {
		var name string
		var meta map[string]string
		if in.Name != nil {
			name = *in.Name
		}
		if in.Meta != nil {
			meta = *in.Meta
		}
		sn, _, err := s.store.CreateSnapshot(r.Context(), string(*in.Drive), name, meta)
		if err != nil {
			undo()
			writeV2StoreError(w, err)
			return
		}
		created = append(created, sn)
		if in.Tags != nil {
			tags := append([]wire.Ref{}, (*in.Tags)...)
			sn, err = s.store.UpdateSnapshot(sn.UUID, func(v *wire.Snapshot) error { v.Tags = tags; return nil })
			if err != nil {
				undo()
				writeV2StoreError(w, err)
				return
			}
			created[len(created)-1] = sn
		}
	}
	if len(created) == 1 {
		w.Header().Set("Location", created[0].ResourceURI)
	}
	writeJSON(w, http.StatusCreated, wire.List[snapshotDoc]{Objects: snapDocs(created)})
}

// v2EditSnapshot edits a snapshot's name, meta and tags (`PUT
// snapshots/{uuid}/`); absent members keep their values.
func (s *Server) v2EditSnapshot(w http.ResponseWriter, r *http.Request) {
	var in snapshotInput
	if err := readJSON(w, r, &in); err != nil {
		writeV2StoreError(w, err)
		return
	}
	sn, err := s.store.UpdateSnapshot(r.PathValue("uuid"), in.applyEdits)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snapDoc(sn))
}

// v2DeleteSnapshot deletes one snapshot (204).
func (s *Server) v2DeleteSnapshot(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteSnapshot(r.PathValue("uuid")); err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeNoContent(w)
}

// v2DeleteSnapshots deletes the snapshots a body lists (`DELETE
// snapshots/`); an unknown UUID fails the request before
// anything is deleted.
func (s *Server) v2DeleteSnapshots(w http.ResponseWriter, r *http.Request) {
	ids, err := readUUIDs(w, r)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	for _, id := range ids {
		if _, err := s.store.GetSnapshot(id); err != nil {
			writeV2StoreError(w, err)
			return
		}
	}
	for _, id := range ids {
		if err := s.store.DeleteSnapshot(id); err != nil {
			writeV2StoreError(w, err)
			return
		}
	}
	writeNoContent(w)
}

// v2SnapshotAction runs `POST snapshots/{uuid}/action/?do=clone`: 202 with
// the new drive's definition itself, not in an `objects`
// list, as the API 2.0 manual's example shows. A snapshot still `creating` cannot be
// cloned yet (503, retry).
func (s *Server) v2SnapshotAction(w http.ResponseWriter, r *http.Request) {
	if actionOf(r) != "clone" {
		writeUnknownAction(w, r, "clone")
		return
	}
	s.serveClone(w, r, s.store.CloneSnapshot, false)
}
