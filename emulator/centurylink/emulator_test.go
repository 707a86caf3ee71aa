package centurylink

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// call sends one request with the token and returns the code and body.
func call(t *testing.T, ts *httptest.Server, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func login(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	code, body := call(t, ts, "", "POST", "/v2/authentication/login", `{"username":"u","password":"p"}`)
	var v struct{ BearerToken string }
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("login: %d %s", code, body)
	}
	return v.BearerToken
}

// TestRefusals: what the API refuses, with the code and the words of its
// message, and that a refused change changes nothing.
func TestRefusals(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := New(Config{Username: "u", Password: "p", Servers: []string{"web"}, TokenTTL: time.Hour,
		OperationTime: time.Minute, Now: clk.Now})
	ts := httptest.NewServer(e)
	defer ts.Close()
	tok := login(t, ts)
	srv := "/v2/servers/ALIAS/WA1ALIASWEB01"
	disks := func(list string) string { return `[{"op":"set","member":"disks","value":` + list + `}]` }
	os := `{"diskId":"0:0","sizeGB":1},{"diskId":"0:1","sizeGB":2},{"diskId":"0:2","sizeGB":14}`
	for _, c := range []struct {
		name, token, method, path, body string
		code                            int
		says                            string
	}{
		{"wrong password", "", "POST", "/v2/authentication/login", `{"username":"u","password":"x"}`, 400, "didn't recognize"},
		{"no token", "", "GET", srv, "", 401, "Authorization has been denied"},
		{"unknown token", "nope", "GET", srv, "", 401, "Authorization has been denied"},
		{"another account", tok, "GET", "/v2/servers/OTHER/WA1ALIASWEB01", "", 403, "OTHER"},
		{"unknown server", tok, "GET", "/v2/servers/ALIAS/WA1ALIASNONE01", "", 404, "WA1ALIASNONE01"},
		{"unknown operation", tok, "GET", "/v2/operations/ALIAS/status/wa1-1", "", 404, "wa1-1"},
		{"unknown group", tok, "GET", "/v2/groups/ALIAS/nope", "", 404, "nope"},
		{"remove an OS disk", tok, "PATCH", srv, disks(`[{"diskId":"0:0","sizeGB":1},{"diskId":"0:1","sizeGB":2}]`), 400, "operating system disk 0:2"},
		{"shrink", tok, "PATCH", srv, disks(`[{"diskId":"0:0","sizeGB":1},{"diskId":"0:1","sizeGB":2},{"diskId":"0:2","sizeGB":13}]`), 400, "cannot shrink"},
		{"reserved path", tok, "PATCH", srv, disks(`[` + os + `,{"sizeGB":5,"type":"partitioned","path":"/usr"}]`), 400, "reserved"},
		{"raw with a path", tok, "PATCH", srv, disks(`[` + os + `,{"sizeGB":5,"type":"raw","path":"/data"}]`), 400, "raw disk has no path"},
		{"unknown disk", tok, "PATCH", srv, disks(`[` + os + `,{"diskId":"0:9","sizeGB":5}]`), 400, "0:9 was not found"},
		{"too big", tok, "PATCH", srv, disks(`[` + os + `,{"sizeGB":2000}]`), 400, "1 and 1024"},
		{"bad member", tok, "PATCH", srv, `[{"op":"set","member":"name","value":"x"}]`, 400, "cannot be set"},
		{"expiry", tok, "POST", "/v2/operations/ALIAS/servers/createSnapshot", `{"snapshotExpirationDays":11,"serverIds":["WA1ALIASWEB01"]}`, 400, "1 and 10 days"},
		{"no such snapshot", tok, "DELETE", srv + "/snapshots/1", "", 404, "snapshot 1"},
		{"unknown action", tok, "POST", "/v2/operations/ALIAS/servers/explode", `["WA1ALIASWEB01"]`, 404, "No HTTP resource"},
	} {
		code, body := call(t, ts, c.token, c.method, c.path, c.body)
		var msg struct{ Message string }
		if code != c.code || json.Unmarshal([]byte(body), &msg) != nil || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, body, c.code, c.says)
		}
	}
	if _, body := call(t, ts, tok, "GET", srv, ""); !strings.Contains(body, `"diskCount":3`) {
		t.Errorf("refused changes changed the server: %s", body)
	}
	// A second snapshot is refused per server, in the item.
	snap := `{"snapshotExpirationDays":"2","serverIds":["WA1ALIASWEB01"]}`
	if code, body := call(t, ts, tok, "POST", "/v2/operations/ALIAS/servers/createSnapshot", snap); code != 200 || !strings.Contains(body, `"isQueued":true`) {
		t.Fatalf("snapshot: %d %s", code, body)
	}
	if code, body := call(t, ts, tok, "POST", "/v2/operations/ALIAS/servers/createSnapshot", snap); code != 200 ||
		!strings.Contains(body, `"isQueued":false`) || !strings.Contains(body, "already has a snapshot") {
		t.Errorf("second snapshot: %d %s", code, body)
	}
	// Tokens expire.
	clk.Add(2 * time.Hour)
	if code, _ := call(t, ts, tok, "GET", srv, ""); code != 401 {
		t.Errorf("expired token: %d, want 401", code)
	}
}

