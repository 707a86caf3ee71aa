package cloudsigma

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// TestV2CompleteObjects: every object the API answers has exactly the
// members its schema lists (so drives, snapshots, library drives, jobs and
// capabilities are complete), library drives spell `favourite` and have a
// null owner, and a library drive read through drives/ has the drive shape.
func TestV2CompleteObjects(t *testing.T) {
	c := newV2(t, -1)
	d := c.createDrives("complete")[0]
	b := c.want("POST", "snapshots/", map[string]any{"drive": d.UUID, "name": "snap"}, 201)
	snap := v2Decode[struct {
		Objects []struct {
			UUID string `json:"uuid"`
		} `json:"objects"`
	}](t, b).Objects[0].UUID
	lib := libDriveDefs[0].UUID
	clone := v2Decode[struct {
		Objects []struct {
			Jobs []struct {
				UUID string `json:"uuid"`
			} `json:"jobs"`
		} `json:"objects"`
	}](t, c.want("POST", "drives/"+d.UUID+"/action/?do=clone", "", 202))
	job := clone.Objects[0].Jobs[0].UUID

	fieldsOf := func(resource string) []string {
		var sc struct {
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(c.want("GET", resource+"/schema/", nil, 200), &sc); err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(sc.Fields))
	}
	tests := []struct {
		name, path, schema string
		listed             bool
		check              func(t *testing.T, obj map[string]any)
	}{
		{"drive", "drives/" + d.UUID + "/", "drives", false, nil},
		{"drive detail list", "drives/detail/", "drives", true, nil},
		{"snapshot", "snapshots/" + snap + "/", "snapshots", false, func(t *testing.T, o map[string]any) {
			if g, ok := o["grantees"].([]any); !ok || g == nil {
				t.Fatalf("grantees %v", o["grantees"])
			}
			if p, ok := o["permissions"].([]any); !ok || p == nil {
				t.Fatalf("permissions %v", o["permissions"])
			}
		}},
		{"snapshot list", "snapshots/", "snapshots", true, nil},
		{"library drive", "libdrives/" + lib + "/", "libdrives", false, func(t *testing.T, o map[string]any) {
			if v, ok := o["owner"]; !ok || v != nil {
				t.Fatalf("owner %v, want null", v)
			}
			if _, ok := o["favourite"].(bool); !ok {
				t.Fatalf("favourite %v", o["favourite"])
			}
			if cat, ok := o["category"].([]any); !ok || len(cat) == 0 {
				t.Fatalf("category %v", o["category"])
			}
			if o["resource_uri"] != libURI(lib) {
				t.Fatalf("resource_uri %v", o["resource_uri"])
			}
		}},
		{"library drive list", "libdrives/", "libdrives", true, nil},
		{"library drive as a drive", "drives/" + lib + "/", "drives", false, func(t *testing.T, o map[string]any) {
			if v, ok := o["owner"]; !ok || v != nil {
				t.Fatalf("owner %v, want null", v)
			}
			if o["resource_uri"] != driveURI(lib) {
				t.Fatalf("resource_uri %v, want %s", o["resource_uri"], driveURI(lib))
			}
			if _, ok := o["runtime"].(map[string]any); !ok {
				t.Fatalf("runtime %v", o["runtime"])
			}
		}},
		{"job", "jobs/" + job + "/", "jobs", false, nil},
		{"capabilities", "capabilities/", "capabilities", false, func(t *testing.T, o map[string]any) {
			servers, _ := o["servers"].(map[string]any)
			for _, k := range []string{"cpu", "cpu_per_smp", "mem", "smp"} {
				if r, ok := servers[k].(map[string]any); !ok || r["min"] == nil || r["max"] == nil {
					t.Fatalf("servers.%s = %v", k, servers[k])
				}
			}
			snaps, _ := o["snapshots"].(map[string]any)
			if snaps["current"] != float64(1) || snaps["max"] != float64(MaxSnapshots) {
				t.Fatalf("snapshots %v", snaps)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			want := fieldsOf(tt.schema)
			var objs []map[string]any
			if tt.listed {
				_, objs = c.list(tt.path)
			} else {
				objs = []map[string]any{v2Decode[map[string]any](t, c.want("GET", tt.path, nil, 200))}
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			for _, o := range objs {
				if got := slices.Sorted(maps.Keys(o)); !slices.Equal(got, want) {
					t.Fatalf("members %v, want the schema's %v", got, want)
				}
				if tt.check != nil {
					tt.check(t, o)
				}
			}
		})
	}
}
