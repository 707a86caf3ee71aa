package cloudsigma

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	shared "github.com/drivecp/drivecp/emulator"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestStorageTypes: Config.StorageTypes decides which storage types
// capabilities show and create and clone take; the default is dssd only,
// and an unknown name is refused at start.
func TestStorageTypes(t *testing.T) {
	tests := []struct {
		config      string
		offered     []string
		defaultType string
	}{
		{"", []string{"dssd"}, "dssd"},
		{"dssd,zadara", []string{"dssd", "zadara"}, "dssd"},
		{" zadara ", []string{"zadara"}, "zadara"},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			s := startServer(t, Config{StorageTypes: tt.config})
			c := &v2Client{t: t, srv: s, base: s.URL() + "api/2.0/"}
			caps := v2Decode[struct {
				Drives map[string]map[string]int64 `json:"drives"`
			}](t, c.want("GET", "capabilities/", nil, 200))
			if got := slices.Sorted(maps.Keys(caps.Drives)); !slices.Equal(got, tt.offered) {
				t.Fatalf("capabilities offer %v, want %v", got, tt.offered)
			}
			d := v2Decode[wire.List[wire.Drive]](t, c.want("POST", "drives/", map[string]any{"name": "default", "size": 1 << 30, "media": "disk"}, 201)).Objects[0]
			if d.StorageType != tt.defaultType {
				t.Fatalf("new drive on %s, want %s", d.StorageType, tt.defaultType)
			}
			for _, typ := range []string{"dssd", "zadara"} {
				offered := slices.Contains(tt.offered, typ)
				body := map[string]any{"name": typ, "size": 1 << 30, "media": "disk", "storage_type": typ}
				if offered {
					c.want("POST", "drives/", body, 201)
					c.want("POST", "drives/"+d.UUID+"/action/?do=clone", map[string]any{"storage_type": typ}, 202)
					c.waitIdle(d.UUID)
				} else {
					c.wantError("POST", "drives/", body, 400, "validation", "storage_type")
					c.wantError("POST", "drives/"+d.UUID+"/action/?do=clone", map[string]any{"storage_type": typ}, 400, "validation", "storage_type")
				}
			}
		})
	}
	if _, err := New(Config{DataDir: t.TempDir(), StorageTypes: "dssd,ssd"}); !errors.Is(err, shared.ErrSetting) {
		t.Fatalf("an unknown storage type: %v, want an ErrSetting", err)
	}
}

// waitIdle waits until a drive is no longer a clone's source.
func (c *v2Client) waitIdle(id string) {
	c.t.Helper()
	for range 500 {
		if c.drive(id).Status == "unmounted" {
			return
		}
		sleepBriefly()
	}
	c.t.Fatalf("drive %s stays busy", id)
}

func sleepBriefly() { time.Sleep(10 * time.Millisecond) }
