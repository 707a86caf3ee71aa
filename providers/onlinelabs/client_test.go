package onlinelabs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/onlinelabs"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/onlinelabs"
)

var ctx = context.Background()

func TestOpenRefusesBadSettings(t *testing.T) {
	open := onlinelabs.Cloud().Open
	for name, cfg := range map[string]providers.Config{
		"no credentials":  {},
		"no organization": {onlinelabs.SettingToken: "t"},
		"no token":        {onlinelabs.SettingOrganization: "o"},
		"bad endpoint":    {onlinelabs.SettingEndpoint: "ftp://x", onlinelabs.SettingToken: "t", onlinelabs.SettingOrganization: "o"},
		"plain http":      {onlinelabs.SettingEndpoint: "http://api.example.com", onlinelabs.SettingToken: "t", onlinelabs.SettingOrganization: "o"},
	} {
		_, err := open(ctx, cfg, providers.OpenOptions{})
		if !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		var h *providers.HintError
		if strings.HasPrefix(name, "no ") && (!errors.As(err, &h) || !strings.Contains(h.Hint, "ONLINELABS_TOKEN") ||
			!strings.Contains(h.Hint, "ONLINELABS_ORGANIZATION")) {
			t.Errorf("%s: %v: want a hint naming ONLINELABS_TOKEN and ONLINELABS_ORGANIZATION", name, err)
		}
	}
	p, err := open(ctx, providers.Config{onlinelabs.SettingToken: "t", onlinelabs.SettingOrganization: "o"}, providers.OpenOptions{})
	if err != nil || p.Endpoint != "api.cloud.online.net" {
		t.Errorf("default endpoint: %v, %v", p, err)
	}
	if p != nil && (len(p.Transfers) != 0 || p.Features.SizeUnit != 1e9 || !p.Features.AttachNeedsStop ||
		p.Features.Backup != providers.BackupSnapshot || p.Features.DriveNoun != "volume") {
		t.Errorf("features: %+v, transfers %v", p.Features, p.Transfers)
	}
	if p != nil {
		_, err := p.Transfer("")
		want := "onlinelabs cannot transfer drive images: it has volume snapshots and images made of them instead"
		if !errors.Is(err, providers.ErrUnsupported) || err.Error() != want {
			t.Errorf("Transfer: %v, want %q", err, want)
		}
		for _, what := range []string{"upload", "download"} {
			if p.Features.Lacks[what] == "" {
				t.Errorf("Features.Lacks has no sentence for %s", what)
			}
		}
	}
}

