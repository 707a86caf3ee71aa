package centurylink

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

const networkID = "a933432bd1234e84b6c4fa329e48cb8b"

func itoa(n int) string { return strconv.Itoa(n) }

func (e *Emulator) getDataCenter(w http.ResponseWriter, r *http.Request) {
	dc := r.PathValue("dc")
	if !strings.EqualFold(dc, e.cfg.Location) {
		writeError(w, http.StatusNotFound, "Data center "+dc+" was not found.")
		return
	}
	lower := strings.ToLower(e.cfg.Location)
	base := "/v2/datacenters/" + e.cfg.Alias + "/" + lower
	links := []link{{Rel: "self", Href: base}, {Rel: "deploymentCapabilities", Href: base + "/deploymentCapabilities"}}
	if strings.EqualFold(r.URL.Query().Get("groupLinks"), "true") {
		root := e.groups[e.rootGroup]
		links = append(links, link{Rel: "group", Href: "/v2/groups/" + e.cfg.Alias + "/" + root.ID, ID: root.ID, Name: root.Name})
	}
	links = append(links, link{Rel: "createServer", Href: "/v2/servers/" + e.cfg.Alias, Verbs: []string{"POST"}})
	writeJSON(w, http.StatusOK, map[string]any{"id": lower, "name": e.cfg.Location + " - US West (Seattle)", "links": links})
}

func (e *Emulator) getCapabilities(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.PathValue("dc"), e.cfg.Location) {
		writeError(w, http.StatusNotFound, "Data center "+r.PathValue("dc")+" was not found.")
		return
	}
	type tmpl struct {
		Name               string   `json:"name"`
		OSType             string   `json:"osType"`
		Description        string   `json:"description"`
		StorageSizeGB      int      `json:"storageSizeGB"`
		Capabilities       []string `json:"capabilities"`
		ReservedDrivePaths []string `json:"reservedDrivePaths"`
	}
	ts := []tmpl{}
	for _, t := range templates {
		size := 0
		for _, d := range t.Disks {
			size += d
		}
		ts = append(ts, tmpl{Name: t.Name, OSType: t.OSType, Description: t.Description, StorageSizeGB: size,
			Capabilities: []string{"cpuAutoscale"}, ReservedDrivePaths: t.Reserved})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"dataCenterEnabled": true, "importVMEnabled": true, "supportsPremiumStorage": true, "supportsSharedLoadBalancer": true,
		"deployableNetworks": []map[string]string{{"name": "My Network", "networkId": networkID, "type": "private", "accountID": e.cfg.Alias}},
		"templates":          ts,
	})
}

func (e *Emulator) getGroup(w http.ResponseWriter, r *http.Request) {
	g := e.groups[r.PathValue("id")]
	if g == nil {
		writeError(w, http.StatusNotFound, "Group "+r.PathValue("id")+" was not found.")
		return
	}
	writeJSON(w, http.StatusOK, e.renderGroup(g))
}

type serverRequest struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	GroupID        string `json:"groupId"`
	SourceServerID string `json:"sourceServerId"`
	IsManagedOS    bool   `json:"isManagedOS"`
	NetworkID      string `json:"networkId"`
	Password       string `json:"password"`
	CPU            int    `json:"cpu"`
	MemoryGB       int    `json:"memoryGB"`
	Type           string `json:"type"`
	StorageType    string `json:"storageType"`
}

// fieldError is a request field the API refuses.
type fieldError struct{ field, msg string }

func (f *fieldError) Error() string { return f.field + ": " + f.msg }

var serverName = regexp.MustCompile(`^[A-Za-z0-9]{1,6}$`)

