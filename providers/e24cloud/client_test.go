package e24cloud_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/e24cloud"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/e24cloud"
)

// TestSignatureVectors pins the signing scheme to values computed outside
// Go (openssl dgst -sha256 -hmac s3cret -binary | base64), so the client
// and the emulator cannot agree on a wrong scheme.
func TestSignatureVectors(t *testing.T) {
	for _, c := range []struct{ method, host, path, body, want string }{
		{"GET", "eu-poland-1poznan.api.e24cloud.com", "/v2/virtual-machines", "", "lNsdI9vdxbvE6pkKT8RhdpuRpM0s12bXUzl1eVsjX1E="},
		{"PUT", "127.0.0.1:8080", "/v2/disk-images", `{"a":1}`, "We6QmXbh1ukVZxY1bbxHEDXp+3qMaDDUS3ICCEn87N8="},
	} {
		got := e24cloud.Signature("s3cret", c.method, c.host, "Wed, 02 Dec 2026 19:00:00 GMT", c.path, []byte(c.body))
		if got != c.want {
			t.Errorf("Signature(%s %s) = %s, want %s", c.method, c.path, got, c.want)
		}
	}
}

// settleDrive polls a volume until its state settles.
func settleDrive(t *testing.T, p *providers.Provider, id string) providers.Drive {
	t.Helper()
	for range 200 {
		d, err := p.Drives.GetDrive(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State.Settled() {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("volume %s never settled", id)
	return providers.Drive{}
}

func TestVolumes(t *testing.T) {
	// Long enough that a loaded machine still sees the volume being made.
	e := start(t, emulator.Config{OperationTime: 300 * time.Millisecond}, "")
	ctx := context.Background()
	d, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "data", Size: 3*e24cloud.SizeUnit + 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != providers.StateBusy || d.Status != e24cloud.VolumeCreating || d.Size != 4*e24cloud.SizeUnit {
		t.Fatalf("new volume %+v: want creating (busy), size rounded up to 4 GiB", d)
	}
	d = settleDrive(t, e.p, d.UUID)
	if d.State != providers.StateReady {
		t.Fatalf("settled volume %s (%s), want ready", d.State, d.Status)
	}
	r, err := e.p.DriveEditor.ResizeDrive(ctx, d.UUID, 8*e24cloud.SizeUnit)
	if err != nil || r.State != providers.StateBusy || r.Size != 8*e24cloud.SizeUnit {
		t.Fatalf("ResizeDrive = %+v, %v; want resizing at 8 GiB", r, err)
	}
	if d = settleDrive(t, e.p, d.UUID); d.State != providers.StateReady {
		t.Fatalf("after resize %s", d.State)
	}
	if _, err := e.p.DriveEditor.ResizeDrive(ctx, d.UUID, e24cloud.SizeUnit); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("shrinking: %v, want ErrInvalid", err)
	}
	if _, err := e.p.DriveEditor.EditDrive(ctx, d.UUID, providers.DriveEdit{}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("EditDrive: %v, want ErrUnsupported", err)
	}
	if _, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 0}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("zero size: %v, want ErrInvalid", err)
	}
	// The seed machine's volumes: attached, one a system disk.
	all, err := e.p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var system *providers.Drive
	for i := range all {
		if all[i].Meta["system_disk"] == "true" {
			system = &all[i]
		}
	}
	if system == nil || system.State != providers.StateInUse || len(system.Servers) != 1 {
		t.Fatalf("system volume %+v: want in use by one machine", system)
	}
	if err := e.p.Drives.DeleteDrives(ctx, system.UUID); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("deleting an attached volume: %v, want ErrInvalid", err)
	}
	ready, err := e.p.Drives.ListDrives(ctx, providers.DriveFilter{Statuses: []string{string(providers.StateReady)}})
	if err != nil || len(ready) != 1 || ready[0].UUID != d.UUID {
		t.Errorf("ListDrives(ready) = %v, %v; want only %s", ready, err, d.UUID)
	}
}

