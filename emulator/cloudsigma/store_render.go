package cloudsigma

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

func driveURI(id string) string { return "/api/2.0/drives/" + id + "/" }
func snapURI(id string) string  { return "/api/2.0/snapshots/" + id + "/" }
func jobURI(id string) string   { return "/api/2.0/jobs/" + id + "/" }
func libURI(id string) string   { return "/api/2.0/libdrives/" + id + "/" }

func owner() *wire.Ref {
	return &wire.Ref{UUID: OwnerUUID, ResourceURI: "/api/2.0/user/" + OwnerUUID + "/"}
}

// normalizeDrive fills the members the API always sends.
func normalizeDrive(d *wire.Drive) {
	if d.Media == "" {
		d.Media = "disk"
	}
	if d.StorageType == "" {
		d.StorageType = "dssd"
	}
	if d.Affinities == nil {
		d.Affinities = []string{}
	}
	if d.Tags == nil {
		d.Tags = []wire.Ref{}
	}
	if d.Meta == nil {
		d.Meta = map[string]string{}
	}
	for _, p := range []*[]json.RawMessage{&d.Licenses, &d.Grantees, &d.Permissions} {
		if *p == nil {
			*p = []json.RawMessage{}
		}
	}
	d.MountedOn = []wire.Ref{}
	d.Owner = owner()
	d.ResourceURI = driveURI(d.UUID)
}

// driveView is the drive as the API shows it: a deep copy with its jobs and
// snapshots filled in.
func (s *Store) driveView(r *driveRec) wire.Drive {
	d := r.D
	d.Affinities = slices.Clone(d.Affinities)
	d.Tags = slices.Clone(d.Tags)
	d.Meta = maps.Clone(d.Meta)
	d.Licenses = slices.Clone(d.Licenses)
	d.Grantees = slices.Clone(d.Grantees)
	d.Permissions = slices.Clone(d.Permissions)
	d.MountedOn = []wire.Ref{}
	snapshotable := true
	var snapSize int64
	d.Snapshots = []wire.Ref{}
	for _, sn := range sortedBySeq(s.snaps, func(r *snapRec) int64 { return r.Seq }) {
		if sn.S.Drive != nil && sn.S.Drive.UUID == d.UUID {
			d.Snapshots = append(d.Snapshots, wire.Ref{UUID: sn.S.UUID, ResourceURI: snapURI(sn.S.UUID)})
			snapSize += sn.S.AllocatedSize
		}
	}
	d.Jobs = []wire.Ref{}
	for _, j := range sortedBySeq(s.jobs, func(r *jobRec) int64 { return r.Seq }) {
		if slices.Contains(j.J.Resources, d.UUID) {
			d.Jobs = append(d.Jobs, wire.Ref{UUID: j.J.UUID, ResourceURI: jobURI(j.J.UUID)})
		}
	}
	d.Runtime = &wire.DriveRuntime{IsSnapshotable: &snapshotable, SnapshotsAllocatedSize: snapSize, StorageType: d.StorageType}
	return d
}

func sortedBySeq[T any](m map[string]T, seq func(T) int64) []T {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(seq(a), seq(b)) })
	return out
}

func (s *Store) snapView(r *snapRec) wire.Snapshot {
	sn := r.S
	sn.Meta = maps.Clone(sn.Meta)
	sn.Tags = slices.Clone(sn.Tags)
	if sn.Drive != nil {
		ref := *sn.Drive
		sn.Drive = &ref
	}
	return sn
}

func jobView(r *jobRec) wire.Job {
	j := r.J
	j.Resources = slices.Clone(j.Resources)
	j.Children = slices.Clone(j.Children)
	return j
}
