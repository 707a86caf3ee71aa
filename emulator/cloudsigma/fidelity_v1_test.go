package cloudsigma

import (
	"slices"
	"strings"
	"testing"
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
