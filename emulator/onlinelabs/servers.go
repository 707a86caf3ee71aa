package onlinelabs

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	"github.com/drivecp/drivecp/emulator"
)

func (s *Server) listServers(q *request) {
	var all []serverJSON
	for _, sv := range sorted(s.st.servers, func(sv *server) int { return sv.seq }) {
		if sv.org == s.cfg.Organization {
			all = append(all, s.st.serverJSON(sv))
		}
	}
	if pg, ok := page(q, all, s.cfg.PageSize); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"servers": nonNil(pg)})
	}
}

func (s *Server) ownServer(q *request, id string) (*server, bool) {
	sv, ok := s.st.servers[id]
	if !ok || sv.org != s.cfg.Organization {
		notFound(q.w, "server")
		return nil, false
	}
	return sv, true
}

func (s *Server) getServer(q *request, id string) {
	if sv, ok := s.ownServer(q, id); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"server": s.st.serverJSON(sv)})
	}
}

type serverBody struct {
	Name         string   `json:"name"`
	Image        string   `json:"image"`
	Tags         []string `json:"tags"`
	Organization string   `json:"organization"`
	// Volumes optionally attaches existing volumes at slots from "1" on.
	Volumes map[string]string `json:"volumes"`
}

// createServer makes a stopped server whose root volume (slot "0") is a
// new volume made from the image's root snapshot.
func (s *Server) createServer(q *request) {
	var b serverBody
	if !decode(q, &b) {
		return
	}
	fields := map[string][]string{}
	for k, v := range map[string]string{"name": b.Name, "image": b.Image, "organization": b.Organization} {
		if v == "" {
			fields[k] = []string{"required key not provided"}
		}
	}
	im, found := s.st.images[b.Image]
	if b.Image != "" && (!found || !s.visible(im)) {
		fields["image"] = []string{"image " + b.Image + " not found"}
	}
	for slot, id := range b.Volumes {
		v, ok := s.st.volumes[id]
		switch {
		case slot == "0":
			fields["volumes"] = append(fields["volumes"], "slot 0 holds the image's root volume")
		case !ok || v.org != s.cfg.Organization:
			fields["volumes"] = append(fields["volumes"], "volume "+id+" not found")
		case v.server != "":
			fields["volumes"] = append(fields["volumes"], "volume "+id+" is attached to server "+v.server)
		}
	}
	if len(fields) > 0 {
		invalid(q.w, fields)
		return
	}
	if !s.checkOrganization(q, b.Organization) {
		return
	}
	root := s.st.snapshots[im.root]
	sv := &server{seq: s.st.next(), id: emulator.NewUUID(), name: b.Name, org: b.Organization, image: im.id, imageName: im.name,
		tags: b.Tags, state: "stopped", volumes: map[string]string{}, created: q.now}
	rv := &volume{seq: s.st.next(), id: emulator.NewUUID(), name: im.rootName, org: b.Organization, size: publicRootSize,
		volumeType: "l_ssd", server: sv.id, created: q.now}
	if root != nil {
		rv.size, rv.volumeType = root.size, root.volumeType
	}
	s.st.volumes[rv.id] = rv
	sv.volumes["0"] = rv.id
	for slot, id := range b.Volumes {
		sv.volumes[slot] = id
		s.st.volumes[id].server = sv.id
	}
	s.st.servers[sv.id] = sv
	q.w.Header().Set("Location", "/servers/"+sv.id)
	writeJSON(q.w, http.StatusCreated, map[string]any{"server": s.st.serverJSON(sv)})
}

// putServer updates a server from the whole server object, as the Online Labs API guide's
// step 4 sends it. Read-only fields (id, state, image, IPs) are ignored;
// the volumes map may attach and detach volumes, only while the server is
// stopped. The names inside the volumes map are ignored too: a volume
// keeps its own.
func (s *Server) putServer(q *request, id string) {
	sv, ok := s.ownServer(q, id)
	if !ok {
		return
	}
	var b struct {
		Name            *string                    `json:"name"`
		Tags            []string                   `json:"tags"`
		Organization    string                     `json:"organization"`
		DynamicPublicIP *bool                      `json:"dynamic_public_ip"`
		Volumes         map[string]json.RawMessage `json:"volumes"`
	}
	if !decode(q, &b) {
		return
	}
	fields := map[string][]string{}
	if b.Name != nil && *b.Name == "" {
		fields["name"] = []string{"length of value must be at least 1"}
	}
	want := map[string]string{}
	seen := map[string]bool{}
	for _, slot := range slices.Sorted(maps.Keys(b.Volumes)) {
		var ref struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b.Volumes[slot], &ref); err != nil || ref.ID == "" {
			fields["volumes"] = append(fields["volumes"], "slot "+slot+": an object with the volume's id is required")
			continue
		}
		v, found := s.st.volumes[ref.ID]
		switch {
		case !found || v.org != s.cfg.Organization:
			fields["volumes"] = append(fields["volumes"], "volume "+ref.ID+" not found")
		case v.server != "" && v.server != sv.id:
			fields["volumes"] = append(fields["volumes"], "volume "+ref.ID+" is attached to server "+v.server)
		case seen[ref.ID]:
			fields["volumes"] = append(fields["volumes"], "volume "+ref.ID+" is given twice")
		}
		seen[ref.ID] = true
		want[slot] = ref.ID
	}
	if len(fields) > 0 {
		invalid(q.w, fields)
		return
	}
	if b.Organization != "" && !s.checkOrganization(q, b.Organization) {
		return
	}
	if b.Volumes != nil && !maps.Equal(want, sv.volumes) {
		if sv.state != "stopped" {
			refused(q.w, "The server must be stopped to change its volumes (it is "+sv.state+")")
			return
		}
		for _, vid := range sv.volumes {
			s.st.volumes[vid].server = ""
		}
		for _, vid := range want {
			s.st.volumes[vid].server = sv.id
		}
		sv.volumes = want
	}
	if b.Name != nil {
		sv.name = *b.Name
	}
	if b.Tags != nil {
		sv.tags = b.Tags
	}
	if b.DynamicPublicIP != nil {
		sv.dynamicIP = *b.DynamicPublicIP
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"server": s.st.serverJSON(sv)})
}

func (s *Server) listActions(q *request, id string) {
	if _, ok := s.ownServer(q, id); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"actions": []string{"poweron", "poweroff", "reboot"}})
	}
}

// runAction starts a power action and answers 202 with its task.
func (s *Server) runAction(q *request, id string) {
	sv, ok := s.ownServer(q, id)
	if !ok {
		return
	}
	var b struct {
		Action string `json:"action"`
	}
	if !decode(q, &b) {
		return
	}
	var from, during, to, description string
	switch b.Action {
	case "poweron":
		from, during, to, description = "stopped", "starting", "running", "server_batch_poweron"
	case "poweroff":
		from, during, to, description = "running", "stopping", "stopped", "server_poweroff"
	case "reboot":
		from, during, to, description = "running", "starting", "running", "server_reboot"
	case "":
		invalid(q.w, map[string][]string{"action": {"required key not provided"}})
		return
	default:
		invalid(q.w, map[string][]string{"action": {"not a valid value: poweron, poweroff or reboot"}})
		return
	}
	if sv.state != from {
		refused(q.w, "The server is "+sv.state+": "+b.Action+" needs it "+from)
		return
	}
	t := s.startTask(q, description)
	sv.state, sv.target, sv.transitionEnds = during, to, t.ends
	q.w.Header().Set("Location", "/tasks/"+t.id)
	writeJSON(q.w, http.StatusAccepted, map[string]any{"task": taskToJSON(t)})
}
