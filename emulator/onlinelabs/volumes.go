package onlinelabs

import (
	"net/http"

	"github.com/drivecp/drivecp/emulator"
)

// gigabyte is the unit volume sizes are counted in: decimal, as the API
// documents sizes like 10000000000 for "10GB".
const gigabyte = 1_000_000_000

// volumeTypes are the documented volume types: local SSD and local HDD.
var volumeTypes = map[string]bool{"l_ssd": true, "l_hdd": true}

func (s *Server) listVolumes(q *request) {
	var all []volumeJSON
	for _, v := range sorted(s.st.volumes, func(v *volume) int { return v.seq }) {
		if v.org == s.cfg.Organization {
			all = append(all, s.st.volumeJSON(v))
		}
	}
	pg, ok := page(q, all, s.cfg.PageSize)
	if ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"volumes": nonNil(pg)})
	}
}

// nonNil makes an empty list render as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ownVolume returns the organization's volume id, answering 404 itself
// when there is none.
func (s *Server) ownVolume(q *request, id string) (*volume, bool) {
	v, ok := s.st.volumes[id]
	if !ok || v.org != s.cfg.Organization {
		notFound(q.w, "volume")
		return nil, false
	}
	return v, true
}

func (s *Server) getVolume(q *request, id string) {
	if v, ok := s.ownVolume(q, id); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"volume": s.st.volumeJSON(v)})
	}
}

type volumeBody struct {
	Name         *string `json:"name"`
	Organization string  `json:"organization"`
	Size         *int64  `json:"size"`
	VolumeType   *string `json:"volume_type"`
}

func (s *Server) createVolume(q *request) {
	var b volumeBody
	if !decode(q, &b) {
		return
	}
	fields := map[string][]string{}
	if b.Name == nil || *b.Name == "" {
		fields["name"] = []string{"required key not provided"}
	}
	if b.Size == nil {
		fields["size"] = []string{"required key not provided"}
	} else if msg := checkSize(*b.Size); msg != "" {
		fields["size"] = []string{msg}
	}
	if b.VolumeType == nil {
		fields["volume_type"] = []string{"required key not provided"}
	} else if !volumeTypes[*b.VolumeType] {
		fields["volume_type"] = []string{"not a valid value: l_ssd or l_hdd"}
	}
	if b.Organization == "" {
		fields["organization"] = []string{"required key not provided"}
	}
	if len(fields) > 0 {
		invalid(q.w, fields)
		return
	}
	if !s.checkOrganization(q, b.Organization) {
		return
	}
	v := &volume{seq: s.st.next(), id: emulator.NewUUID(), name: *b.Name, org: b.Organization, size: *b.Size,
		volumeType: *b.VolumeType, created: q.now}
	s.st.volumes[v.id] = v
	q.w.Header().Set("Location", "/volumes/"+v.id)
	writeJSON(q.w, http.StatusCreated, map[string]any{"volume": s.st.volumeJSON(v)})
}

func checkSize(size int64) string {
	switch {
	case size < gigabyte:
		return "must be at least 1000000000 (1 GB)"
	case size%gigabyte != 0:
		return "must be a whole number of GB (a multiple of 1000000000)"
	}
	return ""
}

// putVolume renames a volume. The API documents no resize: another size
// is refused.
func (s *Server) putVolume(q *request, id string) {
	v, ok := s.ownVolume(q, id)
	if !ok {
		return
	}
	var b volumeBody
	if !decode(q, &b) {
		return
	}
	fields := map[string][]string{}
	if b.Name != nil && *b.Name == "" {
		fields["name"] = []string{"length of value must be at least 1"}
	}
	if b.Size != nil && *b.Size != v.size {
		fields["size"] = []string{"the size of a volume cannot be changed"}
	}
	if b.VolumeType != nil && *b.VolumeType != v.volumeType {
		fields["volume_type"] = []string{"the type of a volume cannot be changed"}
	}
	if len(fields) > 0 {
		invalid(q.w, fields)
		return
	}
	if b.Organization != "" && !s.checkOrganization(q, b.Organization) {
		return
	}
	if b.Name != nil {
		v.name = *b.Name
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"volume": s.st.volumeJSON(v)})
}

func (s *Server) deleteVolume(q *request, id string) {
	v, ok := s.ownVolume(q, id)
	if !ok {
		return
	}
	if v.server != "" {
		refused(q.w, "The volume is attached to server "+v.server+": detach it first")
		return
	}
	delete(s.st.volumes, id)
	q.w.WriteHeader(http.StatusNoContent)
}
