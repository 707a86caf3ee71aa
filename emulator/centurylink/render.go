package centurylink

import (
	"time"
)

// The JSON shapes of the API's answers, as the CenturyLink API walkthrough shows them.

type link struct {
	Rel   string   `json:"rel"`
	Href  string   `json:"href"`
	ID    string   `json:"id,omitempty"`
	Name  string   `json:"name,omitempty"`
	Verbs []string `json:"verbs,omitempty"`
}

type changeInfo struct {
	CreatedDate  string `json:"createdDate"`
	CreatedBy    string `json:"createdBy"`
	ModifiedDate string `json:"modifiedDate"`
	ModifiedBy   string `json:"modifiedBy"`
}

type groupJSON struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Description  string      `json:"description"`
	LocationID   string      `json:"locationId"`
	Type         string      `json:"type"`
	Status       string      `json:"status"`
	ServersCount int         `json:"serversCount"`
	Groups       []groupJSON `json:"groups"`
	Links        []link      `json:"links"`
	ChangeInfo   changeInfo  `json:"changeInfo"`
	CustomFields []any       `json:"customFields"`
}

type diskJSON struct {
	ID             string   `json:"id"`
	SizeGB         int      `json:"sizeGB"`
	PartitionPaths []string `json:"partitionPaths"`
}

type partitionJSON struct {
	SizeGB float64 `json:"sizeGB"`
	Path   string  `json:"path"`
}

type snapshotJSON struct {
	Name  string `json:"name"`
	Links []link `json:"links"`
}

type detailsJSON struct {
	IPAddresses       []map[string]string `json:"ipAddresses"`
	AlertPolicies     []any               `json:"alertPolicies"`
	CPU               int                 `json:"cpu"`
	DiskCount         int                 `json:"diskCount"`
	HostName          string              `json:"hostName"`
	InMaintenanceMode bool                `json:"inMaintenanceMode"`
	MemoryMB          int                 `json:"memoryMB"`
	PowerState        string              `json:"powerState"`
	StorageGB         int                 `json:"storageGB"`
	Disks             []diskJSON          `json:"disks"`
	Partitions        []partitionJSON     `json:"partitions"`
	Snapshots         []snapshotJSON      `json:"snapshots"`
	CustomFields      []any               `json:"customFields"`
}

type serverJSON struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	GroupID     string       `json:"groupId"`
	IsTemplate  bool         `json:"isTemplate"`
	LocationID  string       `json:"locationId"`
	OSType      string       `json:"osType"`
	OS          string       `json:"os"`
	Status      string       `json:"status"`
	Details     *detailsJSON `json:"details,omitempty"`
	Type        string       `json:"type"`
	StorageType string       `json:"storageType"`
	ChangeInfo  changeInfo   `json:"changeInfo"`
	Links       []link       `json:"links"`
}

// queued is one server's item in the answer to a server operation.
type queued struct {
	Server       string       `json:"server"`
	IsQueued     bool         `json:"isQueued"`
	Links        []statusLink `json:"links,omitempty"`
	ErrorMessage string       `json:"errorMessage,omitempty"`
}

func (e *Emulator) changeInfo(created, modified time.Time) changeInfo {
	return changeInfo{CreatedDate: created.UTC().Format(time.RFC3339), CreatedBy: e.cfg.Username,
		ModifiedDate: modified.UTC().Format(time.RFC3339), ModifiedBy: e.cfg.Username}
}

func (e *Emulator) renderGroup(g *group) groupJSON {
	out := groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, LocationID: e.cfg.Location,
		Type: g.Type, Status: "active", Groups: []groupJSON{}, CustomFields: []any{},
		Links:      []link{{Rel: "self", Href: "/v2/groups/" + e.cfg.Alias + "/" + g.ID, Verbs: []string{"GET", "PATCH", "DELETE"}}},
		ChangeInfo: e.changeInfo(time.Unix(1420070400, 0), time.Unix(1420070400, 0))}
	if g.Parent != "" {
		out.Links = append(out.Links, link{Rel: "parentGroup", Href: "/v2/groups/" + e.cfg.Alias + "/" + g.Parent, ID: g.Parent})
	}
	for _, s := range e.servers {
		if s.GroupID == g.ID {
			out.ServersCount++
			out.Links = append(out.Links, link{Rel: "server", Href: "/v2/servers/" + e.cfg.Alias + "/" + s.Name, ID: s.Name})
		}
	}
	for _, c := range g.Children {
		out.Groups = append(out.Groups, e.renderGroup(e.groups[c]))
	}
	return out
}

func (e *Emulator) renderServer(s *server) serverJSON {
	self := "/v2/servers/" + e.cfg.Alias + "/" + s.Name
	out := serverJSON{ID: s.ID, Name: s.Name, Description: s.Description, GroupID: s.GroupID,
		LocationID: e.cfg.Location, OSType: s.Template.OS, OS: s.Template.OSType, Status: s.Status,
		Type: s.Type, StorageType: s.StorageType, ChangeInfo: e.changeInfo(s.Created, s.Modified),
		Links: []link{
			{Rel: "self", Href: self, ID: s.Name, Verbs: []string{"GET", "PATCH", "DELETE"}},
			{Rel: "group", Href: "/v2/groups/" + e.cfg.Alias + "/" + s.GroupID, ID: s.GroupID},
		}}
	if s.Status == "underConstruction" {
		// The seed shows no details before the build has succeeded.
		return out
	}
	d := &detailsJSON{IPAddresses: []map[string]string{{"internal": s.IP}}, AlertPolicies: []any{},
		CPU: s.CPU, DiskCount: len(s.Disks), MemoryMB: s.MemoryGB * 1024, PowerState: s.Power,
		Disks: []diskJSON{}, Partitions: []partitionJSON{}, Snapshots: []snapshotJSON{}, CustomFields: []any{}}
	for _, k := range s.Disks {
		d.StorageGB += k.SizeGB
		paths := []string{}
		if k.Path != "" {
			paths = append(paths, k.Path)
			d.Partitions = append(d.Partitions, partitionJSON{SizeGB: float64(k.SizeGB) - 0.004, Path: k.Path})
		}
		d.Disks = append(d.Disks, diskJSON{ID: k.ID, SizeGB: k.SizeGB, PartitionPaths: paths})
	}
	if sn := s.Snapshot; sn != nil {
		href := self + "/snapshots/" + itoa(sn.ID)
		d.Snapshots = append(d.Snapshots, snapshotJSON{Name: sn.Name, Links: []link{
			{Rel: "self", Href: href},
			{Rel: "delete", Href: href},
			{Rel: "restore", Href: href + "/restore"},
		}})
	}
	out.Details = d
	return out
}
