package onlinelabs

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// call sends one request to the emulator and decodes the JSON answer.
func call(t *testing.T, h http.Handler, token, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return rec.Code, rec.Header(), out
}

func TestAuthAndErrorFormat(t *testing.T) {
	e := New(Config{Token: "tok", Organization: "org"})
	for _, tc := range []struct {
		token, method, path, body string
		code                      int
		typ                       string
	}{
		{"", "GET", "/volumes", "", 401, "invalid_auth"},
		{"bad", "GET", "/volumes", "", 401, "invalid_auth"},
		{"tok", "GET", "/volumes/nope", "", 404, "unknown_resource"},
		{"tok", "GET", "/nothing", "", 404, "unknown_resource"},
		{"tok", "PATCH", "/volumes", "", 405, "invalid_request_error"},
		{"tok", "POST", "/volumes", "{", 400, "invalid_request_error"},
		{"tok", "POST", "/volumes", `{"name":"v","organization":"org","size":1500000000,"volume_type":"l_ssd"}`, 400, "invalid_request_error"},
		{"tok", "POST", "/volumes", `{"name":"v","organization":"other","size":1000000000,"volume_type":"l_ssd"}`, 403, "authorization_required"},
	} {
		code, _, body := call(t, e, tc.token, tc.method, tc.path, tc.body)
		if code != tc.code || body["type"] != tc.typ || body["message"] == "" {
			t.Errorf("%s %s (token %q): %d %v, want %d with type %s and a message", tc.method, tc.path, tc.token, code, body, tc.code, tc.typ)
		}
		if strings.Contains(body["message"].(string), "bad") {
			t.Errorf("the 401 echoes the token: %v", body)
		}
	}
	_, _, body := call(t, e, "tok", "POST", "/volumes", `{"organization":"org","size":1500000000,"volume_type":"l_xxl"}`)
	fields, _ := body["fields"].(map[string]any)
	for _, f := range []string{"name", "size", "volume_type"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("validation error lacks fields.%s: %v", f, body)
		}
	}
}

func TestPagingLinks(t *testing.T) {
	e := New(Config{Token: "tok", Organization: "org", PageSize: 2})
	for range 5 {
		if code, _, _ := call(t, e, "tok", "POST", "/volumes", `{"name":"v","organization":"org","size":1000000000,"volume_type":"l_hdd"}`); code != 201 {
			t.Fatal(code)
		}
	}
	code, h, body := call(t, e, "tok", "GET", "/volumes?page=2", "")
	if code != 200 || len(body["volumes"].([]any)) != 2 || h.Get("X-Total-Count") != "5" ||
		!strings.Contains(h.Get("Link"), `page=3&per_page=2>; rel="next"`) || !strings.Contains(h.Get("Link"), `page=3&per_page=2>; rel="last"`) {
		t.Errorf("page 2: %d %v, headers %v", code, body, h)
	}
	_, h, body = call(t, e, "tok", "GET", "/volumes?page=3", "")
	if len(body["volumes"].([]any)) != 1 || strings.Contains(h.Get("Link"), "next") {
		t.Errorf("last page: %v, Link %q", body, h.Get("Link"))
	}
	if code, _, _ := call(t, e, "tok", "GET", "/volumes?per_page=0", ""); code != 400 {
		t.Errorf("per_page=0: %d, want 400", code)
	}
}

func TestTasksAndPower(t *testing.T) {
	clock := &fakeClock{t: time.Date(2014, 7, 22, 12, 0, 0, 0, time.UTC)}
	e := New(Config{Token: "tok", Organization: "org", OperationTime: 40 * time.Second, Now: clock.now})
	_, _, body := call(t, e, "tok", "POST", "/servers", `{"name":"s","image":"`+publicImageID+`","organization":"org"}`)
	sid := body["server"].(map[string]any)["id"].(string)
	_, _, body = call(t, e, "tok", "POST", "/volumes", `{"name":"v","organization":"org","size":1000000000,"volume_type":"l_ssd"}`)
	vid := body["volume"].(map[string]any)["id"].(string)

	code, h, body := call(t, e, "tok", "POST", "/servers/"+sid+"/action", `{"action":"poweron"}`)
	task := body["task"].(map[string]any)
	if code != 202 || task["status"] != "pending" || h.Get("Location") != "/tasks/"+task["id"].(string) {
		t.Fatalf("poweron: %d %v %v", code, body, h)
	}
	tid := task["id"].(string)
	for _, step := range []struct {
		after          time.Duration
		status, server string
		progress       string
	}{
		{5 * time.Second, "pending", "starting", "0"},
		{15 * time.Second, "started", "starting", "50"},
		{20 * time.Second, "success", "running", "100"},
	} {
		clock.add(step.after)
		_, _, body := call(t, e, "tok", "GET", "/tasks/"+tid, "")
		task := body["task"].(map[string]any)
		_, _, sb := call(t, e, "tok", "GET", "/servers/"+sid, "")
		state := sb["server"].(map[string]any)["state"]
		if task["status"] != step.status || task["progress"] != step.progress || state != step.server {
			t.Errorf("task %v, server %v; want %s at %s, server %s", task, state, step.status, step.progress, step.server)
		}
		if (task["terminated_at"] == nil) == (step.status == "success") {
			t.Errorf("terminated_at %v with status %s", task["terminated_at"], task["status"])
		}
	}

	// Attaching to the running server is refused, renaming it is not.
	_, _, sb := call(t, e, "tok", "GET", "/servers/"+sid, "")
	srv := sb["server"].(map[string]any)
	vols := srv["volumes"].(map[string]any)
	vols["1"] = map[string]any{"id": vid}
	srv["name"] = "renamed"
	put, _ := json.Marshal(srv)
	code, _, body = call(t, e, "tok", "PUT", "/servers/"+sid, string(put))
	if code != 400 || body["type"] != "invalid_request_error" || !strings.Contains(body["message"].(string), "stopped") {
		t.Errorf("attach to a running server: %d %v, want 400 saying it must be stopped", code, body)
	}
	delete(vols, "1")
	put, _ = json.Marshal(srv)
	if code, _, body = call(t, e, "tok", "PUT", "/servers/"+sid, string(put)); code != 200 || body["server"].(map[string]any)["name"] != "renamed" {
		t.Errorf("rename a running server: %d %v", code, body)
	}
	if code, _, _ = call(t, e, "tok", "DELETE", "/volumes/"+srv["volumes"].(map[string]any)["0"].(map[string]any)["id"].(string), ""); code != 400 {
		t.Errorf("deleting an attached volume: %d, want 400", code)
	}
	_, _, body = call(t, e, "tok", "GET", "/tasks", "")
	if len(body["tasks"].([]any)) != 1 {
		t.Errorf("tasks: %v", body)
	}
}

func TestBanner(t *testing.T) {
	e := New(Config{Token: "tok", Organization: "org"})
	b := e.Banner("http://127.0.0.1:1")
	lines := strings.Split(strings.TrimSpace(b), "\n")
	if len(lines) != 4 || lines[3] != "export DRIVECP_CLOUD=onlinelabs ONLINELABS_ENDPOINT=http://127.0.0.1:1 ONLINELABS_TOKEN=tok ONLINELABS_ORGANIZATION=org" {
		t.Errorf("banner %q", b)
	}
}
