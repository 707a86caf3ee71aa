package cloudsigma

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestV2LibDrives replays the API 2.0 manual's library drives: list with paging and filters, get,
// clone into a drive, and a library drive read through drives/.
func TestV2LibDrives(t *testing.T) {
	t.Parallel()
	c := newV2(t, -1)
	meta, objs := c.list("libdrives/?limit=2")
	if meta.TotalCount != len(libDriveDefs) || meta.Limit != 2 || len(objs) != 2 {
		t.Fatalf("list: %+v %d", meta, len(objs))
	}
	for _, k := range []string{"os", "distribution", "version", "arch", "size", "media", "image_type"} {
		if _, ok := objs[0][k]; !ok {
			t.Fatalf("library drive lacks %s: %v", k, objs[0])
		}
	}
	if meta, _ = c.list("libdrives/detail/?os=linux"); meta.TotalCount != 2 {
		t.Fatalf("os=linux: %+v", meta)
	}
	if meta, objs = c.list("libdrives/?os=linux&distribution=Ubuntu,FreeBSD"); meta.TotalCount != 1 || objs[0]["distribution"] != "Ubuntu" {
		t.Fatalf("os and distribution: %+v %v", meta, objs)
	}
	if meta, _ = c.list("libdrives/?name__icontains=DEBIAN"); meta.TotalCount != 1 {
		t.Fatalf("name__icontains: %+v", meta)
	}
	id := libDriveDefs[0].UUID
	l := v2Decode[wire.LibDrive](t, c.want("GET", "libdrives/"+id+"/", nil, 200))
	if l.UUID != id || l.Name != libDriveDefs[0].Name || l.Size != libDriveSize {
		t.Fatalf("get: %+v", l)
	}
	c.wantError("GET", "libdrives/11111111-2222-4333-8444-555555555555/", nil, 404, wire.ErrTypeNotExist, "uuid")

	// Through drives/: the definition with a null owner.
	var asDrive map[string]any
	if err := json.Unmarshal(c.want("GET", "drives/"+id+"/", nil, 200), &asDrive); err != nil {
		t.Fatal(err)
	}
	if o, ok := asDrive["owner"]; !ok || o != nil || asDrive["uuid"] != id || asDrive["status"] != wire.StatusUnmounted {
		t.Fatalf("library drive as a drive: %v", asDrive)
	}
	// It is not one of the user's drives.
	if meta, _ = c.list("drives/"); meta.TotalCount != 0 {
		t.Fatalf("drives list: %+v", meta)
	}

	// Clone like a drive: objects list, the new drive holds the image.
	b := c.want("POST", "libdrives/"+id+"/action/?do=clone", map[string]any{"name": "my debian"}, 202)
	ll := v2Decode[wire.List[wire.Drive]](t, b)
	if len(ll.Objects) != 1 || ll.Objects[0].Name != "my debian" || ll.Objects[0].Size != libDriveSize || ll.Objects[0].Owner == nil {
		t.Fatalf("clone: %s", b)
	}
	h, err := c.srv.Store().OpenDrive(ll.Objects[0].UUID, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4096)
	_, _ = h.ReadAt(got, 0)
	h.Close()
	if !bytes.Equal(got, LibDriveContent(0)[:4096]) {
		t.Fatal("cloned library drive data differs")
	}
	c.wantError("POST", "libdrives/"+id+"/action/?do=resize", nil, 400, wire.ErrTypeValidation, "do")
	c.wantError("DELETE", "libdrives/"+id+"/", nil, 405, wire.ErrTypeValidation, "")
}

// TestV2CapabilitiesLocations checks that capabilities promise what create
// enforces, and that locations point the direct host at this listener.
func TestV2CapabilitiesLocations(t *testing.T) {
	t.Parallel()
	c := newV2(t, -1)
	var caps wire.Capabilities
	caps = v2Decode[wire.Capabilities](t, c.want("GET", "capabilities/", nil, 200))
	if caps.Drives.DSSD.Min != MinDriveSize || caps.Drives.DSSD.Max != MaxDriveSize {
		t.Fatalf("capabilities %+v", caps)
	}
	c.want("POST", "drives/", map[string]any{"name": "min", "size": caps.Drives.DSSD.Min}, 201)
	c.wantError("POST", "drives/", map[string]any{"name": "under", "size": caps.Drives.DSSD.Min - 1}, 400, wire.ErrTypeValidation, "size")

	meta, objs := c.list("locations/")
	want := c.srv.URL() + "api/2.0/"
	if meta.TotalCount != 1 || objs[0]["id"] != LocationID || objs[0]["upload_url"] != want || objs[0]["api_endpoint"] != want {
		t.Fatalf("locations: %+v %v (want %s)", meta, objs, want)
	}
	// The advertised direct host really takes a direct upload.
	req, _ := http.NewRequest("POST", objs[0]["upload_url"].(string)+"drives/upload/img.raw", bytes.NewReader(make([]byte, 4096)))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.SetBasicAuth(DefaultUser, DefaultPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("upload to upload_url: %d", resp.StatusCode)
	}
}