// newServer validates req and adds the server, under construction.
func (e *Emulator) newServer(req serverRequest) (*server, error) {
	t, ok := findTemplate(req.SourceServerID)
	switch {
	case !serverName.MatchString(req.Name):
		return nil, &fieldError{"body.name", "The name must be 1 to 6 letters or digits."}
	case e.groups[req.GroupID] == nil:
		return nil, &fieldError{"body.groupId", "The group " + req.GroupID + " was not found."}
	case !ok:
		return nil, &fieldError{"body.sourceServerId", "The template " + req.SourceServerID + " was not found."}
	case req.NetworkID != "" && req.NetworkID != networkID:
		return nil, &fieldError{"body.networkId", "The network " + req.NetworkID + " was not found."}
	case req.CPU < 1 || req.CPU > 16:
		return nil, &fieldError{"body.cpu", "The CPU count must be between 1 and 16."}
	case req.MemoryGB < 1 || req.MemoryGB > 128:
		return nil, &fieldError{"body.memoryGB", "The memory must be between 1 and 128 GB."}
	case req.Type != "standard" && req.Type != "hyperscale":
		return nil, &fieldError{"body.type", "The type must be standard or hyperscale."}
	case req.StorageType != "" && req.StorageType != "standard" && req.StorageType != "premium" && req.StorageType != "hyperscale":
		return nil, &fieldError{"body.storageType", "The storage type must be standard, premium or hyperscale."}
	}
	if req.StorageType == "" {
		req.StorageType = "standard"
	}
	prefix := e.cfg.Location + strings.ToUpper(e.cfg.Alias) + strings.ToUpper(req.Name)
	seq := 1
	for e.findServer(fmt.Sprintf("%s%02d", prefix, seq), false) != nil {
		seq++
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	now := e.cfg.Now()
	s := &server{UUID: hex.EncodeToString(b),
		ID:   fmt.Sprintf("%s%s%s%02d", strings.ToLower(e.cfg.Location), e.cfg.Alias, strings.ToLower(req.Name), seq),
		Name: fmt.Sprintf("%s%02d", prefix, seq), Description: req.Description, GroupID: req.GroupID,
		Template: t, CPU: req.CPU, MemoryGB: req.MemoryGB, Type: req.Type, StorageType: req.StorageType,
		Status: "underConstruction", Power: "stopped", Created: now, Modified: now,
		IP: fmt.Sprintf("10.20.30.%d", 40+len(e.servers))}
	e.servers = append(e.servers, s)
	return s, nil
}

// build finishes a server: its template's disks, running.
func (e *Emulator) build(s *server) {
	s.Status, s.Power = "active", "started"
	s.Disks = nil
	for i, size := range s.Template.Disks {
		s.Disks = append(s.Disks, disk{ID: fmt.Sprintf("0:%d", i), SizeGB: size, OS: true})
	}
}

func (e *Emulator) createServer(w http.ResponseWriter, r *http.Request) {
	var req serverRequest
	if !readJSON(w, r, &req) {
		return
	}
	s, err := e.newServer(req)
	if err != nil {
		fe := err.(*fieldError)
		writeInvalid(w, fe.field, fe.msg)
		return
	}
	o := e.startOperation(func() { e.build(s) })
	writeJSON(w, http.StatusAccepted, map[string]any{"server": req.Name, "isQueued": true, "links": []any{
		e.statusLink(o),
		link{Rel: "self", Href: "/v2/servers/" + e.cfg.Alias + "/" + s.UUID + "?uuid=True", ID: s.UUID, Verbs: []string{"GET"}},
	}})
}

// lookup finds the server of the request's {id}, by UUID with ?uuid=true,
// or answers 404.
func (e *Emulator) lookup(w http.ResponseWriter, r *http.Request) *server {
	id := r.PathValue("id")
	s := e.findServer(id, strings.EqualFold(r.URL.Query().Get("uuid"), "true"))
	if s == nil {
		writeError(w, http.StatusNotFound, "The server "+id+" was not found.")
	}
	return s
}

func (e *Emulator) getServer(w http.ResponseWriter, r *http.Request) {
	if s := e.lookup(w, r); s != nil {
		writeJSON(w, http.StatusOK, e.renderServer(s))
	}
}

type patchOp struct {
	Op     string          `json:"op"`
	Member string          `json:"member"`
	Value  json.RawMessage `json:"value"`
}

type diskSpec struct {
	DiskID string `json:"diskId"`
	SizeGB int    `json:"sizeGB"`
	Type   string `json:"type"`
	Path   string `json:"path"`
}

func (e *Emulator) patchServer(w http.ResponseWriter, r *http.Request) {
	s := e.lookup(w, r)
	if s == nil {
		return
	}
	var ops []patchOp
	if !readJSON(w, r, &ops) {
		return
	}
	// Validate everything first: a refused PATCH changes nothing.
	next := *s
	async := false
	for _, op := range ops {
		if op.Op != "set" {
			writeInvalid(w, "body.op", "The operation "+op.Op+" is not supported; use set.")
			return
		}
		var err error
		switch op.Member {
		case "description":
			err = json.Unmarshal(op.Value, &next.Description)
		case "groupId":
			if err = json.Unmarshal(op.Value, &next.GroupID); err == nil && e.groups[next.GroupID] == nil {
				err = fmt.Errorf("the group %s was not found", next.GroupID)
			}
		case "cpu", "memory", "disks":
			async = true
			if s.Status != "active" {
				writeInvalid(w, "body.member", "The server "+s.Name+" is "+s.Status+"; try again when it is active.")
				return
			}
			switch op.Member {
			case "cpu":
				if err = json.Unmarshal(op.Value, &next.CPU); err == nil && (next.CPU < 1 || next.CPU > 16) {
					err = fmt.Errorf("the CPU count must be between 1 and 16")
				}
			case "memory":
				if err = json.Unmarshal(op.Value, &next.MemoryGB); err == nil && (next.MemoryGB < 1 || next.MemoryGB > 128) {
					err = fmt.Errorf("the memory must be between 1 and 128 GB")
				}
			case "disks":
				var specs []diskSpec
				if err = json.Unmarshal(op.Value, &specs); err == nil {
					next.Disks, err = newDiskList(s, specs)
				}
			}
		default:
			err = fmt.Errorf("the member %q cannot be set", op.Member)
		}
		if err != nil {
			writeInvalid(w, "body."+op.Member, err.Error())
			return
		}
	}
	next.Modified = e.cfg.Now()
	*s = next
	if !async {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusAccepted, e.statusLink(e.startOperation(nil)))
}

const maxDisks = 15

var partitionPath = regexp.MustCompile(`^/?[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

// newDiskList checks a PATCH's whole disk list against the server's disks
// and returns the new list: existing disks in the order given, new disks
// with the next free IDs.
func newDiskList(s *server, specs []diskSpec) ([]disk, error) {
	var out []disk
	seen := map[string]bool{}
	paths := map[string]bool{}
	for _, sp := range specs {
		if sp.DiskID == "" {
			continue
		}
		i := s.disk(sp.DiskID)
		switch {
		case i < 0:
			return nil, fmt.Errorf("the disk %s was not found on %s", sp.DiskID, s.Name)
		case seen[sp.DiskID]:
			return nil, fmt.Errorf("the disk %s is listed twice", sp.DiskID)
		case sp.SizeGB < s.Disks[i].SizeGB:
			return nil, fmt.Errorf("the disk %s cannot shrink from %d GB to %d GB", sp.DiskID, s.Disks[i].SizeGB, sp.SizeGB)
		case sp.SizeGB > 1024:
			return nil, fmt.Errorf("a disk holds at most 1024 GB")
		}
		seen[sp.DiskID] = true
		d := s.Disks[i]
		d.SizeGB = sp.SizeGB
		if d.Path != "" {
			paths[strings.ToLower(d.Path)] = true
		}
		out = append(out, d)
	}
	for _, d := range s.Disks {
		if d.OS && !seen[d.ID] {
			return nil, fmt.Errorf("the operating system disk %s cannot be removed", d.ID)
		}
	}
	tmp := &server{Disks: out}
	for _, sp := range specs {
		if sp.DiskID != "" {
			continue
		}
		if sp.SizeGB < 1 || sp.SizeGB > 1024 {
			return nil, fmt.Errorf("a new disk needs a size between 1 and 1024 GB")
		}
		d := disk{SizeGB: sp.SizeGB}
		switch sp.Type {
		case "", "raw":
			if sp.Path != "" {
				return nil, fmt.Errorf("a raw disk has no path; use type partitioned")
			}
		case "partitioned":
			p := strings.ToLower(sp.Path)
			if !partitionPath.MatchString(sp.Path) {
				return nil, fmt.Errorf("the path %q is not a valid partition path", sp.Path)
			}
			for _, res := range s.Template.Reserved {
				if strings.TrimPrefix(p, "/") == res || strings.HasPrefix(strings.TrimPrefix(p, "/"), res+"/") {
					return nil, fmt.Errorf("the path %s is reserved by the operating system", sp.Path)
				}
			}
			if paths[p] {
				return nil, fmt.Errorf("the path %s is already in use", sp.Path)
			}
			paths[p] = true
			d.Path = sp.Path
		default:
			return nil, fmt.Errorf("the disk type %q is neither raw nor partitioned", sp.Type)
		}
		d.ID = tmp.nextDiskID()
		tmp.Disks = append(tmp.Disks, d)
	}
	if len(tmp.Disks) > maxDisks {
		return nil, fmt.Errorf("a server holds at most %d disks", maxDisks)
	}
	return tmp.Disks, nil
}
