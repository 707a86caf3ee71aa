package centurylink_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/centurylink"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/centurylink"
)

// openClock opens the cloud on an emulator whose operations take a minute
// of clk's time.
func openClock(t *testing.T, servers ...string) (*providers.Provider, *clock) {
	t.Helper()
	clk := newClock()
	e := startEmulator(t, emulator.Config{Servers: servers, OperationTime: time.Minute, Now: clk.Now})
	return e.open(t, nil, providers.OpenOptions{}), clk
}

func onServer(server, path string, size int64) providers.DriveSpec {
	return providers.DriveSpec{Size: size, Meta: map[string]string{centurylink.MetaServer: server, centurylink.MetaPath: path}}
}

func TestDrives(t *testing.T) {
	p, clk := openClock(t, "web", "db")
	ctx := context.Background()

	all, err := p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if err != nil || len(all) != 6 {
		t.Fatalf("ListDrives = %d drives, %v; want the 3 template disks of each of 2 servers", len(all), err)
	}
	root, err := p.Drives.GetDrive(ctx, web+":0:2")
	if err != nil || root.Size != 14<<30 || root.State != providers.StateInUse || root.Meta[centurylink.MetaOS] != "true" {
		t.Fatalf("GetDrive(0:2) = %+v, %v; want 14 GB, in use on a running server, an OS disk", root, err)
	}

	// A partitioned disk: its name is its path; busy until its operation ends.
	d, err := p.Drives.CreateDrive(ctx, onServer(web, "/data", 10<<30+1))
	if err != nil {
		t.Fatal(err)
	}
	if d.UUID != web+":0:3" || d.Name != "/data" || d.Size != 11<<30 || d.State != providers.StateBusy || len(d.Jobs) != 1 {
		t.Fatalf("CreateDrive = %+v; want %s:0:3 named /data, 11 GB (rounded up), busy with its operation", d, web)
	}
	clk.Add(2 * time.Minute)
	if g, err := p.Drives.GetDrive(ctx, d.UUID); err != nil || g.State != providers.StateInUse || len(g.Jobs) != 0 {
		t.Fatalf("after the operation GetDrive = %+v, %v; want in use, no job", g, err)
	}
	// A raw disk, by the name convention without a path.
	raw, err := p.Drives.CreateDrive(ctx, onServer("wa1aliasdb01", "", 1))
	if err != nil || raw.UUID != "WA1ALIASDB01:0:3" || raw.Meta[centurylink.MetaPath] != "" {
		t.Fatalf("raw CreateDrive = %+v, %v", raw, err)
	}
	named, err := p.Drives.ListDrives(ctx, providers.DriveFilter{Names: []string{"/data"}})
	if err != nil || len(named) != 1 || named[0].UUID != d.UUID {
		t.Errorf("ListDrives(name /data) = %v, %v", named, err)
	}
	ctl := p.Drives.(*centurylink.Client)
	mine, err := ctl.ServerDrives(ctx, web)
	if err != nil || len(mine) != 4 {
		t.Errorf("ServerDrives(%s) = %d, %v; want 4", web, len(mine), err)
	}

	// Grow only.
	if _, err := p.DriveEditor.ResizeDrive(ctx, d.UUID, 5<<30); !errors.Is(err, providers.ErrInvalid) ||
		!strings.Contains(err.Error(), "only grow") {
		t.Errorf("shrink: %v, want ErrInvalid saying disks only grow", err)
	}
	g, err := p.DriveEditor.ResizeDrive(ctx, d.UUID, 20<<30)
	if err != nil || g.Size != 20<<30 || g.State != providers.StateBusy {
		t.Errorf("grow = %+v, %v; want 20 GB, busy", g, err)
	}
	if _, err := p.DriveEditor.EditDrive(ctx, d.UUID, providers.DriveEdit{}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("EditDrive: %v, want ErrUnsupported", err)
	}

	// Refusals and lookups.
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"delete an OS disk", p.Drives.DeleteDrives(ctx, d.UUID, web+":0:0"), providers.ErrInvalid},
		{"delete an unknown disk", p.Drives.DeleteDrives(ctx, web+":0:9"), providers.ErrNotFound},
		{"delete on an unknown server", p.Drives.DeleteDrives(ctx, "WA1ALIASNONE01:0:3"), providers.ErrNotFound},
		{"delete a malformed ID", p.Drives.DeleteDrives(ctx, web), providers.ErrInvalid},
		{"create without a server", second(p.Drives.CreateDrive(ctx, providers.DriveSpec{Name: "/x", Size: 1})), providers.ErrInvalid},
		{"create on an unknown server", second(p.Drives.CreateDrive(ctx, onServer("WA1ALIASNONE01", "", 1))), providers.ErrNotFound},
		{"create on a reserved path", second(p.Drives.CreateDrive(ctx, onServer(web, "/boot", 1))), providers.ErrInvalid},
		{"clone", second(p.Drives.CloneDrive(ctx, d.UUID, providers.CloneSpec{})), providers.ErrUnsupported},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	err = p.Drives.DeleteDrives(ctx, d.UUID, web+":0:0")
	if !strings.Contains(err.Error(), "operating-system disk") {
		t.Errorf("OS disk refusal %q does not say why", err)
	}
	if _, err := p.Drives.GetDrive(ctx, d.UUID); err != nil {
		t.Errorf("a refused deletion removed %s: %v", d.UUID, err)
	}
	if err := p.Drives.DeleteDrives(ctx, d.UUID, raw.UUID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{d.UUID, raw.UUID} {
		if _, err := p.Drives.GetDrive(ctx, id); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("GetDrive(%s) after deletion: %v, want ErrNotFound", id, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestSnapshots(t *testing.T) {
	p, clk := openClock(t, "web")
	ctx := context.Background()
	if _, err := p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: web, ExpireDays: 11}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("11 days: %v, want ErrInvalid", err)
	}
	if _, err := p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: "WA1ALIASNONE01"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown server: %v, want ErrNotFound", err)
	}
	sn, err := p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: web, ExpireDays: 3})
	if err != nil || sn.UUID != web || sn.State != providers.StateBusy || len(sn.Jobs) != 1 {
		t.Fatalf("CreateSnapshot = %+v, %v; want the server's snapshot, busy, with its job", sn, err)
	}
	if g, err := p.Snapshots.GetSnapshot(ctx, web); err != nil || g.State != providers.StateBusy {
		t.Errorf("while taken: %+v, %v; want busy", g, err)
	}
	clk.Add(2 * time.Minute)
	first, err := p.Snapshots.GetSnapshot(ctx, web)
	if err != nil || first.State != providers.StateReady || first.Meta["id"] == "" || first.Drive != web {
		t.Fatalf("after the operation: %+v, %v; want ready with the API's ID", first, err)
	}
	if _, err := p.Snapshots.GetSnapshot(ctx, web+":"+first.Meta["id"]); err != nil {
		t.Errorf("GetSnapshot(SERVER:N): %v", err)
	}
	if _, err := p.Snapshots.GetSnapshot(ctx, web+":999"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetSnapshot of another number: %v, want ErrNotFound", err)
	}

	// One per server: another only with Replace.
	_, err = p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: web})
	var h *providers.HintError
	if !errors.Is(err, providers.ErrInvalid) || !errors.As(err, &h) || !strings.Contains(h.Hint, "--replace") {
		t.Errorf("second snapshot: %v, want ErrInvalid with a hint naming --replace", err)
	}
	// A disk added after the snapshot is gone once it is restored.
	d, err := p.Drives.CreateDrive(ctx, onServer(web, "/data", 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	job, err := p.SnapshotRestorer.RestoreSnapshot(ctx, web)
	if err != nil || job.UUID == "" || job.State != providers.StateBusy {
		t.Fatalf("RestoreSnapshot = %+v, %v", job, err)
	}
	clk.Add(2 * time.Minute)
	if j, err := p.Jobs.GetJob(ctx, job.UUID); err != nil || j.State != providers.StateReady || j.Status != "succeeded" {
		t.Errorf("restore job = %+v, %v; want succeeded", j, err)
	}
	if _, err := p.Drives.GetDrive(ctx, d.UUID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("disk added after the snapshot, after the restore: %v, want ErrNotFound", err)
	}

	// Replace runs in the emulator's time: move the clock while it waits
	// for the old snapshot's deletion.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				clk.Add(10 * time.Second)
			}
		}
	}()
	repl, err := p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: web, Replace: true})
	close(stop)
	if err != nil || repl.State != providers.StateBusy {
		t.Fatalf("Replace: %+v, %v", repl, err)
	}
	clk.Add(2 * time.Minute)
	replaced, err := p.Snapshots.GetSnapshot(ctx, web)
	if err != nil || replaced.Meta["id"] == first.Meta["id"] {
		t.Errorf("after Replace: %+v, %v; want a new snapshot (not %s)", replaced, err, first.Meta["id"])
	}
	list, err := p.Snapshots.ListSnapshots(ctx, "")
	if err != nil || len(list) != 1 {
		t.Errorf("ListSnapshots = %v, %v; want one", list, err)
	}
	if err := p.Snapshots.DeleteSnapshots(ctx, web); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Snapshots.GetSnapshot(ctx, web); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("after deletion: %v, want ErrNotFound", err)
	}
	if err := p.Snapshots.DeleteSnapshots(ctx, web); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}
	if _, err := p.SnapshotRestorer.RestoreSnapshot(ctx, web); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("restoring a server without a snapshot: %v, want ErrNotFound", err)
	}
}

