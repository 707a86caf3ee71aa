package e24cloud

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/e24cloud"
)

// machineShape is a machine of the e24cloud API reference's lists, with values of the JSON
// types the seed gives ("id" quoted, cores unquoted, network ids ints).
// state is $vm_state unquoted in the seed but its values are words
// ("online", "offline"), so it is a string.
const machineShape = `{"id":"","label":"","cores":1,"ram":1,"adm":true,
 "system":{"id":"","name":""},"cost_per_hour":1,"state":"","transfer_used":1,
 "owner":{"id":"","name":""},
 "public_interface":{"primary_ip_ipv4address":"","ipv4_addresses":[{"id":"","ipv4_address":""}]},
 "storage_volumes":[{"id":"","size":1,"system_disk":true}],
 "zone":{"id":"","name":""},
 "networks":[{"id":1,"label":"","mac_address":"","type":""}],
 "groups":[]}`

// seedCases are every request of the e24cloud API reference, in its order, with $VM_ID
// substituted and the create body's trailing comma (not JSON) dropped.
var seedCases = []struct {
	name, method, path, body string
	code                     int
	shape                    string
}{
	{"create", "PUT", "/v2/virtual-machines", `{"create_vm": {"cpus": 1, "ram": 1024, "compute_zone_id": "1",
	  "name": "web", "boot_type": "image", "cdrom": "", "os": "1", "password": "pw", "key_id": "1", "user_data": ""}}`,
		200, `{"success":true,"virtual_machine":{"id":1}}`},
	{"list", "GET", "/v2/virtual-machines", "", 200, `{"success":true,"virtual_machines":[` + machineShape + `]}`},
	{"get", "GET", "/v2/virtual-machines/$VM_ID", "", 200, `{"success":true,"virtual_machine":[` + machineShape + `]}`},
	{"resize", "POST", "/v2/virtual-machines/$VM_ID/resize", `{"cores": 2, "ram": 2048, "wait_for": 4}`, 200, `{"success":true}`},
	{"shutdown", "POST", "/v2/virtual-machines/$VM_ID/shutdown", `{"wait_for": 4}`, 200, `{"success":true}`},
	{"reboot", "POST", "/v2/virtual-machines/$VM_ID/reboot", "", 200, `{"success":true}`},
	{"reset", "POST", "/v2/virtual-machines/$VM_ID/reset", "", 200, `{"success":true}`},
	{"console", "POST", "/v2/virtual-machines/$VM_ID/console", "", 200, `{"console":{"port":1,"password":"","host":""}}`},
	{"rename", "POST", "/v2/virtual-machines/$VM_ID/rename", `{"name": "web-2"}`, 200, `{"success":true}`},
	{"delete", "DELETE", "/v2/virtual-machines/$VM_ID", `{"deleteResources": 0}`, 200, `{"success":true}`},
}

// signedRequest builds a request signed as e24cloud's client signs it.
func signedRequest(t *testing.T, cfg Config, base, method, path, body string, date time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	d := date.UTC().Format(http.TimeFormat)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Date", d)
	req.Header.Set("Authorization", cfg.Key+":"+e24cloud.Signature(cfg.Secret, method, u.Host, d, path, []byte(body)))
	return req
}

