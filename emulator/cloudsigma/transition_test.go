package cloudsigma

import (
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// waitStatus polls a drive until it has status want, failing after limit.
func (c *v2Client) waitStatus(id, want string, limit time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		d := c.drive(id)
		if d.Status == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			c.t.Fatalf("drive %s is %s after %v, want %s", id, d.Status, limit, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDriveTransitions: a drive created through the API is `creating` for
// the transition time, refusing clones and deletes meanwhile (503, as the
// API answers a busy resource), then `unmounted`; an edit that grows it
// makes it `resizing` for a while, then what it was. The store's own
// CreateDrive, which tests use to set data up, is immediate.
func TestDriveTransitions(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir(), JobDuration: -1, Transition: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &v2Client{t: t, srv: s, base: s.URL() + "api/2.0/"}

	d := c.createDrives("fresh")[0]
	if d.Status != wire.StatusCreating {
		t.Fatalf("a new drive is %s, want creating", d.Status)
	}
	c.wantError("DELETE", "drives/"+d.UUID+"/", nil, 503, "concurrency", "status")
	c.wantError("POST", "drives/"+d.UUID+"/action/?do=clone", map[string]any{}, 503, "concurrency", "status")
	if took := c.waitStatus(d.UUID, wire.StatusUnmounted, 5*time.Second); took < 150*time.Millisecond {
		t.Errorf("creating lasted %v, want about 300ms", took)
	}

	e := v2Decode[wire.Drive](t, c.want("PUT", "drives/"+d.UUID+"/", map[string]any{"name": "fresh", "size": 2 * MinDriveSize, "media": "disk"}, 200))
	if e.Status != wire.StatusResizing || e.Size != 2*MinDriveSize {
		t.Fatalf("after a growing edit: %s, %d bytes; want resizing, %d", e.Status, e.Size, 2*MinDriveSize)
	}
	c.waitStatus(d.UUID, wire.StatusUnmounted, 5*time.Second)
	// An edit that keeps the size is no resize.
	e = v2Decode[wire.Drive](t, c.want("PUT", "drives/"+d.UUID+"/", map[string]any{"name": "renamed", "size": 2 * MinDriveSize, "media": "disk"}, 200))
	if e.Status != wire.StatusUnmounted {
		t.Fatalf("after a rename: %s, want unmounted", e.Status)
	}

	direct, err := s.Store().CreateDrive(wire.Drive{Name: "direct", Size: MinDriveSize, Media: "disk"})
	if err != nil || direct.Status != wire.StatusUnmounted {
		t.Fatalf("Store.CreateDrive: %v, %s", err, direct.Status)
	}
}
