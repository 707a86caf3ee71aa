package cloudsigma

import (
	"encoding/json"
	"strconv"
	"testing"
)

// TestV2IntegersAsStrings: integer members sent as JSON strings of digits,
// as pycloudsigma sends them, are taken; answers carry JSON numbers; other
// strings are a validation error on the member.
func TestV2IntegersAsStrings(t *testing.T) {
	c := newV2(t, -1)
	size := strconv.FormatInt(MinDriveSize, 10)
	bigger := strconv.FormatInt(2*MinDriveSize, 10)
	biggest := strconv.FormatInt(3*MinDriveSize, 10)
	id := c.createDrives("base")[0].UUID
	tests := []struct {
		name, method, path, body string
		status                   int
		wantSize                 int64  // checked in the answer when status < 300
		point                    string // error_point when status >= 400
	}{
		{"create with a string size", "POST", "drives/", `{"name": "s", "media": "disk", "size": "` + size + `"}`, 201, MinDriveSize, ""},
		{"create with a float size", "POST", "drives/", `{"name": "f", "media": "disk", "size": ` + size + `.0}`, 201, MinDriveSize, ""},
		{"create list with string sizes", "POST", "drives/", `{"objects": [{"name": "l", "media": "disk", "size": "` + size + `"}]}`, 201, MinDriveSize, ""},
		{"edit with a string size", "PUT", "drives/" + id + "/", `{"name": "base", "media": "disk", "size": "` + bigger + `"}`, 200, 2 * MinDriveSize, ""},
		{"resize with a string size", "POST", "drives/" + id + "/action/?do=resize", `{"name": "base", "media": "disk", "size": "` + biggest + `"}`, 202, 3 * MinDriveSize, ""},
		{"initupload with a string size", "POST", "initupload/", `{"name": "u", "media": "disk", "size": "` + size + `"}`, 201, MinDriveSize, ""},
		{"letters in the string", "POST", "drives/", `{"name": "x", "media": "disk", "size": "12a"}`, 400, 0, "size"},
		{"empty string", "POST", "drives/", `{"name": "x", "media": "disk", "size": ""}`, 400, 0, "size"},
		{"negative string", "POST", "drives/", `{"name": "x", "media": "disk", "size": "-1"}`, 400, 0, "size"},
		{"fraction", "POST", "drives/", `{"name": "x", "media": "disk", "size": 1.5}`, 400, 0, "size"},
		{"boolean", "POST", "drives/", `{"name": "x", "media": "disk", "size": true}`, 400, 0, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			if tt.status >= 400 {
				c.wantError(tt.method, tt.path, tt.body, tt.status, "validation", tt.point)
				return
			}
			b := c.want(tt.method, tt.path, tt.body, tt.status)
			var one map[string]json.RawMessage
			if err := json.Unmarshal(b, &one); err != nil {
				t.Fatal(err)
			}
			if objs, ok := one["objects"]; ok {
				var list []map[string]json.RawMessage
				if err := json.Unmarshal(objs, &list); err != nil || len(list) != 1 {
					t.Fatalf("objects %s", objs)
				}
				one = list[0]
			}
			if got := string(one["size"]); got != strconv.FormatInt(tt.wantSize, 10) {
				t.Fatalf("size answered as %s, want the JSON number %d", got, tt.wantSize)
			}
		})
	}
}
