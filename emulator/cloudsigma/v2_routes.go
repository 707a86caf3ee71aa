package cloudsigma

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// registerV2Resources registers the API 2.0 resource handlers (drives,
// snapshots, library drives, jobs, capabilities, locations) on s.api. The
// transfer endpoints are registered by registerTransfers; where both match
// a path, the router prefers the pattern with more literal segments, so
// `drives/{uuid}/upload` and `drives/upload/{name...}` keep their handlers.
func (s *Server) registerV2Resources() {
	type m = map[string]http.HandlerFunc
	s.api.handle("drives", m{http.MethodGet: s.v2ListDrives(false), http.MethodPost: s.v2CreateDrives, http.MethodDelete: s.v2DeleteDrives})
	s.api.handle("drives/detail", m{http.MethodGet: s.v2ListDrives(true)})
	s.api.handle("drives/{uuid}", m{http.MethodGet: s.v2GetDrive, http.MethodPut: s.v2EditDrive, http.MethodDelete: s.v2DeleteDrive})
	s.api.handle("drives/{uuid}/action", m{http.MethodPost: s.v2DriveAction})

	s.api.handle("snapshots", m{http.MethodGet: s.v2ListSnapshots, http.MethodPost: s.v2CreateSnapshots, http.MethodDelete: s.v2DeleteSnapshots})
	s.api.handle("snapshots/detail", m{http.MethodGet: s.v2ListSnapshots})
	s.api.handle("snapshots/{uuid}", m{http.MethodGet: s.v2GetSnapshot, http.MethodPut: s.v2EditSnapshot, http.MethodDelete: s.v2DeleteSnapshot})
	s.api.handle("snapshots/{uuid}/action", m{http.MethodPost: s.v2SnapshotAction})

	s.api.handle("libdrives", m{http.MethodGet: s.v2ListLibDrives})
	s.api.handle("libdrives/detail", m{http.MethodGet: s.v2ListLibDrives})
	s.api.handle("libdrives/{uuid}", m{http.MethodGet: s.v2GetLibDrive})
	s.api.handle("libdrives/{uuid}/action", m{http.MethodPost: s.v2LibDriveAction})

	s.api.handle("jobs", m{http.MethodGet: s.v2ListJobs})
	s.api.handle("jobs/detail", m{http.MethodGet: s.v2ListJobs})
	s.api.handle("jobs/{uuid}", m{http.MethodGet: s.v2GetJob})

	s.api.handle("capabilities", m{http.MethodGet: s.v2Capabilities})
	s.api.handle("locations", m{http.MethodGet: s.v2ListLocations})
}

// defaultPageSize is the page size of a list request without `limit`
// (the API's "default_limit": 20).
const defaultPageSize = 20

// isListParam tells the query parameters every list accepts besides
// filters.
func isListParam(name string) bool {
	switch name {
	case "limit", "offset", "fields", "format":
		return true
	}
	return false
}

// filterFunc reports whether v matches one alternative of a filter.
type filterFunc[T any] func(v T, want string) bool

// listOptions says how one kind of resource is listed.
type listOptions[T any] struct {
	// filters maps a query parameter (`name`, `tag`, ...) to its matcher.
	// Parameters that are neither filters nor paging are ignored, as
	// CloudSigma's API does with parameters it does not know.
	filters map[string]filterFunc[T]
	// fields, when not nil, are the only members of each object the list
	// shows unless the request asks for others with `fields=` (the plain
	// drive list is uuid, resource_uri, owner and status).
	fields []string
}

// pageOf parses `limit` and `offset`: limit defaults to 20, and 0 means
// every object.
func pageOf(r *http.Request) (limit, offset int, err error) {
	q := r.URL.Query()
	limit = defaultPageSize
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return 0, 0, invalid("limit", "must be a number of objects, 0 for all; got %q", v)
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, invalid("offset", "must be a zero-based index; got %q", v)
		}
	}
	return limit, offset, nil
}

// splitOr splits one filter value on commas into the alternatives that are
// ORed together. `\,` is a comma that does not split and `\\` a backslash
// (`name\,long\\,name2` is "name,long\" or "name2").
func splitOr(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) && (v[i+1] == ',' || v[i+1] == '\\') {
			cur.WriteByte(v[i+1])
			i++
			continue
		}
		if c == ',' {
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(out, cur.String())
}

// matches applies the request's filters to v: separate parameters, and the
// same parameter given twice, are ANDed; the comma-separated alternatives
// of one value are ORed.
func (o listOptions[T]) matches(q map[string][]string, v T) bool {
	for key, values := range q {
		f, ok := o.filters[key]
		if !ok {
			continue
		}
		for _, val := range values {
			if !slices.ContainsFunc(splitOr(val), func(alt string) bool { return f(v, alt) }) {
				return false
			}
		}
	}
	return true
}

// fieldsOf parses `fields=uuid, status` into member names.
func fieldsOf(r *http.Request) []string {
	var out []string
	for _, v := range r.URL.Query()["fields"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// project keeps only the named members of v's JSON object; names v does not
// have are left out.
func project(v any, fields []string) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		if raw, ok := all[f]; ok {
			out[f] = raw
		}
	}
	return out, nil
}

