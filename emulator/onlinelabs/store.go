package onlinelabs

import (
	"cmp"
	"slices"
	"time"
)

// The public image and its root snapshot every emulator starts with: the
// ones the Online Labs API guide lists.
const (
	publicImageID      = "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c"
	publicImageName    = "Ubuntu Trusty (14.04) on SSD 2014.06.04"
	publicSnapshotID   = "c583bf78-ebd5-4ebc-863f-71905d2c39fd"
	publicSnapshotName = "Ubuntu Trusty RootFS snapshot"
	publicOrganization = "cc57d96c-03ac-44a5-bc91-8d1de2bbf8a8"
	publicRootSize     = 20_000_000_000
)

// store is the emulator's state. Objects keep the time they were created
// so lists come out in creation order, as a user reading them expects.
type store struct {
	volumes   map[string]*volume
	servers   map[string]*server
	snapshots map[string]*snapshot
	images    map[string]*image
	tasks     map[string]*task
	seq       int // creation counter, for a stable order
}

type volume struct {
	seq        int
	id, name   string
	org        string
	size       int64
	volumeType string
	server     string // attached server ID, "" when detached
	created    time.Time
}

type server struct {
	seq            int
	id, name, org  string
	image          string
	imageName      string
	tags           []string
	dynamicIP      bool
	state          string // stopped, starting, running, stopping
	target         string // the state a transition ends in
	transitionEnds time.Time
	volumes        map[string]string // slot -> volume ID
	created        time.Time
}

type snapshot struct {
	seq        int
	id, name   string
	org        string
	base       string // volume ID
	baseName   string
	size       int64
	volumeType string
	state      string // snapshotting, available
	readyAt    time.Time
	created    time.Time
}

type image struct {
	seq      int
	id, name string
	org      string
	arch     string
	public   bool
	root     string // snapshot ID
	rootName string
	created  time.Time
}

type task struct {
	seq         int
	id          string
	description string
	hrefFrom    string
	started     time.Time
	ends        time.Time
	status      string // pending, started, success
	progress    int
	terminated  time.Time
}

func newStore(now time.Time) *store {
	st := &store{
		volumes: map[string]*volume{}, servers: map[string]*server{}, snapshots: map[string]*snapshot{},
		images: map[string]*image{}, tasks: map[string]*task{},
	}
	created := time.Date(2014, 6, 4, 12, 38, 32, 534063000, time.UTC)
	st.snapshots[publicSnapshotID] = &snapshot{seq: st.next(), id: publicSnapshotID, name: publicSnapshotName,
		org: publicOrganization, size: publicRootSize, volumeType: "l_ssd", state: "available", created: created}
	st.images[publicImageID] = &image{seq: st.next(), id: publicImageID, name: publicImageName, org: publicOrganization,
		arch: "arm", public: true, root: publicSnapshotID, rootName: publicSnapshotName, created: created}
	return st
}

func (st *store) next() int {
	st.seq++
	return st.seq
}

// advance moves every transition that has had its time along: tasks,
// server power changes and snapshots.
func (st *store) advance(now time.Time, op time.Duration) {
	for _, t := range st.tasks {
		switch {
		case t.status == "success":
		case !now.Before(t.ends):
			t.status, t.progress, t.terminated = "success", 100, t.ends
		case now.Sub(t.started) >= op/4:
			t.status = "started"
			t.progress = int(100 * now.Sub(t.started) / max(op, 1))
		}
	}
	for _, s := range st.servers {
		if s.target != "" && !now.Before(s.transitionEnds) {
			s.state, s.target = s.target, ""
		}
	}
	for _, sn := range st.snapshots {
		if sn.state == "snapshotting" && !now.Before(sn.readyAt) {
			sn.state = "available"
		}
	}
}

// sorted returns the values of m in creation order.
func sorted[T any](m map[string]*T, seq func(*T) int) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *T) int { return cmp.Compare(seq(a), seq(b)) })
	return out
}