func TestJobs(t *testing.T) {
	p, clk := openClock(t, "web")
	ctx := context.Background()
	job, err := p.ServerPower.StopServer(ctx, web)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		status  string
		state   providers.State
	}{
		{0, "notStarted", providers.StateBusy},
		{30 * time.Second, "executing", providers.StateBusy},
		{time.Minute, "succeeded", providers.StateReady},
	} {
		clk.Add(step.advance)
		j, err := p.Jobs.GetJob(ctx, job.UUID)
		if err != nil || j.Status != step.status || j.State != step.state {
			t.Errorf("GetJob = %+v, %v; want %s (%s)", j, err, step.status, step.state)
		}
	}
	if s, err := p.Servers.GetServer(ctx, web); err != nil || s.State != providers.StateReady || s.Status != "stopped" {
		t.Errorf("stopped server = %+v, %v; want ready", s, err)
	}
	if _, err := p.Jobs.GetJob(ctx, "wa1-1"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown operation: %v, want ErrNotFound", err)
	}
	if _, err := p.Jobs.ListJobs(ctx); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("ListJobs: %v, want ErrUnsupported", err)
	}
	if _, err := p.ServerPower.StartServer(ctx, "WA1ALIASNONE01"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("start an unknown server: %v, want ErrNotFound", err)
	}
}

