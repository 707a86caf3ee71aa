package cloudsigma

import (
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestV2Snapshots replays the API 2.0 manual's snapshots: create (creating → available by a
// job), list with the drive filter, detail, get, edit, clone to a drive
// (a bare drive definition), delete one and several.
func TestV2Snapshots(t *testing.T) {
	t.Parallel()
	c := newV2(t, 500*time.Millisecond)
	ds := c.createDrives("one", "two")

	b := c.want("POST", "snapshots/", map[string]any{"drive": ds[0].UUID, "meta": map[string]string{"key": "val"}, "name": "first_snapshot"}, 201)
	l := v2Decode[wire.List[wire.Snapshot]](t, b)
	if len(l.Objects) != 1 {
		t.Fatalf("create: %s", b)
	}
	first := l.Objects[0]
	if first.Status != wire.StatusCreating || first.Name != "first_snapshot" || first.Meta["key"] != "val" ||
		first.Drive == nil || first.Drive.UUID != ds[0].UUID || first.Timestamp == "" {
		t.Fatalf("create: %s", b)
	}
	// Still creating: it cannot be cloned yet.
	c.wantError("POST", "snapshots/"+first.UUID+"/action/?do=clone", nil, 503, wire.ErrTypeConcurrency, "status")

	// Several at once, the drive given as a URI or an object; one more of
	// the other drive.
	b = c.want("POST", "snapshots/", map[string]any{"objects": []any{
		map[string]any{"drive": "/api/2.0/drives/" + ds[0].UUID + "/"},
		map[string]any{"drive": map[string]string{"uuid": ds[1].UUID}, "name": "of two", "tags": []string{"aaaaaaaa-2222-4333-8444-555555555555"}},
	}}, 201)
	if l = v2Decode[wire.List[wire.Snapshot]](t, b); len(l.Objects) != 2 || l.Objects[1].Drive.UUID != ds[1].UUID || len(l.Objects[1].Tags) != 1 {
		t.Fatalf("create several: %s", b)
	}
	c.wantError("POST", "snapshots/", map[string]any{"name": "x"}, 400, wire.ErrTypeValidation, "drive")
	c.wantError("POST", "snapshots/", map[string]any{"drive": "11111111-2222-4333-8444-555555555555"}, 404, wire.ErrTypeNotExist, "drive")
	c.wantError("POST", "snapshots/", `[{"drive": `, 400, wire.ErrTypeValidation, "")

	// Lists: full objects on both; drive= filter; the drive's
	// definition lists its snapshots.
	meta, objs := c.list("snapshots/?limit=0")
	if meta.TotalCount != 3 || objs[0]["name"] != "first_snapshot" || objs[0]["status"] == nil {
		t.Fatalf("list: %+v %v", meta, objs)
	}
	if meta, _ = c.list("snapshots/detail/?limit=0&drive=" + ds[0].UUID); meta.TotalCount != 2 {
		t.Fatalf("drive filter: %+v", meta)
	}
	if meta, objs = c.list("snapshots/?drive=" + ds[0].UUID + "," + ds[1].UUID + "&name=of%20two"); meta.TotalCount != 1 || objs[0]["name"] != "of two" {
		t.Fatalf("drive OR and name: %+v", meta)
	}
	if d := c.drive(ds[0].UUID); len(d.Snapshots) != 2 || d.Snapshots[0].UUID != first.UUID {
		t.Fatalf("drive snapshots %+v", d.Snapshots)
	}

	// Edit: the manual's body echoes the drive.
	b = c.want("PUT", "snapshots/"+first.UUID+"/", map[string]any{"drive": ds[0].UUID,
		"meta": map[string]string{"key": "val_changed", "new_key": "new_key_value"}, "name": "first_snapshot_renamed"}, 200)
	sn := v2Decode[wire.Snapshot](t, b)
	if sn.Name != "first_snapshot_renamed" || sn.Meta["new_key"] != "new_key_value" || sn.UUID != first.UUID {
		t.Fatalf("edit: %s", b)
	}
	c.wantError("PUT", "snapshots/"+first.UUID+"/", map[string]any{"drive": ds[1].UUID}, 400, wire.ErrTypeValidation, "drive")

	// The job makes it available.
	jobs := v2Decode[wire.List[wire.Job]](t, c.want("GET", "jobs/?operation=snapshot&resources="+first.UUID, nil, 200))
	if len(jobs.Objects) != 1 {
		t.Fatalf("snapshot jobs %+v", jobs)
	}
	c.waitJob(jobs.Objects[0].UUID)
	if sn = v2Decode[wire.Snapshot](t, c.want("GET", "snapshots/"+first.UUID+"/", nil, 200)); sn.Status != wire.StatusAvailable {
		t.Fatalf("after job: %+v", sn)
	}

	// Clone: the answer is the drive definition itself.
	b = c.want("POST", "snapshots/"+first.UUID+"/action/?do=clone&avoid="+ds[0].UUID, "{}", 202)
	d := v2Decode[wire.Drive](t, b)
	if d.UUID == "" || d.Status != wire.StatusCloningDst || d.Size != ds[0].Size || len(d.Jobs) != 1 {
		t.Fatalf("snapshot clone: %s", b)
	}
	c.waitJob(d.Jobs[0].UUID)
	if got := c.drive(d.UUID); got.Status != wire.StatusUnmounted {
		t.Fatalf("snapshot clone after job: %+v", got)
	}
	c.wantError("POST", "snapshots/"+first.UUID+"/action/?do=revert", nil, 400, wire.ErrTypeValidation, "do")

	// Delete one, then the rest in bulk.
	c.want("DELETE", "snapshots/"+first.UUID+"/", nil, 204)
	c.wantError("GET", "snapshots/"+first.UUID+"/", nil, 404, wire.ErrTypeNotExist, "uuid")
	c.wantError("DELETE", "snapshots/"+first.UUID+"/", nil, 404, wire.ErrTypeNotExist, "uuid")
	_, objs = c.list("snapshots/")
	var rest []map[string]string
	for _, o := range objs {
		rest = append(rest, map[string]string{"uuid": o["uuid"].(string)})
	}
	c.wantError("DELETE", "snapshots/", []map[string]string{rest[0], {"uuid": first.UUID}}, 404, wire.ErrTypeNotExist, "uuid")
	c.want("DELETE", "snapshots/", map[string]any{"objects": rest}, 204)
	if meta, _ = c.list("snapshots/"); meta.TotalCount != 0 {
		t.Fatalf("%d snapshots left", meta.TotalCount)
	}
	// The snapshot's job remains in the history.
	if meta, _ = c.list("jobs/?state=success"); meta.TotalCount < 2 {
		t.Fatalf("job history: %+v", meta)
	}
}
