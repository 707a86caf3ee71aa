package cloudsigma

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestV1StandardDrives: API 1.0's standard drive lists answer the library
// drives' UUIDs one a line, all of them or those of one medium; without
// credentials they are 401 like every other command.
func TestV1StandardDrives(t *testing.T) {
	s := startServer(t, Config{})
	var all, disks, cds []string
	for _, l := range s.Store().ListLibDrives() {
		all = append(all, l.UUID)
		switch l.Media {
		case "disk":
			disks = append(disks, l.UUID)
		case "cdrom":
			cds = append(cds, l.UUID)
		}
	}
	if len(all) == 0 {
		t.Fatal("no library drives")
	}
	tests := []struct {
		path   string
		noAuth bool
		status int
		want   []string
	}{
		{"drives/standard/list", false, 200, all},
		{"drives/standard/img/list", false, 200, disks},
		{"drives/standard/cd/list", false, 200, cds},
		{"drives/standard/list", true, 401, nil},
		{"drives/standard/cd/list", true, 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			b := expect(t, call{method: "GET", url: s.URL() + tt.path, noAuth: tt.noAuth}, tt.status)
			if tt.status != 200 {
				return
			}
			got := strings.Fields(string(b))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("%s = %q, want %q", tt.path, got, tt.want)
			}
			if len(b) > 0 && !strings.HasSuffix(string(b), "\n") {
				t.Fatalf("%s: not one UUID a line: %q", tt.path, b)
			}
		})
	}
	expect(t, call{method: "POST", url: s.URL() + "drives/standard/list"}, 405)
}

// TestV1InfoCounters: API 1.0 info has the read and write counters of the
// manual's command-line example, counting the API 1.0 reads and writes of
// the drive.
func TestV1InfoCounters(t *testing.T) {
	s := startServer(t, Config{})
	b := expect(t, call{method: "POST", url: s.URL() + "drives/create", body: strings.NewReader("name Test\nsize 12582912\n")}, 200)
	kv, err := wire.DecodeKV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := kv.Get("drive")
	steps := []struct {
		name string
		c    call
		want map[string]string
	}{
		{"fresh", call{method: "GET", url: s.URL() + "drives/" + id + "/info"},
			map[string]string{"read:bytes": "0", "read:requests": "0", "write:bytes": "0", "write:requests": "0", "type": "disk"}},
		{"one write", call{method: "POST", url: s.URL() + "drives/" + id + "/write", body: bytes.NewReader(make([]byte, 4096))}, nil},
		{"after the write", call{method: "GET", url: s.URL() + "drives/" + id + "/info"},
			map[string]string{"read:bytes": "0", "read:requests": "0", "write:bytes": "4096", "write:requests": "1"}},
		{"one read", call{method: "GET", url: s.URL() + "drives/" + id + "/read/0/4096"}, nil},
		{"a gzip write", call{method: "POST", url: s.URL() + "drives/" + id + "/write/4096", body: bytes.NewReader(gz(t, make([]byte, 8192))),
			header: map[string]string{"Content-Encoding": "gzip"}}, nil},
		{"after all", call{method: "GET", url: s.URL() + "drives/info"},
			map[string]string{"read:bytes": "4096", "read:requests": "1", "write:bytes": "12288", "write:requests": "2"}},
	}
	for _, st := range steps {
		resp, b := st.c.do(t)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s: status %d: %s", st.name, resp.StatusCode, b)
		}
		if st.want == nil {
			continue
		}
		kv, err := wire.DecodeKV(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for k, v := range st.want {
			if got, _ := kv.Get(k); got != v {
				t.Fatalf("%s: %s = %q, want %q in\n%s", st.name, k, got, v, b)
			}
		}
	}
}