func TestVolumes(t *testing.T) {
	e := start(t, fast, "")
	d, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "data", Size: 10_500_000_000, StorageType: "l_hdd"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Size != 11_000_000_000 || d.StorageType != "l_hdd" || d.State != providers.StateReady || d.Status != "available" {
		t.Errorf("created %+v: want 11 GB (rounded up), l_hdd, ready", d)
	}
	var raw map[string]any
	if err := json.Unmarshal(d.Raw.(json.RawMessage), &raw); err != nil || raw["volume_type"] != "l_hdd" {
		t.Errorf("Raw is not the API's volume: %s, %v", d.Raw, err)
	}
	if _, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 1e9, StorageType: "fast"}); !errors.Is(err, providers.ErrInvalid) ||
		!strings.Contains(err.Error(), "volume_type") {
		t.Errorf("bad volume type: %v, want ErrInvalid naming volume_type", err)
	}
	if _, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 1e9, Tags: []string{"a"}}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("tags: %v, want ErrUnsupported", err)
	}
	name := "renamed"
	got, err := e.p.DriveEditor.EditDrive(ctx, d.UUID, providers.DriveEdit{Name: &name})
	if err != nil || got.Name != name || got.Size != d.Size {
		t.Errorf("EditDrive = %+v, %v", got, err)
	}
	if _, err := e.p.DriveEditor.ResizeDrive(ctx, d.UUID, 20e9); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("ResizeDrive: %v, want ErrUnsupported", err)
	}
	if _, err := e.p.Drives.CloneDrive(ctx, d.UUID, providers.CloneSpec{}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("CloneDrive: %v, want ErrUnsupported", err)
	}
	list, err := e.p.Drives.ListDrives(ctx, providers.DriveFilter{Statuses: []string{"available"}})
	if err != nil || len(list) != 1 || list[0].UUID != d.UUID {
		t.Errorf("ListDrives(available) = %v, %v", list, err)
	}
	if list, _ := e.p.Drives.ListDrives(ctx, providers.DriveFilter{Tags: []string{"a"}}); len(list) != 0 {
		t.Errorf("a tag filter matched %d volumes, which have no tags", len(list))
	}
	if err := e.p.Drives.DeleteDrives(ctx, d.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Drives.GetDrive(ctx, d.UUID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func TestErrorKinds(t *testing.T) {
	bad := start(t, fast, "not-the-token")
	_, err := bad.p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if !errors.Is(err, providers.ErrAuth) || providers.IsRetryable(err) {
		t.Errorf("wrong token: %v, want ErrAuth, not retryable", err)
	}
	if strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("the error shows the token: %v", err)
	}
	var apiErr *providers.APIError
	if !errors.As(err, &apiErr) || apiErr.Type != "invalid_auth" {
		t.Errorf("wrong token: %#v, want the API's type invalid_auth", err)
	}

	e := start(t, fast, "")
	for what, err := range map[string]error{
		"get":    second(e.p.Drives.GetDrive(ctx, "00000000-0000-4000-8000-000000000000")),
		"delete": e.p.Snapshots.DeleteSnapshots(ctx, "00000000-0000-4000-8000-000000000000"),
		"task":   second(e.p.Jobs.GetJob(ctx, "00000000-0000-4000-8000-000000000000")),
		"server": second(e.p.Servers.GetServer(ctx, "00000000-0000-4000-8000-000000000000")),
	} {
		if !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("%s of an unknown ID: %v, want ErrNotFound", what, err)
		}
	}
	_, err = e.p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: "00000000-0000-4000-8000-000000000000", Name: "s"})
	if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "volume_id") {
		t.Errorf("snapshot of an unknown volume: %v, want ErrInvalid naming volume_id", err)
	}
	if err := e.p.Images.DeleteImages(ctx, "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c"); !errors.Is(err, providers.ErrPermission) {
		t.Errorf("deleting the public image: %v, want ErrPermission", err)
	}

	// Another organization than the token's is forbidden.
	other, err := onlinelabs.Cloud().Open(ctx, providers.Config{onlinelabs.SettingEndpoint: e.url,
		onlinelabs.SettingToken: e.emu.Config().Token, onlinelabs.SettingOrganization: "someone-else"}, providers.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 1e9}); !errors.Is(err, providers.ErrPermission) {
		t.Errorf("another organization: %v, want ErrPermission", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestSnapshotsAndImages(t *testing.T) {
	clock := newClock()
	cfg := emulator.Config{OperationTime: time.Minute, Now: clock.now}
	e := start(t, cfg, "")
	d, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "vol", Size: 5e9})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: d.UUID, Name: "s", Meta: map[string]string{"k": "v"}}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("snapshot with metadata: %v, want ErrUnsupported", err)
	}
	sn, err := e.p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: d.UUID, Name: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	if sn.State != providers.StateBusy || sn.Status != "snapshotting" || sn.Drive != d.UUID || sn.Size != 5e9 {
		t.Errorf("new snapshot %+v: want snapshotting (busy) of %s", sn, d.UUID)
	}
	if _, err := e.p.Images.CreateImage(ctx, providers.ImageSpec{Name: "img", From: sn.UUID}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("image of a snapshot still snapshotting: %v, want ErrInvalid", err)
	}
	clock.add(time.Minute)
	if sn, err = e.p.Snapshots.GetSnapshot(ctx, sn.UUID); err != nil || sn.State != providers.StateReady {
		t.Errorf("after the operation time: %+v, %v; want ready", sn, err)
	}
	name := "weekly"
	if got, err := e.p.Snapshots.EditSnapshot(ctx, sn.UUID, &name, nil); err != nil || got.Name != name {
		t.Errorf("EditSnapshot = %+v, %v", got, err)
	}
	other, _ := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "other", Size: 1e9})
	if _, err := e.p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: other.UUID, Name: "o"}); err != nil {
		t.Fatal(err)
	}
	of, err := e.p.Snapshots.ListSnapshots(ctx, d.UUID)
	if err != nil || len(of) != 1 || of[0].UUID != sn.UUID {
		t.Errorf("ListSnapshots(%s) = %v, %v; want only %s", d.UUID, of, err, sn.UUID)
	}
	im, err := e.p.Images.CreateImage(ctx, providers.ImageSpec{Name: "img", From: sn.UUID})
	if err != nil || im.Source != sn.UUID || im.Arch != "arm" || im.State != providers.StateReady || im.Public {
		t.Fatalf("CreateImage = %+v, %v", im, err)
	}
	if err := e.p.Snapshots.DeleteSnapshots(ctx, sn.UUID); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("deleting an image's snapshot: %v, want ErrInvalid", err)
	}
	all, err := e.p.Images.ListImages(ctx)
	if err != nil || len(all) != 2 || !all[0].Public || all[1].ID != im.ID {
		t.Errorf("ListImages = %+v, %v; want the public image and %s", all, err, im.ID)
	}
	if err := e.p.Images.DeleteImages(ctx, im.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Snapshots.DeleteSnapshots(ctx, sn.UUID); err != nil {
		t.Errorf("deleting the snapshot once its image is gone: %v", err)
	}
}

