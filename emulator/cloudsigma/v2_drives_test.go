package cloudsigma

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestV2DriveListing replays the API 2.0 manual's drive list and detail,
// paging and filters over 25 drives.
func TestV2DriveListing(t *testing.T) {
	t.Parallel()
	c := newV2(t, -1)
	var ns []string
	for i := range 25 {
		ns = append(ns, fmt.Sprintf("d%02d", i))
	}
	drives := c.createDrives(ns...)

	// Default page: 20 short objects, meta with the total.
	meta, objs := c.list("drives/")
	if meta != (wire.ListMeta{Limit: 20, Offset: 0, TotalCount: 25}) || len(objs) != 20 {
		t.Fatalf("default page: meta %+v, %d objects", meta, len(objs))
	}
	for _, o := range objs {
		keys := slices.Sorted(maps.Keys(o))
		if !slices.Equal(keys, []string{"owner", "resource_uri", "status", "uuid"}) {
			t.Fatalf("list object members %v", keys)
		}
	}
	if objs[0]["uuid"] != drives[0].UUID || objs[0]["status"] != wire.StatusUnmounted ||
		objs[0]["resource_uri"] != "/api/2.0/drives/"+drives[0].UUID+"/" {
		t.Fatalf("first object %v", objs[0])
	}
	if owner, _ := objs[0]["owner"].(map[string]any); owner["uuid"] != OwnerUUID {
		t.Fatalf("owner %v", objs[0]["owner"])
	}

	// limit=0 is everything; offset and limit page; past the end is empty.
	if meta, objs = c.list("drives/?limit=0"); meta.TotalCount != 25 || meta.Limit != 0 || len(objs) != 25 {
		t.Fatalf("limit=0: %+v %d", meta, len(objs))
	}
	if meta, objs = c.list("drives/?offset=20"); meta.Offset != 20 || len(objs) != 5 || objs[0]["uuid"] != drives[20].UUID {
		t.Fatalf("offset=20: %+v %d", meta, len(objs))
	}
	if _, objs = c.list("drives/detail/?limit=3&offset=10"); !slices.Equal(v2Names(objs), []string{"d10", "d11", "d12"}) {
		t.Fatalf("limit=3&offset=10: %v", v2Names(objs))
	}
	if meta, objs = c.list("drives/?offset=30"); meta.TotalCount != 25 || len(objs) != 0 {
		t.Fatalf("offset past end: %+v %d", meta, len(objs))
	}
	c.wantError("GET", "drives/?limit=-1", nil, 400, wire.ErrTypeValidation, "limit")
	c.wantError("GET", "drives/?offset=x", nil, 400, wire.ErrTypeValidation, "offset")

	// Detail shows full definitions; fields= picks members (the manual's
	// `fields=uuid, status` has a space).
	_, objs = c.list("drives/detail/?limit=0")
	if len(objs) != 25 || objs[0]["name"] != "d00" || objs[0]["size"] != float64(MinDriveSize) || objs[0]["media"] != "disk" {
		t.Fatalf("detail: %d %v", len(objs), objs[0])
	}
	for _, k := range []string{"affinities", "allow_multimount", "jobs", "meta", "mounted_on", "runtime", "snapshots", "storage_type", "tags", "licenses"} {
		if _, ok := objs[0][k]; !ok {
			t.Fatalf("detail object lacks %s: %v", k, objs[0])
		}
	}
	_, objs = c.list("drives/?fields=uuid,%20status&limit=0")
	if len(objs) != 25 || !slices.Equal(slices.Sorted(maps.Keys(objs[0])), []string{"status", "uuid"}) {
		t.Fatalf("fields: %v", objs[0])
	}
	if _, objs = c.list("drives/?fields=name&limit=1"); objs[0]["name"] != "d00" || len(objs[0]) != 1 {
		t.Fatalf("fields=name: %v", objs[0])
	}

	// Filters: comma is OR, repeated parameters AND, separate ones AND.
	c.want("PUT", "drives/"+drives[3].UUID+"/", map[string]any{"tags": []string{"11111111-2222-4333-8444-555555555555"}, "media": "cdrom"}, 200)
	c.want("PUT", "drives/"+drives[4].UUID+"/", map[string]any{"name": "a,b\\"}, 200)
	cases := []struct {
		query string
		want  []string
	}{
		{"name=d01", []string{"d01"}},
		{"name=d01,d02", []string{"d01", "d02"}},
		{"name=d01&name=d02", nil},
		{"name=d01,d02&name=d02,d05", []string{"d02"}},
		{"name__contains=d1", []string{"d10", "d11", "d12", "d13", "d14", "d15", "d16", "d17", "d18", "d19"}},
		{"name__contains=d2&name=d20,d01", []string{"d20"}},
		{"uuid=" + drives[7].UUID + "," + drives[9].UUID, []string{"d07", "d09"}},
		{"tag=11111111-2222-4333-8444-555555555555", []string{"d03"}},
		{"media=cdrom", []string{"d03"}},
		{"media=cdrom&name=d04", nil},
		{"status=unmounted&name=d00", []string{"d00"}},
		{`name=a\,b\\,d00`, []string{"d00", `a,b\`}},
		{"unknown=1&name=d05", []string{"d05"}},
	}
	for _, tc := range cases {
		meta, objs := c.list("drives/detail/?limit=0&" + strings.ReplaceAll(tc.query, `\`, "%5C"))
		got := v2Names(objs)
		if meta.TotalCount != len(tc.want) || !slices.Equal(got, tc.want) {
			t.Errorf("?%s: %v (total %d), want %v", tc.query, got, meta.TotalCount, tc.want)
		}
	}
	// Paging applies after filtering, and the short list filters too.
	if meta, objs = c.list("drives/?name__contains=d1&limit=4&offset=8"); meta.TotalCount != 10 || len(objs) != 2 || objs[0]["uuid"] != drives[18].UUID {
		t.Fatalf("filtered page: %+v %v", meta, objs)
	}
}

// TestV2DriveCreate replays the API 2.0 manual's three body forms of a create and checks
// validation answers.
func TestV2DriveCreate(t *testing.T) {
	t.Parallel()
	c := newV2(t, -1)
	one := map[string]any{"media": "disk", "name": "test_drive_0", "size": 1073741824}

	b := c.want("POST", "drives/", one, 201)
	l := v2Decode[wire.List[wire.Drive]](t, b)
	if len(l.Objects) != 1 || l.Objects[0].Name != "test_drive_0" || l.Objects[0].Size != 1073741824 ||
		l.Objects[0].StorageType != "dssd" || l.Objects[0].UUID == "" || l.Objects[0].Owner == nil {
		t.Fatalf("create one: %s", b)
	}
	two := []map[string]any{
		{"media": "disk", "name": "test_drive_1", "size": 1073741824},
		{"media": "cdrom", "name": "test_drive_2", "size": 1073741824, "meta": map[string]string{"k": "v"}},
	}
	if l = v2Decode[wire.List[wire.Drive]](t, c.want("POST", "drives/", two, 201)); len(l.Objects) != 2 || l.Objects[1].Media != "cdrom" || l.Objects[1].Meta["k"] != "v" {
		t.Fatalf("create bare list: %+v", l)
	}
	if l = v2Decode[wire.List[wire.Drive]](t, c.want("POST", "drives/", map[string]any{"objects": two}, 201)); len(l.Objects) != 2 {
		t.Fatalf("create objects: %+v", l)
	}
	if got := c.drive(l.Objects[0].UUID); got.Name != "test_drive_1" || got.Status != wire.StatusUnmounted {
		t.Fatalf("created drive reads back as %+v", got)
	}

	bad := []struct {
		body  any
		point string
	}{
		{map[string]any{"size": MinDriveSize}, "name"},
		{map[string]any{"name": "  ", "size": MinDriveSize}, "name"},
		{map[string]any{"name": "x"}, "size"},
		{map[string]any{"name": "x", "size": MinDriveSize - 1}, "size"},
		{map[string]any{"name": "x", "size": MaxDriveSize + 1}, "size"},
		{map[string]any{"name": "x", "size": "big"}, "size"},
		{map[string]any{"name": "x", "size": MinDriveSize, "media": "tape"}, "media"},
		{map[string]any{"name": "x", "size": MinDriveSize, "storage_type": "zadara"}, "storage_type"},
		{map[string]any{"name": "x", "size": MinDriveSize, "meta": map[string]any{"n": 1}}, "meta"},
		{map[string]any{"name": "x", "size": MinDriveSize, "tags": []any{3}}, "tags"},
		{[]map[string]any{{"name": "ok", "size": MinDriveSize}, {"name": "", "size": MinDriveSize}}, "name"},
		{map[string]any{"objects": "nope"}, "objects"},
		{[]any{}, "objects"},
	}
	for _, tc := range bad {
		c.wantError("POST", "drives/", tc.body, 400, wire.ErrTypeValidation, tc.point)
	}
	for _, body := range []string{`{"name": "x",`, `"just a string"`, ``} {
		c.wantError("POST", "drives/", body, 400, wire.ErrTypeValidation, "")
	}
	// Nothing of a refused batch was created.
	if meta, _ := c.list("drives/"); meta.TotalCount != 5 {
		t.Fatalf("%d drives after refused creates, want 5", meta.TotalCount)
	}
}

// TestV2DriveEditResizeDelete replays the manual's get, edit, resize and
// delete of drives.
func TestV2DriveEditResizeDelete(t *testing.T) {
	t.Parallel()
	c := newV2(t, 500*time.Millisecond)
	ds := c.createDrives("a", "b", "c", "d")
	a := ds[0]

	// Edit: the manual's body; absent members keep their values.
	b := c.want("PUT", "drives/"+a.UUID+"/", map[string]any{"media": "cdrom", "name": "test_drive_y", "size": MinDriveSize}, 200)
	d := v2Decode[wire.Drive](t, b)
	if d.Name != "test_drive_y" || d.Media != "cdrom" || d.Size != MinDriveSize || d.Status != wire.StatusUnmounted {
		t.Fatalf("edit: %s", b)
	}
	d = v2Decode[wire.Drive](t, c.want("PUT", "drives/"+a.UUID+"/", map[string]any{
		"meta": map[string]string{"description": "x"}, "tags": []any{"/api/2.0/tags/aaaaaaaa-2222-4333-8444-555555555555/"}}, 200))
	if d.Name != "test_drive_y" || d.Meta["description"] != "x" || len(d.Tags) != 1 || d.Tags[0].UUID != "aaaaaaaa-2222-4333-8444-555555555555" {
		t.Fatalf("partial edit: %+v", d)
	}
	if got := c.drive(a.UUID); got.Name != "test_drive_y" || got.Meta["description"] != "x" {
		t.Fatalf("edit not kept: %+v", got)
	}
	c.wantError("PUT", "drives/"+a.UUID+"/", map[string]any{"size": MinDriveSize - 1}, 400, wire.ErrTypeValidation, "size")
	c.wantError("PUT", "drives/"+a.UUID+"/", map[string]any{"storage_type": "zadara"}, 400, wire.ErrTypeValidation, "storage_type")
	c.wantError("PUT", "drives/"+a.UUID+"/", map[string]any{"name": ""}, 400, wire.ErrTypeValidation, "name")
	c.wantError("PUT", "drives/"+a.UUID+"/", `not json`, 400, wire.ErrTypeValidation, "")
	// A larger size by PUT grows the drive at once (no server).
	if d = v2Decode[wire.Drive](t, c.want("PUT", "drives/"+a.UUID+"/", map[string]any{"size": 2 * MinDriveSize}, 200)); d.Size != 2*MinDriveSize {
		t.Fatalf("grow by PUT: %+v", d)
	}

	// Resize: a full definition; smaller is refused; larger is 202 with
	// the drive resizing and a job.
	full := c.drive(a.UUID)
	full.Size = MinDriveSize
	c.wantError("POST", "drives/"+a.UUID+"/action/?do=resize", full, 400, wire.ErrTypeValidation, "size")
	c.wantError("POST", "drives/"+a.UUID+"/action/?do=resize", map[string]any{"name": "x"}, 400, wire.ErrTypeValidation, "size")
	full.Size = 4 * MinDriveSize
	full.Name = "resized"
	b = c.want("POST", "drives/"+a.UUID+"/action/?do=resize", full, 202)
	l := v2Decode[wire.List[wire.Drive]](t, b)
	if len(l.Objects) != 1 || l.Objects[0].Status != wire.StatusResizing || l.Objects[0].Size != 4*MinDriveSize ||
		l.Objects[0].Name != "resized" || len(l.Objects[0].Jobs) == 0 {
		t.Fatalf("resize: %s", b)
	}
	// Busy while resizing: another resize waits (503 concurrency).
	c.wantError("POST", "drives/"+a.UUID+"/action/?do=resize", full, 503, wire.ErrTypeConcurrency, "status")
	job := c.waitJob(l.Objects[0].Jobs[len(l.Objects[0].Jobs)-1].UUID)
	if job.Operation != "drive_resize" {
		t.Fatalf("resize job %+v", job)
	}
	if got := c.drive(a.UUID); got.Status != wire.StatusUnmounted || got.Size != 4*MinDriveSize || got.Name != "resized" {
		t.Fatalf("after resize: %+v", got)
	}
	c.wantError("POST", "drives/"+a.UUID+"/action/?do=explode", nil, 400, wire.ErrTypeValidation, "do")
	c.wantError("POST", "drives/"+a.UUID+"/action/", nil, 400, wire.ErrTypeValidation, "do")

	// Delete one, then several; unknown UUIDs are 404 notexist and delete
	// nothing.
	if resp, body := c.do("DELETE", "drives/"+a.UUID+"/", nil); resp.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("delete: %d %q", resp.StatusCode, body)
	}
	c.wantError("GET", "drives/"+a.UUID+"/", nil, 404, wire.ErrTypeNotExist, "uuid")
	c.wantError("DELETE", "drives/"+a.UUID+"/", nil, 404, wire.ErrTypeNotExist, "uuid")
	c.wantError("PUT", "drives/"+a.UUID+"/", map[string]any{"name": "x"}, 404, wire.ErrTypeNotExist, "uuid")
	c.wantError("DELETE", "drives/", map[string]any{"objects": []map[string]string{{"uuid": ds[1].UUID}, {"uuid": a.UUID}}}, 404, wire.ErrTypeNotExist, "uuid")
	if meta, _ := c.list("drives/"); meta.TotalCount != 3 {
		t.Fatalf("a failed bulk delete deleted something: %d left", meta.TotalCount)
	}
	c.wantError("DELETE", "drives/", `{"objects": []}`, 400, wire.ErrTypeValidation, "objects")
	c.want("DELETE", "drives/", map[string]any{"objects": []map[string]string{{"uuid": ds[1].UUID}, {"uuid": ds[2].UUID}}}, 204)
	c.want("DELETE", "drives/", []map[string]string{{"uuid": ds[3].UUID}}, 204)
	if meta, _ := c.list("drives/"); meta.TotalCount != 0 {
		t.Fatalf("%d drives left after bulk deletes", meta.TotalCount)
	}
}

// TestV2DriveClone replays the manual's drive clone: 202, cloning_dst/cloning_src while the
// job runs, progress to 100, both unmounted after; a busy source cannot be
// deleted meanwhile.
func TestV2DriveClone(t *testing.T) {
	t.Parallel()
	c := newV2(t, 600*time.Millisecond)
	src := c.createDrives("test_drive_x")[0]
	h, err := c.srv.Store().OpenDrive(src.UUID, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("hello clone"), 1<<20); err != nil {
		t.Fatal(err)
	}
	h.Close()

	body := map[string]any{"affinities": []string{}, "media": "cdrom", "name": "test_drive_y", "storage_type": "dssd"}
	avoid := "11111111-2222-4333-8444-555555555555"
	b := c.want("POST", "drives/"+src.UUID+"/action/?do=clone&avoid="+avoid, body, 202)
	l := v2Decode[wire.List[wire.Drive]](t, b)
	if len(l.Objects) != 1 {
		t.Fatalf("clone answer %s", b)
	}
	dst := l.Objects[0]
	if dst.Status != wire.StatusCloningDst || dst.Name != "test_drive_y" || dst.Media != "cdrom" || dst.Size != src.Size ||
		len(dst.Jobs) != 1 || dst.UUID == src.UUID {
		t.Fatalf("clone: %s", b)
	}
	if got := c.drive(src.UUID); got.Status != wire.StatusCloningSrc {
		t.Fatalf("source status %s while cloning", got.Status)
	}
	c.wantError("DELETE", "drives/"+src.UUID+"/", nil, 503, wire.ErrTypeConcurrency, "status")
	c.wantError("DELETE", "drives/"+dst.UUID+"/", nil, 503, wire.ErrTypeConcurrency, "status")
	job := v2Decode[wire.Job](t, c.want("GET", "jobs/"+dst.Jobs[0].UUID+"/", nil, 200))
	if job.State != wire.JobStarted || job.Data.Progress >= 100 || !slices.Contains(job.Resources, dst.UUID) {
		t.Fatalf("running job %+v", job)
	}
	c.waitJob(dst.Jobs[0].UUID)
	if got := c.drive(src.UUID); got.Status != wire.StatusUnmounted {
		t.Fatalf("source status %s after clone", got.Status)
	}
	if got := c.drive(dst.UUID); got.Status != wire.StatusUnmounted {
		t.Fatalf("clone status %s after job", got.Status)
	}
	h, err = c.srv.Store().OpenDrive(dst.UUID, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 11)
	_, _ = h.ReadAt(buf, 1<<20)
	h.Close()
	if string(buf) != "hello clone" {
		t.Fatalf("clone data %q", buf)
	}

	// No body, `{}` and defaults: the name is the source's (naming NONE).
	for _, body := range []any{nil, "{}"} {
		l = v2Decode[wire.List[wire.Drive]](t, c.want("POST", "drives/"+src.UUID+"/action/?do=clone", body, 202))
		if l.Objects[0].Name != "test_drive_x" || l.Objects[0].Media != "disk" {
			t.Fatalf("default clone %+v", l.Objects[0])
		}
		// The store lets one clone of a source run at a time.
		c.waitJob(l.Objects[0].Jobs[0].UUID)
	}
	c.wantError("POST", "drives/"+src.UUID+"/action/?do=clone", map[string]any{"storage_type": "zadara"}, 400, wire.ErrTypeValidation, "storage_type")
	c.wantError("POST", "drives/"+src.UUID+"/action/?do=clone", map[string]any{"media": "floppy"}, 400, wire.ErrTypeValidation, "media")
	c.wantError("POST", "drives/"+src.UUID+"/action/?do=clone&avoid=nope", nil, 400, wire.ErrTypeValidation, "avoid")
	c.wantError("POST", "drives/"+avoid+"/action/?do=clone", nil, 404, wire.ErrTypeNotExist, "uuid")
	// jobs/ lists them all, filterable.
	meta, objs := c.list("jobs/?limit=0&operation=drive_clone")
	if meta.TotalCount != 3 || len(objs) != 3 {
		t.Fatalf("jobs: %+v", meta)
	}
	if meta, _ = c.list("jobs/?resources=" + dst.UUID); meta.TotalCount != 1 {
		t.Fatalf("jobs of the clone: %+v", meta)
	}
}