func TestSeedRequests(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	vmID := ""
	for _, c := range emu.order {
		if emu.vms[c] != nil {
			vmID = c
		}
	}
	for _, c := range seedCases {
		t.Run(c.name, func(t *testing.T) {
			path := strings.ReplaceAll(c.path, "$VM_ID", vmID)
			resp, err := http.DefaultClient.Do(signedRequest(t, emu.Config(), srv.URL, c.method, path, c.body, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.code {
				t.Fatalf("%s %s = %d %s, want %d", c.method, path, resp.StatusCode, raw, c.code)
			}
			var got, want any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("answer is not JSON: %s", raw)
			}
			if err := json.Unmarshal([]byte(c.shape), &want); err != nil {
				t.Fatal(err)
			}
			if msg := sameShape("", want, got); msg != "" {
				t.Errorf("%s %s: %s\n%s", c.method, path, msg, raw)
			}
		})
	}
}

// sameShape compares field names and JSON types; elements of a list are
// compared with the template's first element. "" means alike.
func sameShape(at string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at + ": not an object"
		}
		for k := range w {
			if _, ok := g[k]; !ok {
				return at + "." + k + ": missing"
			}
			if m := sameShape(at+"."+k, w[k], g[k]); m != "" {
				return m
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return at + "." + k + ": not in the seed"
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return at + ": not an array"
		}
		if len(w) > 0 {
			for _, e := range g {
				if m := sameShape(at+"[]", w[0], e); m != "" {
					return m
				}
			}
		}
	default:
		if want != nil && got != nil && typeName(want) != typeName(got) {
			return at + ": " + typeName(got) + ", the seed has " + typeName(want)
		}
	}
	return ""
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "other"
}

func TestSignatureRefused(t *testing.T) {
	now := time.Now()
	emu := New(Config{Now: func() time.Time { return now }})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	good := emu.Config()
	bad := good
	bad.Secret = "wrong"
	for _, c := range []struct {
		name string
		req  *http.Request
		code int
	}{
		{"good", signedRequest(t, good, srv.URL, "GET", "/v2/virtual-machines", "", now), 200},
		{"wrong secret", signedRequest(t, bad, srv.URL, "GET", "/v2/virtual-machines", "", now), 401},
		{"stale date", signedRequest(t, good, srv.URL, "GET", "/v2/virtual-machines", "", now.Add(-time.Hour)), 401},
		{"future date", signedRequest(t, good, srv.URL, "GET", "/v2/virtual-machines", "", now.Add(time.Hour)), 401},
	} {
		resp, err := http.DefaultClient.Do(c.req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, raw, c.code)
		}
		if c.code == 401 && !bytes.Contains(raw, []byte(`"success":false`)) {
			t.Errorf("%s: %s lacks the error envelope", c.name, raw)
		}
	}
	// A body changed after signing is refused.
	req := signedRequest(t, good, srv.URL, "POST", "/v2/virtual-machines/x/rename", `{"name":"a"}`, now)
	req.Body = io.NopCloser(strings.NewReader(`{"name":"b"}`))
	req.ContentLength = 12
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("tampered body: %d, want 401", resp.StatusCode)
	}
}

func TestTasksTakeOperationTime(t *testing.T) {
	now := time.Now()
	emu := New(Config{OperationTime: time.Minute, Now: func() time.Time { return now }})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	do := func(method, path, body string) map[string]any {
		resp, err := http.DefaultClient.Do(signedRequest(t, emu.Config(), srv.URL, method, path, body, now))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	created := do("PUT", "/v2/storage-volumes", `{"create_storage_volume":{"name":"v","size":5}}`)
	id := created["storage_volume"].(map[string]any)["id"].(string)
	state := func() string {
		return do("GET", "/v2/storage-volumes/"+id, "")["storage_volume"].(map[string]any)["state"].(string)
	}
	if s := state(); s != e24cloud.VolumeCreating {
		t.Fatalf("new volume %s, want creating", s)
	}
	now = now.Add(time.Minute)
	if s := state(); s != e24cloud.VolumeAvailable {
		t.Fatalf("after the operation time %s, want available", s)
	}
}

// TestDeleteResourcesRequired: a machine deletion without deleteResources
// 0 or 1 is refused (400) and the machine stays.
func TestDeleteResourcesRequired(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	id := emu.order[0]
	for _, body := range []string{`{}`, `{"deleteResources": 2}`, ``} {
		resp, err := http.DefaultClient.Do(signedRequest(t, emu.Config(), srv.URL, "DELETE", "/v2/virtual-machines/"+id, body, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("DELETE with %q: %d, want 400", body, resp.StatusCode)
		}
	}
	if emu.vms[id] == nil || emu.vms[id].State != "online" {
		t.Errorf("machine changed by refused deletions")
	}
}