// serveList answers a list request: filters, then the page, then the
// members asked for, in the `{"meta": ..., "objects": [...]}` envelope.
func serveList[T any](w http.ResponseWriter, r *http.Request, items []T, o listOptions[T]) {
	limit, offset, err := pageOf(r)
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	q := r.URL.Query()
	maps.DeleteFunc(q, func(k string, _ []string) bool { return isListParam(k) })
	matched := make([]T, 0, len(items))
	for _, v := range items {
		if o.matches(q, v) {
			matched = append(matched, v)
		}
	}
	page := matched[min(offset, len(matched)):]
	if limit > 0 && len(page) > limit {
		page = page[:limit]
	}
	fields := fieldsOf(r)
	if len(fields) == 0 {
		fields = o.fields
	}
	objects := make([]any, 0, len(page))
	for _, v := range page {
		if fields == nil {
			objects = append(objects, v)
			continue
		}
		p, err := project(v, fields)
		if err != nil {
			writeV2StoreError(w, fmt.Errorf("emulator: render list: %w", err))
			return
		}
		objects = append(objects, p)
	}
	writeJSON(w, http.StatusOK, wire.List[any]{
		Meta:    &wire.ListMeta{Limit: limit, Offset: offset, TotalCount: len(matched)},
		Objects: objects,
	})
}

// Matchers shared by several resources.

func contains(have, want string) bool { return strings.Contains(have, want) }

func icontains(have, want string) bool {
	return strings.Contains(strings.ToLower(have), strings.ToLower(want))
}

// hasTag matches a tag given by UUID or by resource URI.
func hasTag(tags []wire.Ref, want string) bool {
	want = strings.TrimSuffix(want, "/")
	return slices.ContainsFunc(tags, func(t wire.Ref) bool {
		return t.UUID == want || strings.TrimSuffix(t.ResourceURI, "/") == want
	})
}

// readJSON decodes a request body of at most maxJSONBody bytes into v. A
// body that is not JSON, or whose members have the wrong types, is a
// validation error naming the member where it can.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return invalid("", "reading the request body: %v", err)
	}
	return decodeJSON(b, v)
}

func decodeJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fe // from a member's own UnmarshalJSON
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid(te.Field, "expected %s, got JSON %s", te.Type, te.Value)
		}
		return invalid("", "the request body is not valid JSON: %v", err)
	}
	return nil
}

// readObjects decodes a body that is one object, `{"objects": [...]}` or a
// bare list, into raw objects; an empty body is an empty
// list when optional.
func readObjects(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return nil, invalid("", "reading the request body: %v", err)
	}
	trimmed := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(trimmed, "["):
		var list []json.RawMessage
		if err := decodeJSON(b, &list); err != nil {
			return nil, err
		}
		return list, nil
	case strings.HasPrefix(trimmed, "{"):
		var env map[string]json.RawMessage
		if err := decodeJSON(b, &env); err != nil {
			return nil, err
		}
		if raw, ok := env["objects"]; ok {
			var list []json.RawMessage
			if err := decodeJSON(raw, &list); err != nil {
				return nil, invalid("objects", "must be a list of objects")
			}
			return list, nil
		}
		return []json.RawMessage{json.RawMessage(trimmed)}, nil
	case trimmed == "":
		return nil, invalid("", "the request body is empty")
	}
	return nil, invalid("", "the request body must be a JSON object or list")
}

// readOptionalObject decodes an action's optional body into v: an empty
// body leaves v as it is.
func readOptionalObject(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return invalid("", "reading the request body: %v", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	return decodeJSON(b, v)
}

// readUUIDs decodes the body of a bulk delete: a list of `{"uuid": ...}`
// objects (or of UUID strings), bare or in `{"objects": [...]}`. Each UUID
// is kept once, in order.
func readUUIDs(w http.ResponseWriter, r *http.Request) ([]string, error) {
	objs, err := readObjects(w, r)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, raw := range objs {
		var id string
		if err := json.Unmarshal(raw, &id); err != nil {
			var ref struct {
				UUID string `json:"uuid"`
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				return nil, invalid("objects", "object %d is neither a UUID nor an object with a uuid", i)
			}
			id = ref.UUID
		}
		if id = strings.TrimSpace(id); id == "" {
			return nil, invalid("uuid", "object %d has no uuid", i)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, invalid("objects", "no UUIDs to delete")
	}
	return out, nil
}

// writeNoContent answers 204 with no body, as successful deletes do.
func writeNoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// actionOf returns the `do` of an action request.
func actionOf(r *http.Request) string { return r.URL.Query().Get("do") }

// writeUnknownAction refuses an action the resource does not have.
func writeUnknownAction(w http.ResponseWriter, r *http.Request, known ...string) {
	do := actionOf(r)
	if do == "" {
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "do", "the action is missing: add ?do=%s", strings.Join(known, "|")))
		return
	}
	writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, "do", "unknown action %q; this resource has: %s", do, strings.Join(known, ", ")))
}
