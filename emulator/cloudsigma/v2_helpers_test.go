package cloudsigma

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// v2Client talks to a real emulator listener the way the API 2.0 manual's examples
// do: JSON bodies, Basic auth, paths relative to /api/2.0/.
type v2Client struct {
	t    *testing.T
	srv  *Server
	base string
}

// newV2 starts an emulator for one test. Jobs take jobDuration (negative:
// they end at once); drives are ready at once (TestDriveTransitions checks
// the transitional states).
func newV2(t *testing.T, jobDuration time.Duration) *v2Client {
	t.Helper()
	s, err := New(Config{DataDir: t.TempDir(), JobDuration: jobDuration, Transition: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &v2Client{t: t, srv: s, base: s.URL() + "api/2.0/"}
}

// do sends a request; body is nil, a string sent as it is, or a value sent
// as JSON.
func (c *v2Client) do(method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(DefaultUser, DefaultPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

// want sends a request and fails the test unless it answers status.
func (c *v2Client) want(method, path string, body any, status int) []byte {
	c.t.Helper()
	resp, b := c.do(method, path, body)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, status, firstBytes(b))
	}
	return b
}

// wantError checks a documented error answer: status, a one-element JSON
// error list of type typ, and error_point (null when point is "").
func (c *v2Client) wantError(method, path string, body any, status int, typ, point string) wire.ErrorItem {
	c.t.Helper()
	resp, b := c.do(method, path, body)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, status, firstBytes(b))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.t.Fatalf("%s %s: error Content-Type %q", method, path, ct)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 1 {
		c.t.Fatalf("%s %s: error body %s is not a one-element list", method, path, b)
	}
	if _, ok := raw[0]["error_point"]; !ok {
		c.t.Fatalf("%s %s: error_point missing in %s", method, path, b)
	}
	var el wire.ErrorList
	_ = json.Unmarshal(b, &el)
	e := el[0]
	got := ""
	if e.ErrorPoint != nil {
		got = *e.ErrorPoint
	}
	if e.ErrorType != typ || got != point || e.ErrorMessage == "" {
		c.t.Fatalf("%s %s: error %s, want type %s point %q", method, path, b, typ, point)
	}
	return e
}

func v2Decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, firstBytes(b), err)
	}
	return v
}

// list GETs a list and checks its envelope.
func (c *v2Client) list(path string) (wire.ListMeta, []map[string]any) {
	c.t.Helper()
	b := c.want("GET", path, nil, 200)
	var l struct {
		Meta    *wire.ListMeta   `json:"meta"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(b, &l); err != nil || l.Meta == nil || l.Objects == nil {
		c.t.Fatalf("GET %s: not a list envelope: %s", path, firstBytes(b))
	}
	return *l.Meta, l.Objects
}

// createDrives creates drives of MinDriveSize named after names.
func (c *v2Client) createDrives(names ...string) []wire.Drive {
	c.t.Helper()
	objs := make([]map[string]any, len(names))
	for i, n := range names {
		objs[i] = map[string]any{"name": n, "size": MinDriveSize, "media": "disk"}
	}
	l := v2Decode[wire.List[wire.Drive]](c.t, c.want("POST", "drives/", map[string]any{"objects": objs}, 201))
	if len(l.Objects) != len(names) {
		c.t.Fatalf("created %d drives, want %d", len(l.Objects), len(names))
	}
	return l.Objects
}

func (c *v2Client) drive(id string) wire.Drive {
	c.t.Helper()
	return v2Decode[wire.Drive](c.t, c.want("GET", "drives/"+id+"/", nil, 200))
}

// waitJob polls a job until it is no longer started and checks it ended
// well, with progress 100; it also checks progress never went back.
func (c *v2Client) waitJob(id string) wire.Job {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := -1
	for {
		j := v2Decode[wire.Job](c.t, c.want("GET", "jobs/"+id+"/", nil, 200))
		if j.Data.Progress < last || j.Data.Progress > 100 {
			c.t.Fatalf("job %s progress went from %d to %d", id, last, j.Data.Progress)
		}
		last = j.Data.Progress
		if j.State != wire.JobStarted {
			if j.State != wire.JobSuccess || j.Data.Progress != 100 {
				c.t.Fatalf("job %s ended %s at %d%%", id, j.State, j.Data.Progress)
			}
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s still %s at %d%%", id, j.State, j.Data.Progress)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func v2Names(objs []map[string]any) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i], _ = o["name"].(string)
	}
	return out
}