func TestServersAndImages(t *testing.T) {
	p, _ := openClock(t, "web", "web")
	ctx := context.Background()
	ss, err := p.Servers.ListServers(ctx)
	if err != nil || len(ss) != 2 || ss[0].ID != web || ss[1].ID != "WA1ALIASWEB02" {
		t.Fatalf("ListServers = %+v, %v", ss, err)
	}
	s := ss[0]
	if s.State != providers.StateInUse || len(s.Drives) != 3 || !s.Drives[0].Boot || s.Drives[0].Drive != web+":0:0" {
		t.Errorf("server %+v", s)
	}
	if _, err := p.Servers.GetServer(ctx, "WA1ALIASNONE01"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown server: %v, want ErrNotFound", err)
	}
	imgs, err := p.Images.ListImages(ctx)
	if err != nil || !slices.ContainsFunc(imgs, func(i providers.Image) bool {
		return i.ID == "RHEL-6-64-TEMPLATE" && i.Size == 17<<30 && i.State == providers.StateReady
	}) {
		t.Errorf("ListImages = %+v, %v; want the RHEL template of 17 GB", imgs, err)
	}
	if _, err := p.Images.GetImage(ctx, "NOPE"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown template: %v, want ErrNotFound", err)
	}
	if p.Images.ImageSource() != "" {
		t.Errorf("templates are read-only; ImageSource = %q", p.Images.ImageSource())
	}
}