func TestImagesFromVolume(t *testing.T) {
	// Long enough that a loaded machine still sees the image being made.
	e := start(t, emulator.Config{OperationTime: 500 * time.Millisecond}, "")
	ctx := context.Background()
	vols, _ := e.p.Drives.ListDrives(ctx, providers.DriveFilter{})
	img, err := e.p.Images.CreateImage(ctx, providers.ImageSpec{Name: "backup-1", From: vols[0].UUID})
	if err != nil || img.State != providers.StateBusy || img.Source != vols[0].UUID {
		t.Fatalf("CreateImage = %+v, %v", img, err)
	}
	time.Sleep(600 * time.Millisecond)
	if img, err = e.p.Images.GetImage(ctx, img.ID); err != nil || img.State != providers.StateReady || img.Size != vols[0].Size {
		t.Fatalf("image after the task %+v, %v; want ready, the volume's size", img, err)
	}
	if _, err := e.p.Images.CreateImage(ctx, providers.ImageSpec{Name: "x", From: "424242"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("image of an unknown volume: %v, want ErrNotFound", err)
	}
	if _, err := e.p.Images.CreateImage(ctx, providers.ImageSpec{Name: "x"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("image of nothing: %v, want ErrInvalid", err)
	}
	if err := e.p.Images.DeleteImages(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if g, err := e.p.Images.GetImage(ctx, img.ID); err == nil && g.State != providers.StateGone {
		t.Errorf("deleted image %s", g.State)
	}
}

func TestServersAndDeleteResources(t *testing.T) {
	for _, del := range []bool{false, true} {
		e := start(t, fast, "")
		ctx := context.Background()
		list, err := e.p.Servers.ListServers(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListServers = %v, %v", list, err)
		}
		s, err := e.p.Servers.GetServer(ctx, list[0].ID)
		if err != nil || s.Name != "seed-vm" || s.State != providers.StateInUse || len(s.Drives) != 2 || !s.Drives[0].Boot {
			t.Fatalf("GetServer = %+v, %v: want the running seed machine with its system disk first", s, err)
		}
		vols := []string{s.Drives[0].Drive, s.Drives[1].Drive}
		if _, err := e.p.ServerDeleter.DeleteServer(ctx, s.ID, del); err != nil {
			t.Fatal(err)
		}
		if g, err := e.p.Servers.GetServer(ctx, s.ID); err != nil || g.State != providers.StateGone {
			t.Fatalf("deleting machine: %+v, %v; want gone", g, err)
		}
		time.Sleep(30 * time.Millisecond)
		if _, err := e.p.Servers.GetServer(ctx, s.ID); !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("deleted machine: %v, want ErrNotFound", err)
		}
		for _, v := range vols {
			d, err := e.p.Drives.GetDrive(ctx, v)
			if del && !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("deleteResources 1: volume %s: %v, want ErrNotFound", v, err)
			}
			if !del && (err != nil || d.State != providers.StateReady || len(d.Servers) != 0) {
				t.Errorf("deleteResources 0: volume %+v, %v; want kept, detached, ready", d, err)
			}
		}
	}
}

// TestDeleteResourcesSent checks the exact body: 0 keeps, 1 deletes.
func TestDeleteResourcesSent(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		bodies = append(bodies, string(b[:n]))
		w.Write([]byte(`{"success":true}`))
	}))
	defer srv.Close()
	c, err := e24cloud.NewClient(srv.Client(), srv.URL, "k", "s")
	if err != nil {
		t.Fatal(err)
	}
	c.DeleteServer(context.Background(), "1", false)
	c.DeleteServer(context.Background(), "1", true)
	if !slices.Equal(bodies, []string{`{"deleteResources":0}`, `{"deleteResources":1}`}) {
		t.Errorf("bodies %q", bodies)
	}
}

func TestErrorKinds(t *testing.T) {
	e := start(t, fast, "")
	ctx := context.Background()
	if _, err := e.p.Drives.GetDrive(ctx, "31337"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown volume: %v", err)
	}
	if _, err := e.p.Servers.GetServer(ctx, "31337"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown machine: %v", err)
	}
	bad := start(t, fast, "not-the-secret")
	_, err := bad.p.Servers.ListServers(ctx)
	if !errors.Is(err, providers.ErrAuth) || providers.IsRetryable(err) {
		t.Errorf("wrong secret: %v, want ErrAuth, not retryable", err)
	}
	if strings.Contains(err.Error(), "not-the-secret") {
		t.Errorf("error shows the secret: %v", err)
	}
}

