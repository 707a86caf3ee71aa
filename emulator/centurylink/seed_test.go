package centurylink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a test clock the emulator reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// seedStep is one request of the CenturyLink API walkthrough as the seed writes it, with
// {{token}}, {{uuid}}, {{op}} and {{group}} standing for the values this
// run hands out, and the answer the seed shows. In the answers, the seed's
// elisions {...} and [...] are written {} and []: "some object", "some
// list".
type seedStep struct {
	name       string
	advance    time.Duration // clock movement before the request
	method     string
	path       string
	body       string
	wantCode   int
	wantBody   string            // JSON; "" for no body
	wantValues map[string]string // dotted path -> exact value the seed shows
	capture    func(t *testing.T, body []byte)
}

func TestSeed002(t *testing.T) {
	clk := &clock{now: time.Date(2015, 4, 15, 10, 0, 0, 0, time.UTC)}
	emu := New(Config{Username: "demouser1", Password: "mypassword", OperationTime: time.Minute, Now: clk.Now})
	ts := httptest.NewServer(emu)
	defer ts.Close()
	vars := map[string]string{"{{group}}": "890312348ddfe311b05f00505682315a"}

	steps := []seedStep{
		{name: "1. authentication", method: "POST", path: "/v2/authentication/login",
			body:       `{"username":"demouser1","password":"mypassword"}`,
			wantCode:   200,
			wantBody:   `{"userName": "demouser1", "accountAlias": "ALIAS", "locationAlias": "WA1", "roles": ["AccountAdmin"], "bearerToken": "VGCV"}`,
			wantValues: map[string]string{"userName": "demouser1", "accountAlias": "ALIAS", "locationAlias": "WA1"},
			capture: func(t *testing.T, b []byte) {
				var v struct{ BearerToken string }
				_ = json.Unmarshal(b, &v)
				vars["{{token}}"] = v.BearerToken
			}},
		{name: "2. deployment capabilities", method: "GET", path: "/v2/datacenters/ALIAS/WA1/deploymentCapabilities",
			wantCode: 200,
			wantBody: `{"dataCenterEnabled": true, "importVMEnabled": true, "supportsPremiumStorage": true, "supportsSharedLoadBalancer": true,
			  "deployableNetworks": [{"name": "My Network", "networkId": "a933432bd1234e84b6c4fa329e48cb8b", "type": "private", "accountID": "ALIAS"}],
			  "templates": [
			    {"name": "RHEL-6-64-TEMPLATE", "osType": "redHat6_64Bit", "description": "RedHat Enterprise Linux 6 | 64-bit", "storageSizeGB": 17, "capabilities": [], "reservedDrivePaths": []},
			    {"name": "WIN2012R2DTC-64", "osType": "windows2012R2DataCenter_64Bit", "description": "Windows 2012 R2 Datacenter Edition | 64-bit", "storageSizeGB": 60, "capabilities": [], "reservedDrivePaths": []}]}`,
			wantValues: map[string]string{"deployableNetworks.0.networkId": "a933432bd1234e84b6c4fa329e48cb8b",
				"templates.0.name": "RHEL-6-64-TEMPLATE", "templates.0.storageSizeGB": "17", "templates.1.storageSizeGB": "60"}},
		{name: "3. data center with group links", method: "GET", path: "/v2/datacenters/ALIAS/WA1?groupLinks=true",
			wantCode: 200,
			wantBody: `{"id": "wa1", "name": "WA1 - US West (Seattle)", "links": [
			  {"rel": "self", "href": "/v2/datacenters/ALIAS/wa1"},
			  {"rel": "deploymentCapabilities", "href": "/v2/datacenters/ALIAS/wa1/deploymentCapabilities"},
			  {"rel": "group", "href": "/v2/groups/ALIAS/890312348ddfe311b05f00505682315a", "id": "890312348ddfe311b05f00505682315a", "name": "WA1 Hardware"},
			  {"rel": "createServer", "href": "/v2/servers/ALIAS", "verbs": ["POST"]}]}`,
			wantValues: map[string]string{"id": "wa1", "links.2.rel": "group", "links.2.id": "890312348ddfe311b05f00505682315a",
				"links.2.href": "/v2/groups/ALIAS/890312348ddfe311b05f00505682315a", "links.3.href": "/v2/servers/ALIAS"}},
		{name: "3. groups", method: "GET", path: "/v2/groups/ALIAS/{{group}}",
			wantCode: 200,
			wantBody: `{"id": "8903fcae8ddfe311b05f00505682315a", "name": "WA1 Hardware", "description": "WA1 Hardware", "locationId": "WA1",
			  "type": "default", "status": "active", "serversCount": 7,
			  "groups": [
			    {"id": "8b03fcae8ddfe311b05f005056812345", "name": "Archive", "description": "", "locationId": "WA1", "type": "archive", "status": "active", "serversCount": 0, "groups": [], "changeInfo": {}, "links": [], "customFields": []},
			    {"id": "8a03fcae8ddfe311b05f005056812345", "name": "Default Group", "description": "", "locationId": "WA1", "type": "default", "status": "active", "serversCount": 0, "groups": [], "changeInfo": {}, "links": [], "customFields": []},
			    {"id": "8d03fcae8ddfe311b05f005056812345", "name": "Templates", "description": "", "locationId": "WA1", "type": "templates", "status": "active", "groups": [], "changeInfo": {}, "links": [], "customFields": []}],
			  "links": [], "changeInfo": {}, "customFields": []}`,
			wantValues: map[string]string{"name": "WA1 Hardware", "groups.1.id": "8a03fcae8ddfe311b05f005056812345", "groups.1.name": "Default Group"}},
		{name: "4. create a server", method: "POST", path: "/v2/servers/ALIAS",
			body: `{
			  "name": "web",
			  "description": "My web server",
			  "groupId": "890312348ddfe311b05f00505682315a",
			  "sourceServerId": "RHEL-6-64-TEMPLATE",
			  "isManagedOS": false,
			  "networkId": "a933432bd1234e84b6c4fa329e48cb8b",
			  "password": "P@ssw0rd1",
			  "cpu": 2,
			  "memoryGB": 4,
			  "type": "standard",
			  "storageType": "standard"
			}`,
			wantCode: 202,
			wantBody: `{"server": "web", "isQueued": true, "links": [
			  {"rel": "status", "href": "/v2/operations/ALIAS/status/wa1-123456", "id": "wa1-123456"},
			  {"rel": "self", "href": "/v2/servers/ALIAS/43f5f0becea84694b1d340d399571234?uuid=True", "id": "43f5f0becea84694b1d340d399571234", "verbs": ["GET"]}]}`,
			wantValues: map[string]string{"server": "web", "isQueued": "true", "links.0.rel": "status", "links.0.id": "wa1-123456",
				"links.0.href": "/v2/operations/ALIAS/status/wa1-123456", "links.1.rel": "self"},
			capture: func(t *testing.T, b []byte) {
				var v struct {
					Links []struct{ Rel, Href, ID string }
				}
				_ = json.Unmarshal(b, &v)
				vars["{{op}}"] = v.Links[0].ID
				vars["{{uuid}}"] = v.Links[1].ID
				if want := "/v2/servers/ALIAS/" + v.Links[1].ID + "?uuid=True"; v.Links[1].Href != want {
					t.Errorf("self link %q, want %q", v.Links[1].Href, want)
				}
			}},
		{name: "get build status", advance: 30 * time.Second, method: "GET", path: "/v2/operations/ALIAS/status/{{op}}",
			wantCode: 200, wantBody: `{ "status":"executing" }`, wantValues: map[string]string{"status": "executing"}},
		{name: "get server under construction", method: "GET", path: "/v2/servers/ALIAS/{{uuid}}?uuid=True",
			wantCode: 200,
			wantBody: `{"id": "wa1ALIASweb01", "name": "WA1ALIASWEB01", "description": "My web server", "groupId": "890312348ddfe311b05f00505682315a",
			  "isTemplate": false, "locationId": "WA1", "osType": "RedHat Enterprise Linux 6 64-bit", "os": "redHat6_64Bit",
			  "status": "underConstruction", "type": "standard", "storageType": "standard", "changeInfo": {}, "links": []}`,
			wantValues: map[string]string{"id": "wa1ALIASweb01", "name": "WA1ALIASWEB01", "status": "underConstruction",
				"osType": "RedHat Enterprise Linux 6 64-bit", "os": "redHat6_64Bit", "details": "<absent>"}},
		{name: "get server built", advance: time.Minute, method: "GET", path: "/v2/servers/ALIAS/{{uuid}}?uuid=True",
			wantCode: 200,
			wantBody: `{"id": "wa1ALIASweb01", "name": "WA1ALIASWEB01", "description": "My web server", "groupId": "890312348ddfe311b05f00505682315a",
			  "isTemplate": false, "locationId": "WA1", "osType": "RedHat Enterprise Linux 6 64-bit", "os": "redHat6_64Bit", "status": "active",
			  "details": {"ipAddresses": [{"internal": "10.20.30.40"}], "alertPolicies": [], "cpu": 2, "diskCount": 3, "hostName": "",
			    "inMaintenanceMode": false, "memoryMB": 4096, "powerState": "started", "storageGB": 17,
			    "disks": [{"id": "0:0", "sizeGB": 1, "partitionPaths": []}, {"id": "0:1", "sizeGB": 2, "partitionPaths": []}, {"id": "0:2", "sizeGB": 14, "partitionPaths": []}],
			    "partitions": [], "snapshots": [], "customFields": []},
			  "type": "standard", "storageType": "standard", "changeInfo": {}, "links": []}`,
			wantValues: map[string]string{"status": "active", "details.cpu": "2", "details.diskCount": "3", "details.memoryMB": "4096",
				"details.powerState": "started", "details.storageGB": "17", "details.disks.0.id": "0:0", "details.disks.0.sizeGB": "1",
				"details.disks.1.id": "0:1", "details.disks.1.sizeGB": "2", "details.disks.2.id": "0:2", "details.disks.2.sizeGB": "14"}},
		{name: "update server description", method: "PATCH", path: "/v2/servers/ALIAS/wa1ALIASweb01",
			body:     `[ { "op":"set", "member":"description", "value":"A very important server" } ]`,
			wantCode: 204},
		{name: "description changed", method: "GET", path: "/v2/servers/ALIAS/wa1ALIASweb01",
			wantCode: 200, wantBody: `{"description": ""}`, wantValues: map[string]string{"description": "A very important server"}},
		{name: "restart server", method: "POST", path: "/v2/operations/ALIAS/servers/reboot",
			body:       `[ "wa1ALIASweb01" ]`,
			wantCode:   200,
			wantBody:   `[{"server": "wa1bryfweb04", "isQueued": true, "links": [{"rel": "status", "href": "/v2/operations/ALIAS/status/wa1-123458", "id": "wa1-146517"}]}]`,
			wantValues: map[string]string{"0.server": "wa1ALIASweb01", "0.isQueued": "true", "0.links.0.rel": "status"},
			capture: func(t *testing.T, b []byte) {
				var v []struct{ Links []struct{ Href, ID string } }
				_ = json.Unmarshal(b, &v)
				vars["{{op}}"] = v[0].Links[0].ID
				if !strings.HasSuffix(v[0].Links[0].Href, "/status/"+v[0].Links[0].ID) {
					t.Errorf("status link %q does not end with its id %q", v[0].Links[0].Href, v[0].Links[0].ID)
				}
			}},
		{name: "restart status", advance: time.Minute, method: "GET", path: "/v2/operations/ALIAS/status/{{op}}",
			wantCode: 200, wantBody: `{ "status":"succeeded" }`, wantValues: map[string]string{"status": "succeeded"}},
	}
	for _, st := range steps {
		clk.Add(st.advance)
		sub := func(s string) string {
			for k, v := range vars {
				s = strings.ReplaceAll(s, k, v)
			}
			return s
		}
		var body io.Reader
		if st.body != "" {
			body = strings.NewReader(st.body)
		}
		req, err := http.NewRequest(st.method, ts.URL+sub(st.path), body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if st.path != "/v2/authentication/login" {
			req.Header.Set("Authorization", "Bearer "+vars["{{token}}"])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != st.wantCode {
			t.Fatalf("%s: %s %s = %d %s, want %d", st.name, st.method, st.path, resp.StatusCode, got, st.wantCode)
		}
		if st.wantBody == "" {
			if len(bytes.TrimSpace(got)) != 0 {
				t.Errorf("%s: body %q, want none", st.name, got)
			}
			continue
		}
		var want, have any
		if err := json.Unmarshal([]byte(st.wantBody), &want); err != nil {
			t.Fatalf("%s: the table's body: %v", st.name, err)
		}
		if err := json.Unmarshal(got, &have); err != nil {
			t.Fatalf("%s: answer is not JSON: %v: %s", st.name, err, got)
		}
		for _, p := range sameShape("", want, have) {
			t.Errorf("%s: %s", st.name, p)
		}
		for path, v := range st.wantValues {
			if g := valueAt(have, path); g != v {
				t.Errorf("%s: %s = %s, want %s", st.name, path, g, v)
			}
		}
		if st.capture != nil {
			st.capture(t, got)
		}
	}
}

// sameShape lists where have differs from want in field names or JSON
// types. An empty list or object in want stands for any contents; a
// non-empty list's elements are compared index by index.
func sameShape(at string, want, have any) []string {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", at, have)}
		}
		var out []string
		for k, wv := range w {
			hv, ok := h[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", at, k))
				continue
			}
			out = append(out, sameShape(at+"."+k, wv, hv)...)
		}
		return out
	case []any:
		h, ok := have.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want a list", at, have)}
		}
		if len(h) < len(w) {
			return []string{fmt.Sprintf("%s: %d elements, want at least %d", at, len(h), len(w))}
		}
		var out []string
		for i := range w {
			out = append(out, sameShape(fmt.Sprintf("%s.%d", at, i), w[i], h[i])...)
		}
		return out
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", have) {
			return []string{fmt.Sprintf("%s: %T, want %T", at, have, want)}
		}
	}
	return nil
}

// valueAt renders the value at a dotted path ("links.0.id"), "<absent>"
// when there is none.
func valueAt(v any, path string) string {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return "<absent>"
			}
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return "<absent>"
			}
			v = x[i]
		default:
			return "<absent>"
		}
	}
	return fmt.Sprint(v)
}

// TestSameShape keeps the seed test honest: a missing field, a changed type
// and a short list are all reported.
func TestSameShape(t *testing.T) {
	var want, have any
	_ = json.Unmarshal([]byte(`{"a": 1, "b": [{"c": "x"}, {"c": "y"}], "d": {}}`), &want)
	_ = json.Unmarshal([]byte(`{"a": "1", "b": [{"e": "x"}], "d": {"z": 1}}`), &have)
	got := sameShape("", want, have)
	if len(got) != 2 || !strings.Contains(strings.Join(got, "\n"), ".a: string, want float64") {
		t.Errorf("sameShape = %q, want the type of .a and the short list .b", got)
	}
	_ = json.Unmarshal([]byte(`{"a": 2, "b": [{"c": "z"}, {"c": "w", "f": 1}], "d": {"z": 1}}`), &have)
	if got := sameShape("", want, have); len(got) != 0 {
		t.Errorf("sameShape of a matching answer = %q", got)
	}
}
