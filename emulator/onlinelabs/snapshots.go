package onlinelabs

import (
	"net/http"

	"github.com/drivecp/drivecp/emulator"
)

func (s *Server) listSnapshots(q *request) {
	var all []snapshotJSON
	for _, sn := range sorted(s.st.snapshots, func(sn *snapshot) int { return sn.seq }) {
		if sn.org == s.cfg.Organization {
			all = append(all, snapshotToJSON(sn))
		}
	}
	if pg, ok := page(q, all, s.cfg.PageSize); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"snapshots": nonNil(pg)})
	}
}

func (s *Server) ownSnapshot(q *request, id string) (*snapshot, bool) {
	sn, ok := s.st.snapshots[id]
	if !ok || sn.org != s.cfg.Organization {
		notFound(q.w, "snapshot")
		return nil, false
	}
	return sn, true
}

func (s *Server) getSnapshot(q *request, id string) {
	if sn, ok := s.ownSnapshot(q, id); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"snapshot": snapshotToJSON(sn)})
	}
}

type snapshotBody struct {
	Name         *string `json:"name"`
	Organization string  `json:"organization"`
	VolumeID     string  `json:"volume_id"`
}

func (s *Server) createSnapshot(q *request) {
	var b snapshotBody
	if !decode(q, &b) {
		return
	}
	fields := map[string][]string{}
	if b.Name == nil || *b.Name == "" {
		fields["name"] = []string{"required key not provided"}
	}
	if b.Organization == "" {
		fields["organization"] = []string{"required key not provided"}
	}
	v, found := s.st.volumes[b.VolumeID]
	switch {
	case b.VolumeID == "":
		fields["volume_id"] = []string{"required key not provided"}
	case !found || v.org != s.cfg.Organization:
		fields["volume_id"] = []string{"volume " + b.VolumeID + " not found"}
	}
	if len(fields) > 0 {
		invalid(q.w, fields)
		return
	}
	if !s.checkOrganization(q, b.Organization) {
		return
	}
	sn := &snapshot{seq: s.st.next(), id: emulator.NewUUID(), name: *b.Name, org: b.Organization, base: v.id, baseName: v.name,
		size: v.size, volumeType: v.volumeType, state: "snapshotting", readyAt: q.now.Add(s.cfg.OperationTime), created: q.now}
	s.st.snapshots[sn.id] = sn
	q.w.Header().Set("Location", "/snapshots/"+sn.id)
	writeJSON(q.w, http.StatusCreated, map[string]any{"snapshot": snapshotToJSON(sn)})
}

// putSnapshot renames a snapshot (the documentation's example moves it to
// another organization, which the emulator, with one, refuses).
func (s *Server) putSnapshot(q *request, id string) {
	sn, ok := s.ownSnapshot(q, id)
	if !ok {
		return
	}
	var b snapshotBody
	if !decode(q, &b) {
		return
	}
	if b.Name != nil && *b.Name == "" {
		invalid(q.w, map[string][]string{"name": {"length of value must be at least 1"}})
		return
	}
	if b.Organization != "" && !s.checkOrganization(q, b.Organization) {
		return
	}
	if b.Name != nil {
		sn.name = *b.Name
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"snapshot": snapshotToJSON(sn)})
}

func (s *Server) deleteSnapshot(q *request, id string) {
	sn, ok := s.ownSnapshot(q, id)
	if !ok {
		return
	}
	for _, im := range sorted(s.st.images, func(im *image) int { return im.seq }) {
		if im.root == sn.id {
			refused(q.w, "The snapshot is the root volume of image "+im.id+": delete the image first")
			return
		}
	}
	delete(s.st.snapshots, id)
	q.w.WriteHeader(http.StatusNoContent)
}