// TestV2LocationsUnderHandler checks the locations' URLs when the handler
// serves without Start (httptest), where only the request knows the host.
func TestV2LocationsUnderHandler(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir(), Transition: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/api/2.0/locations/", nil)
	req.SetBasicAuth(DefaultUser, DefaultPassword)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l wire.List[wire.Location]
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || len(l.Objects) != 1 || l.Objects[0].UploadURL != ts.URL+"/api/2.0/" {
		t.Fatalf("locations under httptest: %v %+v", err, l)
	}
}

// TestV2ErrorsAndMethods: 401 everywhere without credentials, 405 with
// Allow for a wrong method, 404 notexist for unknown UUIDs, all as JSON
// error lists.
func TestV2ErrorsAndMethods(t *testing.T) {
	t.Parallel()
	c := newV2(t, -1)
	paths := []string{"drives/", "drives/detail/", "drives/x/", "drives/x/action/?do=clone", "snapshots/", "snapshots/x/",
		"libdrives/", "jobs/", "jobs/x/", "capabilities/", "locations/"}
	for _, p := range paths {
		req, _ := http.NewRequest("GET", c.base+p, nil)
		req.SetBasicAuth(DefaultUser, "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var el wire.ErrorList
		err = json.NewDecoder(resp.Body).Decode(&el)
		resp.Body.Close()
		if resp.StatusCode != 401 || err != nil || len(el) != 1 || el[0].ErrorType != wire.ErrTypePermission {
			t.Fatalf("%s without credentials: %d %v %v", p, resp.StatusCode, err, el)
		}
	}
	for _, m := range []struct{ method, path, allow string }{
		{"PUT", "drives/", "DELETE, GET, POST"},
		{"POST", "drives/detail/", "GET"},
		{"POST", "drives/11111111-2222-4333-8444-555555555555/", "DELETE, GET, PUT"},
		{"GET", "drives/11111111-2222-4333-8444-555555555555/action/", "POST"},
		{"DELETE", "jobs/x/", "GET"},
		{"POST", "capabilities/", "GET"},
		{"DELETE", "locations/", "GET"},
	} {
		resp, _ := c.do(m.method, m.path, nil)
		if resp.Header.Get("Allow") != m.allow {
			t.Errorf("%s %s: Allow %q, want %q", m.method, m.path, resp.Header.Get("Allow"), m.allow)
		}
		c.wantError(m.method, m.path, nil, 405, wire.ErrTypeValidation, "")
	}
	unknown := "11111111-2222-4333-8444-555555555555"
	for _, p := range []string{"drives/", "snapshots/", "jobs/", "libdrives/"} {
		c.wantError("GET", p+unknown+"/", nil, 404, wire.ErrTypeNotExist, "uuid")
	}
	c.wantError("POST", "snapshots/"+unknown+"/action/?do=clone", nil, 404, wire.ErrTypeNotExist, "uuid")
	c.wantError("POST", "drives/"+unknown+"/action/?do=resize", map[string]any{"size": MinDriveSize}, 404, wire.ErrTypeNotExist, "uuid")
	// Trailing slashes are optional, HEAD is GET without a body.
	c.want("GET", "drives", nil, 200)
	if resp, b := c.do("HEAD", "drives/", nil); resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, b)
	}
	if resp, b := c.do("OPTIONS", "drives/", nil); resp.StatusCode != 200 || !strings.Contains(string(b), "POST") {
		t.Fatalf("OPTIONS: %d %q", resp.StatusCode, b)
	}
}

func TestSplitOr(t *testing.T) {
	for in, want := range map[string][]string{
		"a":               {"a"},
		"a,b":             {"a", "b"},
		`name\,long\\,n2`: {`name,long\`, "n2"},
		`a\b`:             {`a\b`},
		"":                {""},
		"a,":              {"a", ""},
		`x\\\,y`:          {`x\,y`},
	} {
		if got := splitOr(in); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitOr(%q) = %q, want %q", in, got, want)
		}
	}
}