// clock is a settable time for the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2014, 7, 22, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// createServer makes a server the way the Online Labs API guide does; the provider offers
// no server creation.
func createServer(t *testing.T, e *env, name string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name": %q, "image": "fe8dfea7-bb8c-490c-a554-1a44a3c4af8c", "organization": %q}`, name, e.emu.Config().Organization)
	req, _ := http.NewRequest("POST", e.url+"/servers", bytes.NewBufferString(body))
	req.Header.Set("X-Auth-Token", e.emu.Config().Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Server struct {
			ID string `json:"id"`
		} `json:"server"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create server: %d, %v", resp.StatusCode, err)
	}
	return out.Server.ID
}

func TestServersPowerAndAttach(t *testing.T) {
	clock := newClock()
	e := start(t, emulator.Config{OperationTime: time.Minute, Now: clock.now}, "")
	sid := createServer(t, e, "web")
	vol, err := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "data", Size: 10e9})
	if err != nil {
		t.Fatal(err)
	}

	s, err := e.p.Attacher.AttachDrive(ctx, vol.UUID, sid)
	if err != nil {
		t.Fatalf("attach to a stopped server: %v", err)
	}
	if len(s.Drives) != 2 || s.Drives[1].Drive != vol.UUID || s.Drives[1].Slot != "1" || !s.Drives[0].Boot || s.State != providers.StateReady {
		t.Errorf("server after attach: %+v", s)
	}
	d, err := e.p.Drives.GetDrive(ctx, vol.UUID)
	if err != nil || d.Status != "attached" || d.State != providers.StateReady || len(d.Servers) != 1 || d.Servers[0] != sid {
		t.Errorf("volume on a stopped server: %+v, %v; want attached, ready, on %s", d, err, sid)
	}

	job, err := e.p.ServerPower.StartServer(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != providers.StateBusy || job.Status != "pending" || job.Operation != "server_batch_poweron" ||
		job.Progress != 0 || len(job.Resources) != 1 || job.Resources[0] != sid {
		t.Errorf("poweron job: %+v", job)
	}
	clock.add(30 * time.Second)
	if j, err := e.p.Jobs.GetJob(ctx, job.UUID); err != nil || j.Status != "started" || j.State != providers.StateBusy || j.Progress != 50 {
		t.Errorf("half way: %+v, %v; want started at 50%%", j, err)
	}
	if s, _ := e.p.Servers.GetServer(ctx, sid); s.Status != "starting" || s.State != providers.StateBusy {
		t.Errorf("server half way: %s (%s), want starting (busy)", s.Status, s.State)
	}
	clock.add(30 * time.Second)
	if j, err := e.p.Jobs.GetJob(ctx, job.UUID); err != nil || j.Status != "success" || j.State != providers.StateReady || j.Progress != 100 {
		t.Errorf("done: %+v, %v; want success", j, err)
	}
	if d, _ := e.p.Drives.GetDrive(ctx, vol.UUID); d.State != providers.StateInUse {
		t.Errorf("volume on a running server: %s, want in-use", d.State)
	}
	if list, _ := e.p.Drives.ListDrives(ctx, providers.DriveFilter{UUIDs: []string{vol.UUID}}); len(list) != 1 || list[0].State != providers.StateInUse {
		t.Errorf("ListDrives: %+v, want the volume in use", list)
	}

	// The API refuses volume changes on a running server.
	other, _ := e.p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "more", Size: 1e9})
	_, err = e.p.Attacher.AttachDrive(ctx, other.UUID, sid)
	var h *providers.HintError
	if !errors.Is(err, providers.ErrInvalid) || !errors.As(err, &h) || !strings.Contains(h.Hint, "stopped") {
		t.Errorf("attach to a running server: %v, want ErrInvalid with a hint to stop it", err)
	}
	if _, err := e.p.Attacher.DetachDrive(ctx, vol.UUID); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("detach from a running server: %v, want ErrInvalid", err)
	}
	if _, err := e.p.ServerPower.StartServer(ctx, sid); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("poweron of a running server: %v, want ErrInvalid", err)
	}

	job, err = e.p.ServerPower.StopServer(ctx, sid)
	if err != nil || job.Operation != "server_poweroff" {
		t.Fatalf("poweroff: %+v, %v", job, err)
	}
	clock.add(time.Minute)
	s, err = e.p.Attacher.DetachDrive(ctx, vol.UUID)
	if err != nil || len(s.Drives) != 1 || s.Drives[0].Drive == vol.UUID {
		t.Fatalf("detach from the stopped server: %+v, %v", s, err)
	}
	if d, _ := e.p.Drives.GetDrive(ctx, vol.UUID); d.Status != "available" || len(d.Servers) != 0 {
		t.Errorf("volume after detach: %+v", d)
	}
	if _, err := e.p.Attacher.DetachDrive(ctx, vol.UUID); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("detach of a detached volume: %v, want ErrInvalid", err)
	}

	servers, err := e.p.Servers.ListServers(ctx)
	if err != nil || len(servers) != 1 || servers[0].ID != sid || servers[0].State != providers.StateReady {
		t.Errorf("ListServers = %+v, %v", servers, err)
	}
	jobs, err := e.p.Jobs.ListJobs(ctx)
	if err != nil || len(jobs) != 2 || jobs[0].State != providers.StateReady {
		t.Errorf("ListJobs = %+v, %v", jobs, err)
	}
}

// TestPagingWithoutLink checks that the client pages on by page number
// when the API sends no Link header, and that it stops at a short page.
func TestPagingWithoutLink(t *testing.T) {
	var pages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages = append(pages, r.URL.Query().Get("page")+"/"+r.URL.Query().Get("per_page"))
		n := 100
		if r.URL.Query().Get("page") == "3" {
			n = 7
		}
		var vols []string
		for i := range n {
			vols = append(vols, fmt.Sprintf(`{"id": "%s-%d", "name": "v", "size": 1000000000, "volume_type": "l_ssd", "server": null}`,
				r.URL.Query().Get("page"), i))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"volumes": [%s]}`, strings.Join(vols, ","))
	}))
	defer srv.Close()
	p, err := onlinelabs.Cloud().Open(ctx, providers.Config{onlinelabs.SettingEndpoint: srv.URL,
		onlinelabs.SettingToken: "t", onlinelabs.SettingOrganization: "o"}, providers.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if err != nil || len(list) != 207 {
		t.Fatalf("ListDrives = %d volumes, %v; want 207", len(list), err)
	}
	if strings.Join(pages, " ") != "1/100 2/100 3/100" {
		t.Errorf("pages asked: %v", pages)
	}
}

