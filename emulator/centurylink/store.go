package centurylink

import (
	"fmt"
	"strings"
	"time"
)

// template is a server template of the deployment capabilities, with the
// disks a server built from it gets (its operating-system disks).
type template struct {
	Name, OSType, OS, Description string
	Disks                         []int // sizes in GB
	Reserved                      []string
	Windows                       bool
}

var templates = []template{
	{Name: "RHEL-6-64-TEMPLATE", OSType: "redHat6_64Bit", OS: "RedHat Enterprise Linux 6 64-bit",
		Description: "RedHat Enterprise Linux 6 | 64-bit", Disks: []int{1, 2, 14},
		Reserved: []string{"bin", "boot", "dev", "etc", "home", "lib", "lib64", "lost+found", "media", "mnt",
			"opt", "proc", "root", "sbin", "srv", "sys", "tmp", "usr", "var", "swap"}},
	{Name: "WIN2012R2DTC-64", OSType: "windows2012R2DataCenter_64Bit", OS: "Windows 2012 R2 Datacenter 64-bit",
		Description: "Windows 2012 R2 Datacenter Edition | 64-bit", Disks: []int{60},
		Reserved: []string{"a", "b", "c", "d"}, Windows: true},
}

func findTemplate(name string) (template, bool) {
	for _, t := range templates {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return template{}, false
}

type group struct {
	ID, Name, Description, Type string
	Parent                      string
	Children                    []string
}

func (e *Emulator) seedGroups() {
	loc := e.cfg.Location
	root := &group{ID: "890312348ddfe311b05f00505682315a", Name: loc + " Hardware", Description: loc + " Hardware", Type: "default"}
	kids := []*group{
		{ID: "8b03fcae8ddfe311b05f005056812345", Name: "Archive", Type: "archive",
			Description: "Pay only for the storage consumed by the archived server. No compute or licensing costs are incurred."},
		{ID: "8a03fcae8ddfe311b05f005056812345", Name: "Default Group", Type: "default",
			Description: "The default location for new servers created in your account."},
		{ID: "8d03fcae8ddfe311b05f005056812345", Name: "Templates", Type: "templates",
			Description: "Custom templates provide a set of hardware/software settings that can be used repeatedly to create servers configured with the same settings."},
	}
	e.groups[root.ID] = root
	e.rootGroup = root.ID
	for _, k := range kids {
		k.Parent = root.ID
		root.Children = append(root.Children, k.ID)
		e.groups[k.ID] = k
	}
}

// disk is one disk of a server.
type disk struct {
	ID     string // bus:unit
	SizeGB int
	Path   string // partition path; empty for a raw disk
	OS     bool   // made by the template
}

type snapshot struct {
	ID      int
	Name    string
	Expires time.Time
	Disks   []disk // the disk list when it was taken, for restore
}

type server struct {
	UUID, ID, Name, Description, GroupID string
	Template                             template
	CPU, MemoryGB                        int
	Type, StorageType                    string
	Status                               string // underConstruction, active
	Power                                string // started, stopped, paused
	Disks                                []disk
	Snapshot                             *snapshot
	Snapshotting                         bool // a createSnapshot operation is running
	IP                                   string
	Created, Modified                    time.Time
}

// nextDiskID returns the first free unit on bus 0.
func (s *server) nextDiskID() string {
	for u := 0; ; u++ {
		id := fmt.Sprintf("0:%d", u)
		if s.disk(id) < 0 {
			return id
		}
	}
}

func (s *server) disk(id string) int {
	for i, d := range s.Disks {
		if d.ID == id {
			return i
		}
	}
	return -1
}

// findServer looks a server up by name (any case) or, with byUUID, by UUID.
func (e *Emulator) findServer(id string, byUUID bool) *server {
	for _, s := range e.servers {
		if (byUUID && s.UUID == id) || (!byUUID && (strings.EqualFold(s.Name, id))) {
			return s
		}
	}
	return nil
}

// operation is an asynchronous job. done runs once, when it has succeeded.
type operation struct {
	ID      string
	Start   time.Time
	done    func()
	applied bool
}

// status returns the operation's state at now.
func (o *operation) status(now time.Time, d time.Duration) string {
	el := now.Sub(o.Start)
	switch {
	case d > 0 && el < d/4:
		return "notStarted"
	case el < d:
		return "executing"
	}
	return "succeeded"
}

// startOperation queues an operation whose effect done has when it
// succeeds.
func (e *Emulator) startOperation(done func()) *operation {
	e.opSeq++
	o := &operation{ID: fmt.Sprintf("%s-%d", strings.ToLower(e.cfg.Location), e.opSeq), Start: e.cfg.Now(), done: done}
	e.ops = append(e.ops, o)
	e.advance()
	return o
}

// advance applies the effects of every operation that has succeeded, in
// the order they were started.
func (e *Emulator) advance() {
	now := e.cfg.Now()
	for _, o := range e.ops {
		if !o.applied && o.status(now, e.cfg.OperationTime) == "succeeded" {
			o.applied = true
			if o.done != nil {
				o.done()
			}
		}
	}
}

func (e *Emulator) findOperation(id string) *operation {
	for _, o := range e.ops {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// statusLink is the link an operation is answered with.
type statusLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	ID   string `json:"id"`
}

func (e *Emulator) statusLink(o *operation) statusLink {
	return statusLink{Rel: "status", Href: "/v2/operations/" + e.cfg.Alias + "/status/" + o.ID, ID: o.ID}
}
