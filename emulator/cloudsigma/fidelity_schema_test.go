package cloudsigma

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// TestV2Schemas: `{resource}/schema/` answers the shape of the API 2.0
// manual's schemas, with the members the manual lists for drives,
// snapshots and library drives, and methods and filters that are the
// emulator's own.
func TestV2Schemas(t *testing.T) {
	c := newV2(t, -1)
	tests := []struct {
		resource     string
		fields       []string // every member the manual's schema lists
		detail, list []string
		filters      []string // at least these
	}{
		{"drives", []string{"affinities", "allow_multimount", "grantees", "jobs", "licenses", "media", "meta", "mounted_on",
			"name", "owner", "permissions", "resource_uri", "runtime", "size", "snapshots", "status", "storage_type", "tags", "uuid"},
			[]string{"get", "put", "delete"}, []string{"get", "delete", "post"}, []string{"name", "name__contains", "tag", "uuid"}},
		{"snapshots", []string{"allocated_size", "drive", "grantees", "meta", "name", "owner", "permissions", "resource_uri",
			"status", "tags", "timestamp", "uuid"},
			[]string{"get", "put", "delete"}, []string{"get", "delete", "post"}, []string{"name", "name__contains", "tag", "uuid"}},
		{"libdrives", []string{"affinities", "allow_multimount", "arch", "category", "description", "distribution", "favourite",
			"image_type", "install_notes", "jobs", "licenses", "media", "meta", "mounted_on", "name", "os", "owner", "paid",
			"resource_uri", "size", "status", "storage_type", "tags", "url", "uuid", "version"},
			[]string{"get"}, []string{"get"}, []string{"arch", "category", "distribution", "image_type", "name", "name__icontains", "os", "uuid", "version"}},
		{"jobs", []string{"children", "created", "data", "last_modified", "operation", "parent", "resource_uri", "resources", "state", "uuid"},
			[]string{"get"}, []string{"get"}, []string{"uuid", "state"}},
		{"capabilities", []string{"drives", "servers", "snapshots"}, []string{}, []string{"get"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			c.t = t
			var sc struct {
				Detail        []string                              `json:"allowed_detail_http_methods"`
				List          []string                              `json:"allowed_list_http_methods"`
				DefaultFormat string                                `json:"default_format"`
				DefaultLimit  int                                   `json:"default_limit"`
				Fields        map[string]map[string]json.RawMessage `json:"fields"`
				Filtering     map[string]string                     `json:"filtering"`
			}
			b := c.want("GET", tt.resource+"/schema/", nil, 200)
			if err := json.Unmarshal(b, &sc); err != nil {
				t.Fatalf("schema %s: %v", b, err)
			}
			if sc.DefaultFormat != "application/json" || sc.DefaultLimit != 20 || sc.Filtering == nil {
				t.Fatalf("schema header %s", b)
			}
			if !slices.Equal(sc.Detail, tt.detail) || !slices.Equal(sc.List, tt.list) {
				t.Fatalf("methods detail %v list %v, want %v %v", sc.Detail, sc.List, tt.detail, tt.list)
			}
			if got := slices.Sorted(maps.Keys(sc.Fields)); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v", got, tt.fields)
			}
			for name, f := range sc.Fields {
				for _, k := range []string{"default", "help_text", "readonly", "required", "type"} {
					if _, ok := f[k]; !ok {
						t.Fatalf("field %s lacks %s", name, k)
					}
				}
			}
			for _, f := range tt.filters {
				if sc.Filtering[f] != "exact" {
					t.Fatalf("filter %s missing from %v", f, sc.Filtering)
				}
			}
		})
	}
}