// TestTokenStaysHome checks that a Link header naming another host does
// not take the token there: only its query is used.
func TestTokenStaysHome(t *testing.T) {
	var leaked bool
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked = true }))
	defer evil.Close()
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("X-Auth-Token") != "secret" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Query().Get("page") == "1" {
			w.Header().Set("Link", "<"+evil.URL+"/volumes?page=2&per_page=100>; rel=\"next\"")
			fmt.Fprint(w, `{"volumes": [{"id": "a"}]}`)
			return
		}
		fmt.Fprint(w, `{"volumes": [{"id": "b"}]}`)
	}))
	defer srv.Close()
	p, err := onlinelabs.Cloud().Open(ctx, providers.Config{onlinelabs.SettingEndpoint: srv.URL,
		onlinelabs.SettingToken: "secret", onlinelabs.SettingOrganization: "o"}, providers.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if err != nil || len(list) != 2 || leaked || calls != 2 {
		t.Errorf("ListDrives = %d, %v; leaked %v, calls %d", len(list), err, leaked, calls)
	}
}

func TestDebugTraceHasNoToken(t *testing.T) {
	emu := emulator.New(fast)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	var trace bytes.Buffer
	p, err := onlinelabs.Cloud().Open(ctx, providers.Config{onlinelabs.SettingEndpoint: srv.URL,
		onlinelabs.SettingToken: emu.Config().Token, onlinelabs.SettingOrganization: emu.Config().Organization},
		providers.OpenOptions{Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drives.ListDrives(ctx, providers.DriveFilter{}); err != nil {
		t.Fatal(err)
	}
	if trace.Len() == 0 || strings.Contains(trace.String(), emu.Config().Token) {
		t.Errorf("trace %q: want lines, never the token", trace.String())
	}
}