// TestDiskChanges: disks are added with the next free ID, grown, removed;
// the PATCH answers 202 with its operation's status link.
func TestDiskChanges(t *testing.T) {
	e := New(Config{Username: "u", Password: "p", Servers: []string{"web"}})
	ts := httptest.NewServer(e)
	defer ts.Close()
	tok := login(t, ts)
	srv := "/v2/servers/ALIAS/wa1aliasweb01"
	code, body := call(t, ts, tok, "PATCH", srv, `[{"op":"set","member":"disks","value":[
		{"diskId":"0:0","sizeGB":1},{"diskId":"0:1","sizeGB":2},{"diskId":"0:2","sizeGB":20},
		{"sizeGB":5,"type":"partitioned","path":"/data"},{"sizeGB":3}]}]`)
	var l struct{ Rel, Href, ID string }
	if code != 202 || json.Unmarshal([]byte(body), &l) != nil || l.Rel != "status" || l.Href != "/v2/operations/ALIAS/status/"+l.ID {
		t.Fatalf("PATCH disks: %d %s, want 202 with a status link", code, body)
	}
	_, body = call(t, ts, tok, "GET", srv, "")
	var s struct {
		Details struct {
			StorageGB int
			Disks     []struct {
				ID             string
				SizeGB         int
				PartitionPaths []string
			}
			Partitions []struct{ Path string }
		}
	}
	_ = json.Unmarshal([]byte(body), &s)
	d := s.Details
	if len(d.Disks) != 5 || d.Disks[2].SizeGB != 20 || d.Disks[3].ID != "0:3" || d.Disks[3].PartitionPaths[0] != "/data" ||
		d.Disks[4].ID != "0:4" || len(d.Disks[4].PartitionPaths) != 0 || d.StorageGB != 31 || len(d.Partitions) != 1 {
		t.Errorf("disks after PATCH: %+v", d)
	}
	if code, _ := call(t, ts, tok, "PATCH", srv, `[{"op":"set","member":"disks","value":[
		{"diskId":"0:0","sizeGB":1},{"diskId":"0:1","sizeGB":2},{"diskId":"0:2","sizeGB":20},{"diskId":"0:4","sizeGB":3}]}]`); code != 202 {
		t.Fatalf("remove 0:3: %d", code)
	}
	if _, body := call(t, ts, tok, "GET", srv, ""); strings.Contains(body, "/data") || !strings.Contains(body, `"diskCount":4`) {
		t.Errorf("after removing 0:3: %s", body)
	}
}

func TestExports(t *testing.T) {
	got := Exports("http://127.0.0.1:1234", Config{Username: DefaultUser, Password: "it's"})
	want := `export DRIVECP_CLOUD=centurylink CLC_ENDPOINT='http://127.0.0.1:1234' CLC_USERNAME='demouser1' CLC_PASSWORD='it'\''s'`
	if got != want {
		t.Errorf("Exports = %s\nwant %s", got, want)
	}
}