func TestStaleClockRefused(t *testing.T) {
	// The emulator's clock runs an hour ahead: the client's X-Date is stale.
	e := start(t, emulator.Config{Now: func() time.Time { return time.Now().Add(time.Hour) }}, "")
	if _, err := e.p.Drives.ListDrives(context.Background(), providers.DriveFilter{}); !errors.Is(err, providers.ErrAuth) {
		t.Errorf("stale date: %v, want ErrAuth", err)
	}
}

func TestOpenNeedsCredentials(t *testing.T) {
	_, err := e24cloud.Cloud().Open(context.Background(), providers.Config{e24cloud.SettingKey: "k"}, providers.OpenOptions{})
	var h *providers.HintError
	if !errors.Is(err, providers.ErrInvalid) || !errors.As(err, &h) || !strings.Contains(h.Hint, "E24CLOUD_API_SECRET") {
		t.Errorf("Open without a secret: %v, want ErrInvalid with a hint naming E24CLOUD_API_SECRET", err)
	}
	p, err := e24cloud.Cloud().Open(context.Background(), providers.Config{e24cloud.SettingKey: "k", e24cloud.SettingSecret: "s",
		e24cloud.SettingRegion: "eu-poland-1warszawa"}, providers.OpenOptions{})
	if err != nil || p.Endpoint != "eu-poland-1warszawa.api.e24cloud.com" {
		t.Errorf("region endpoint: %v, %v", p, err)
	}
	if len(p.Transfers) != 0 || !errors.Is(p.Lack("upload"), providers.ErrUnsupported) {
		t.Errorf("e24cloud has no byte path")
	}
}

func TestHonoursContext(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, _ := e24cloud.NewClient(srv.Client(), srv.URL, "k", "s")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListServers(ctx); !errors.Is(err, context.Canceled) || hits.Load() != 0 {
		t.Errorf("cancelled: %v, %d requests", err, hits.Load())
	}
}

// TestTraceShowsNoCredentials checks --debug traces: a line per request,
// never the secret, the key's signature or the Authorization header.
func TestTraceShowsNoCredentials(t *testing.T) {
	emu := emulator.New(fast)
	var signed []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signed = append(signed, r.Header.Get("Authorization"))
		emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var trace strings.Builder
	c := emu.Config()
	p, err := e24cloud.Cloud().Open(context.Background(), providers.Config{
		e24cloud.SettingEndpoint: srv.URL, e24cloud.SettingKey: c.Key, e24cloud.SettingSecret: c.Secret,
	}, providers.OpenOptions{Version: "test", Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Servers.ListServers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace.String(), "GET") || len(signed) != 1 {
		t.Fatalf("trace %q, %d requests", trace.String(), len(signed))
	}
	_, sig, _ := strings.Cut(signed[0], ":")
	for _, secret := range []string{c.Secret, sig} {
		if strings.Contains(trace.String(), secret) {
			t.Errorf("trace shows %q: %s", secret, trace.String())
		}
	}
}

// TestGetServerShapes: the seed's array answer and an object answer both
// read, with an id sent as a number or a string.
func TestGetServerShapes(t *testing.T) {
	for _, body := range []string{
		`{"success":true,"virtual_machine":[{"id":"7","label":"a","state":"offline","storage_volumes":[{"id":"9","size":2,"system_disk":true}]}]}`,
		`{"success":true,"virtual_machine":{"id":7,"label":"a","state":"offline","storage_volumes":[{"id":9,"size":2,"system_disk":true}]}}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		c, _ := e24cloud.NewClient(srv.Client(), srv.URL, "k", "s")
		s, err := c.GetServer(context.Background(), "7")
		srv.Close()
		if err != nil || s.ID != "7" || s.State != providers.StateReady || len(s.Drives) != 1 ||
			s.Drives[0].Drive != "9" || s.Drives[0].Size != 2*e24cloud.SizeUnit || !s.Drives[0].Boot {
			t.Errorf("%s: %+v, %v", body, s, err)
		}
	}
}
