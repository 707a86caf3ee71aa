package api2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// call is one request the fake API saw.
type call struct {
	Method, Path, Query string
	Body                string
}

// fakeAPI answers with handler and records every request.
type fakeAPI struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeAPI) record(r *http.Request) call {
	body, _ := io.ReadAll(r.Body)
	c := call{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/api/2.0"), Query: r.URL.RawQuery, Body: string(body)}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	return c
}

func (f *fakeAPI) all() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func newFake(t *testing.T, h func(w http.ResponseWriter, c call)) (*Client, *fakeAPI) {
	t.Helper()
	f := &fakeAPI{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, f.record(r))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.Client(), srv.URL+"/api/2.0/", "")
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func seedDrive(uuid, name string, size int64, status string) map[string]any {
	return map[string]any{
		"affinities": []string{}, "allow_multimount": false, "grantees": []any{}, "jobs": []any{},
		"licenses": []any{}, "media": "disk", "meta": map[string]string{}, "mounted_on": []any{},
		"name": name, "owner": map[string]string{"resource_uri": "/api/2.0/user/5b4a69a3/", "uuid": "5b4a69a3"},
		"permissions": []any{}, "resource_uri": "/api/2.0/drives/" + uuid + "/",
		"runtime": map[string]any{"is_snapshotable": true, "snapshots_allocated_size": 0, "storage_type": "dssd"},
		"size":    size, "snapshots": []any{}, "status": status, "storage_type": "dssd", "tags": []any{}, "uuid": uuid,
		"future_field": "kept",
	}
}

func errList(typ, point, msg string) wire.ErrorList { return wire.NewError(typ, point, "%s", msg) }

func TestListDrivesPagesAndFilters(t *testing.T) {
	const total = 5
	c, f := newFake(t, func(w http.ResponseWriter, c call) {
		if c.Path != "/drives/detail/" {
			writeJSON(w, 404, errList("notexist", "", "no such path"))
			return
		}
		q, _ := url.ParseQuery(c.Query)
		off, _ := strconv.Atoi(q.Get("offset"))
		// This server caps pages at 2 objects whatever the limit.
		var objs []any
		for i := off; i < total && i < off+2; i++ {
			status := "unmounted"
			if i == 3 {
				status = "mounted"
			}
			objs = append(objs, seedDrive(fmt.Sprintf("uuid-%d", i), fmt.Sprintf("drive-%d", i), 1<<30, status))
		}
		writeJSON(w, 200, map[string]any{"meta": map[string]int{"limit": 2, "offset": off, "total_count": total}, "objects": objs})
	})
	ctx := context.Background()
	ds, err := c.ListDrives(ctx, providers.DriveFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != total || ds[4].UUID != "uuid-4" || ds[0].Size != 1<<30 || ds[0].StorageType != "dssd" {
		t.Fatalf("got %d drives: %+v", len(ds), ds)
	}
	if raw, ok := ds[0].Raw.(wire.Drive); !ok || raw.Owner == nil {
		t.Errorf("Raw = %#v", ds[0].Raw)
	}
	calls := f.all()
	if len(calls) != 3 || calls[0].Query != "limit=0" || calls[1].Query != "limit=0&offset=2" || calls[2].Query != "limit=0&offset=4" {
		t.Errorf("paging requests: %+v", calls)
	}
	// Filters go to the server and are applied again to what comes back,
	// since this server ignores them.
	ds, err = c.ListDrives(ctx, providers.DriveFilter{Statuses: []string{"mounted"}, Names: []string{"drive-3", "a,b"}, Tags: []string{"t1"}})
	if err != nil || len(ds) != 1 || ds[0].UUID != "uuid-3" {
		t.Fatalf("filtered: %+v, %v", ds, err)
	}
	q, _ := url.ParseQuery(f.all()[3].Query)
	if q.Get("name") != `drive-3,a\,b` || q.Get("status") != "mounted" || q.Get("tag") != "t1" {
		t.Errorf("filter query = %q", f.all()[3].Query)
	}
}

func TestEscapeFilterValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		more bool
		want string
	}{
		{"plain", true, "plain"},
		{"a,b", false, `a\,b`},
		{`name,long\`, true, `name\,long\\`}, // the manual's example
		{`x\`, false, `x\`},
		{`a\,b`, false, `a\\\,b`},
		{`back\slash`, true, `back\slash`},
	} {
		if got := escapeFilterValue(tc.in, tc.more); got != tc.want {
			t.Errorf("escapeFilterValue(%q, %v) = %q, want %q", tc.in, tc.more, got, tc.want)
		}
	}
}

func TestDriveLifecycle(t *testing.T) {
	c, f := newFake(t, func(w http.ResponseWriter, c call) {
		switch c.Method + " " + c.Path {
		case "POST /drives/":
			writeJSON(w, 201, map[string]any{"objects": []any{seedDrive("new", "test_drive_0", 1<<30, "creating")}})
		case "GET /drives/d1/":
			writeJSON(w, 200, seedDrive("d1", "test_drive_1", 1<<30, "unmounted"))
		case "PUT /drives/d1/":
			var def map[string]any
			_ = json.Unmarshal([]byte(c.Body), &def)
			writeJSON(w, 200, def)
		case "POST /drives/d1/action/":
			var def map[string]any
			_ = json.Unmarshal([]byte(c.Body), &def)
			def["status"] = "resizing"
			writeJSON(w, 202, map[string]any{"objects": []any{def}})
		case "DELETE /drives/d1/", "DELETE /drives/":
			w.WriteHeader(204)
		default:
			writeJSON(w, 404, errList("notexist", "", "not found"))
		}
	})
	ctx := context.Background()
	d, err := c.CreateDrive(ctx, providers.DriveSpec{Name: "test_drive_0", Size: 1 << 30, Meta: map[string]string{"k": "v"}})
	if err != nil || d.UUID != "new" || d.Status != "creating" {
		t.Fatalf("CreateDrive = %+v, %v", d, err)
	}
	name := "renamed"
	d, err = c.EditDrive(ctx, "d1", providers.DriveEdit{Name: &name, Tags: []string{"tag-1"}})
	if err != nil || d.Name != "renamed" || len(d.Tags) != 1 || d.Tags[0] != "tag-1" {
		t.Fatalf("EditDrive = %+v, %v", d, err)
	}
	d, err = c.ResizeDrive(ctx, "d1", 2<<30)
	if err != nil || d.Size != 2<<30 || d.Status != "resizing" {
		t.Fatalf("ResizeDrive = %+v, %v", d, err)
	}
	if err := c.DeleteDrives(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDrives(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	calls := f.all()
	if got := calls[0].Body; !strings.Contains(got, `"objects":[{"name":"test_drive_0","size":1073741824,"media":"disk","meta":{"k":"v"}}]`) {
		t.Errorf("create body = %s", got)
	}
	put := calls[2]
	if put.Method != "PUT" || !strings.Contains(put.Body, `"future_field":"kept"`) || !strings.Contains(put.Body, `"name":"renamed"`) ||
		!strings.Contains(put.Body, `"tags":[{"uuid":"tag-1"}]`) || !strings.Contains(put.Body, `"size":1073741824`) {
		t.Errorf("PUT must carry the full definition with changes: %s", put.Body)
	}
	resize := calls[4]
	if resize.Query != "do=resize" || !strings.Contains(resize.Body, `"size":2147483648`) || !strings.Contains(resize.Body, `"media":"disk"`) {
		t.Errorf("resize = %+v", resize)
	}
	if calls[5].Method != "DELETE" || calls[5].Path != "/drives/d1/" || calls[5].Body != "" {
		t.Errorf("single delete = %+v", calls[5])
	}
	if calls[6].Path != "/drives/" || calls[6].Body != `{"objects":[{"uuid":"a"},{"uuid":"b"}]}` {
		t.Errorf("bulk delete = %+v", calls[6])
	}
}

func TestClones(t *testing.T) {
	c, f := newFake(t, func(w http.ResponseWriter, c call) {
		d := seedDrive("clone-1", "test_drive_y", 1<<30, "cloning_dst")
		d["jobs"] = []any{map[string]string{"resource_uri": "/api/2.0/jobs/job-1/", "uuid": "job-1"}}
		switch c.Path {
		case "/drives/src/action/", "/libdrives/lib/action/":
			writeJSON(w, 202, map[string]any{"objects": []any{d}})
		case "/snapshots/snap/action/":
			writeJSON(w, 202, d) // "The response is actually a drive definition"
		default:
			writeJSON(w, 404, errList("notexist", "", "not found"))
		}
	})
	ctx := context.Background()
	d, err := c.CloneDrive(ctx, "src", providers.CloneSpec{Name: "test_drive_y", Avoid: []string{"a1", "a2"}})
	if err != nil || d.UUID != "clone-1" || d.Status != "cloning_dst" || len(d.Jobs) != 1 || d.Jobs[0] != "job-1" {
		t.Fatalf("CloneDrive = %+v, %v", d, err)
	}
	if d, err := c.CloneSnapshot(ctx, "snap", providers.CloneSpec{}); err != nil || d.UUID != "clone-1" {
		t.Fatalf("CloneSnapshot = %+v, %v", d, err)
	}
	if d, err := c.CloneLibDrive(ctx, "lib", providers.CloneSpec{Media: "disk"}); err != nil || d.UUID != "clone-1" {
		t.Fatalf("CloneLibDrive = %+v, %v", d, err)
	}
	calls := f.all()
	if calls[0].Query != "avoid=a1%2Ca2&do=clone" || calls[0].Body != `{"name":"test_drive_y"}` {
		t.Errorf("clone request = %+v", calls[0])
	}
	if calls[1].Body != `{}` || calls[2].Body != `{"media":"disk"}` {
		t.Errorf("clone bodies = %q, %q", calls[1].Body, calls[2].Body)
	}
	if _, err := c.CloneDrive(ctx, "src", providers.CloneSpec{Size: 1}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("clone with size: %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	c, _ := newFake(t, func(w http.ResponseWriter, c call) {
		switch c.Path {
		case "/drives/gone/":
			writeJSON(w, 404, errList("notexist", "", "Object with uuid gone does not exist"))
		case "/drives/locked/":
			w.WriteHeader(401)
		case "/drives/forbidden/":
			writeJSON(w, 403, errList("permission", "", "not allowed"))
		case "/drives/":
			writeJSON(w, 400, errList("validation", "size", "Drive size is below the minimum"))
		case "/jobs/busy/":
			writeJSON(w, 503, errList("concurrency", "", "concurrent update"))
		}
	})
	ctx := context.Background()
	_, err := c.GetDrive(ctx, "gone")
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	if _, err := c.EditDrive(ctx, "locked", providers.DriveEdit{}); !errors.Is(err, providers.ErrAuth) {
		t.Errorf("401: %v", err)
	}
	if _, err := c.ResizeDrive(ctx, "forbidden", 1); !errors.Is(err, providers.ErrPermission) {
		t.Errorf("403: %v", err)
	}
	_, err = c.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 1})
	var apiErr *providers.APIError
	if !errors.Is(err, providers.ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Point != "size" ||
		apiErr.Message != "Drive size is below the minimum" {
		t.Errorf("400: %v", err)
	}
	if _, err := c.GetJob(ctx, "busy"); !providers.IsRetryable(err) {
		t.Errorf("503 concurrency should be retryable: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b", "x?y"} {
		if _, err := c.GetSnapshot(ctx, bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("GetSnapshot(%q) = %v", bad, err)
		}
	}
}

func TestSnapshots(t *testing.T) {
	snap := func(uuid, drive, status string) map[string]any {
		return map[string]any{"allocated_size": nil, "drive": map[string]string{"resource_uri": "/api/2.0/drives/" + drive + "/", "uuid": drive},
			"grantees": []any{}, "meta": map[string]string{}, "name": drive + "__2014-06-05__09_53_28", "owner": nil,
			"permissions": []any{}, "resource_uri": "/api/2.0/snapshots/" + uuid + "/", "status": status, "tags": []any{},
			"timestamp": "2014-06-05 09:53:28.851859+00:00", "uuid": uuid}
	}
	c, f := newFake(t, func(w http.ResponseWriter, c call) {
		switch c.Method + " " + c.Path {
		case "GET /snapshots/detail/":
			writeJSON(w, 200, map[string]any{"meta": map[string]int{"total_count": 2}, "objects": []any{snap("s1", "d1", "available"), snap("s2", "d2", "available")}})
		case "POST /snapshots/":
			writeJSON(w, 201, map[string]any{"objects": []any{snap("s3", "d1", "creating")}})
		case "GET /snapshots/s1/":
			writeJSON(w, 200, snap("s1", "d1", "available"))
		case "PUT /snapshots/s1/":
			var def map[string]any
			_ = json.Unmarshal([]byte(c.Body), &def)
			writeJSON(w, 200, def)
		case "DELETE /snapshots/":
			w.WriteHeader(204)
		default:
			writeJSON(w, 404, errList("notexist", "", "not found"))
		}
	})
	ctx := context.Background()
	ss, err := c.ListSnapshots(ctx, "d1")
	if err != nil || len(ss) != 1 || ss[0].UUID != "s1" || ss[0].Drive != "d1" || ss[0].Timestamp == "" {
		t.Fatalf("ListSnapshots = %+v, %v", ss, err)
	}
	s, err := c.CreateSnapshot(ctx, providers.SnapshotSpec{Target: "d1", Name: "first_snapshot", Meta: map[string]string{"key": "val"}})
	if err != nil || s.UUID != "s3" || s.Status != "creating" {
		t.Fatalf("CreateSnapshot = %+v, %v", s, err)
	}
	name := "first_snapshot_renamed"
	s, err = c.EditSnapshot(ctx, "s1", &name, map[string]string{"new_key": "v"})
	if err != nil || s.Name != name || s.Meta["new_key"] != "v" {
		t.Fatalf("EditSnapshot = %+v, %v", s, err)
	}
	if err := c.DeleteSnapshots(ctx, "s1", "s2"); err != nil {
		t.Fatal(err)
	}
	calls := f.all()
	if calls[0].Query != "drive=d1&limit=0" {
		t.Errorf("list query = %q", calls[0].Query)
	}
	if calls[1].Body != `{"objects":[{"drive":"d1","name":"first_snapshot","meta":{"key":"val"}}]}` {
		t.Errorf("create body = %s", calls[1].Body)
	}
	if calls[4].Body != `{"objects":[{"uuid":"s1"},{"uuid":"s2"}]}` {
		t.Errorf("delete body = %s", calls[4].Body)
	}
}

func TestLibDrivesAndJobs(t *testing.T) {
	c, f := newFake(t, func(w http.ResponseWriter, c call) {
		lib := func(uuid, os string) map[string]any {
			return map[string]any{"uuid": uuid, "name": "Lib " + uuid, "size": 64424509440, "media": "disk", "status": "unmounted",
				"os": os, "distribution": nil, "version": nil, "arch": "64", "owner": nil, "licenses": []any{}}
		}
		job := map[string]any{"uuid": "j1", "operation": "drive_clone", "state": "started", "data": map[string]int{"progress": 40},
			"resources": []string{"/api/2.0/drives/d1/"}, "children": []string{}, "parent": nil,
			"created": "2014-06-05T09:53:28", "last_modified": "2014-06-05T09:53:30"}
		switch c.Path {
		case "/libdrives/":
			writeJSON(w, 200, map[string]any{"meta": map[string]int{"total_count": 2}, "objects": []any{lib("l1", "windows"), lib("l2", "linux")}})
		case "/libdrives/l1/":
			writeJSON(w, 200, lib("l1", "windows"))
		case "/jobs/":
			writeJSON(w, 200, map[string]any{"meta": map[string]int{"total_count": 1}, "objects": []any{job}})
		case "/jobs/j1/":
			writeJSON(w, 200, job)
		}
	})
	ctx := context.Background()
	ls, err := c.ListLibDrives(ctx, "Linux")
	if err != nil || len(ls) != 1 || ls[0].UUID != "l2" {
		t.Fatalf("ListLibDrives = %+v, %v", ls, err)
	}
	if l, err := c.GetLibDrive(ctx, "l1"); err != nil || l.OS != "windows" || l.Arch != "64" || l.Size != 64424509440 {
		t.Fatalf("GetLibDrive = %+v, %v", l, err)
	}
	js, err := c.ListJobs(ctx)
	if err != nil || len(js) != 1 {
		t.Fatalf("ListJobs = %+v, %v", js, err)
	}
	j, err := c.GetJob(ctx, "j1")
	if err != nil || j.Status != "started" || j.State != providers.StateBusy || j.Progress != 40 || j.Operation != "drive_clone" {
		t.Fatalf("GetJob = %+v, %v", j, err)
	}
	if q := f.all()[0].Query; q != "limit=0&os=Linux" {
		t.Errorf("libdrive query = %q", q)
	}
}

func TestCapabilitiesAndLocations(t *testing.T) {
	c, _ := newFake(t, func(w http.ResponseWriter, c call) {
		switch c.Path {
		case "/capabilities/":
			// The manual's spelling for dssd, the wire type's for zadara.
			writeJSON(w, 200, map[string]any{"drives": map[string]any{
				"dssd":   map[string]int64{"max_size": 4391067795456, "min_size": 536870912},
				"zadara": map[string]int64{"max": 5905580032000, "min": 1073741824},
			}, "servers": map[string]any{"cpu": map[string]int{"max": 40000, "min": 250}}})
		case "/locations/":
			writeJSON(w, 200, map[string]any{"meta": map[string]int{"total_count": 1}, "objects": []any{
				map[string]string{"id": "ZRH", "country_code": "CH", "display_name": "Zurich", "api_endpoint": "https://zrh.cloudsigma.com/api/2.0/", "upload_url": "https://direct.zrh.cloudsigma.com/api/2.0/"},
			}})
		}
	})
	ctx := context.Background()
	caps, err := c.Capabilities(ctx)
	if err != nil || caps.Drives.DSSD != (wire.SizeRange{Min: 536870912, Max: 4391067795456}) {
		t.Fatalf("Capabilities = %+v, %v", caps, err)
	}
	r, ok, err := c.DriveSizeRange(ctx, "zadara")
	if err != nil || !ok || r.Min != 1073741824 {
		t.Fatalf("DriveSizeRange(zadara) = %+v, %v, %v", r, ok, err)
	}
	if _, ok, _ := c.DriveSizeRange(ctx, "magnetic"); ok {
		t.Error("unknown storage type reported a range")
	}
	locs, err := c.Locations(ctx)
	if err != nil || len(locs) != 1 || locs[0].UploadURL != "https://direct.zrh.cloudsigma.com/api/2.0/" {
		t.Fatalf("Locations = %+v, %v", locs, err)
	}
}
