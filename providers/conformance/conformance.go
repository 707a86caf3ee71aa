// Package conformance is the test suite every cloud's provider passes, run
// against that cloud's emulator (or a test fake): the management services
// must behave alike wherever drivecp relies on them, whatever the wire
// protocol underneath. It is modelled on restic's backend tests: one Run
// that a provider's own test calls with a Harness saying how to reach a
// fresh, empty cloud.
//
// What it checks, for each service the provider offers (a nil service is
// skipped, never a failure):
//   - drives: create, get, list (every page, and the name filter), edit,
//     delete; a new drive settles in a usable state;
//   - snapshots and images: create, settle, get, list, delete;
//   - servers and jobs: list, get;
//   - errors: an unknown ID is ErrNotFound for every lookup and deletion,
//     wrong credentials are ErrAuth.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// Harness says how to reach the cloud under test.
type Harness struct {
	// Open returns a provider connected to a fresh, empty cloud (for
	// example an emulator started for this call, stopped by t.Cleanup).
	Open func(t *testing.T) *providers.Provider
	// OpenBadAuth returns a provider for the same kind of cloud with
	// credentials it refuses; nil skips the authentication test.
	OpenBadAuth func(t *testing.T) *providers.Provider
	// DriveSize is a size the cloud accepts for a new drive, in bytes.
	DriveSize int64
	// DriveSpec, when not nil, completes a drive specification with what
	// the cloud needs besides name and size (a server to add a disk to,
	// say), creating that in p if necessary.
	DriveSpec func(t *testing.T, p *providers.Provider, spec providers.DriveSpec) providers.DriveSpec
	// SnapshotTarget returns what to snapshot: a drive (the one given) or,
	// on clouds that snapshot servers, a server. Nil: the drive.
	SnapshotTarget func(t *testing.T, p *providers.Provider, drive providers.Drive) string
	// UnknownID is an identifier that exists nowhere, in the form the cloud
	// uses (a UUID, a SERVER:DISK pair). Empty: a fixed UUID.
	UnknownID string
	// Many is how many drives the paging test creates: more than the API's
	// default page size. 0 skips it.
	Many int
	// Settle bounds every wait for an object to settle; 0 means 30 s.
	Settle time.Duration
	// Cloud, when set, is the registration whose Capabilities must match
	// what Open returns.
	Cloud *providers.Cloud
}

// Run runs the suite. Each part is a subtest on a cloud of its own, so a
// failure in one does not hide the others.
func Run(t *testing.T, h Harness) {
	if h.UnknownID == "" {
		h.UnknownID = "00000000-0000-4000-8000-000000000000"
	}
	if h.Settle <= 0 {
		h.Settle = 30 * time.Second
	}
	t.Run("Capabilities", func(t *testing.T) { testCapabilities(t, h) })
	t.Run("Drives", func(t *testing.T) { testDrives(t, h) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, h) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, h) })
	t.Run("Auth", func(t *testing.T) { testAuth(t, h) })
	t.Run("Snapshots", func(t *testing.T) { testSnapshots(t, h) })
	t.Run("Images", func(t *testing.T) { testImages(t, h) })
	t.Run("Servers", func(t *testing.T) { testServers(t, h) })
}

func (h Harness) spec(t *testing.T, p *providers.Provider, name string) providers.DriveSpec {
	spec := providers.DriveSpec{Name: name, Size: h.DriveSize}
	if h.DriveSpec != nil {
		spec = h.DriveSpec(t, p, spec)
	}
	return spec
}

// createDrive creates a drive and waits until it is usable.
func (h Harness) createDrive(t *testing.T, p *providers.Provider, name string) providers.Drive {
	t.Helper()
	ctx := context.Background()
	d, err := p.Drives.CreateDrive(ctx, h.spec(t, p, name))
	if err != nil {
		t.Fatalf("CreateDrive(%q): %v", name, err)
	}
	if d.UUID == "" || d.Name != name || d.Size < h.DriveSize {
		t.Fatalf("CreateDrive(%q) = %+v: want its ID, the name and at least %d bytes", name, d, h.DriveSize)
	}
	return h.settleDrive(t, p, d)
}

func (h Harness) settleDrive(t *testing.T, p *providers.Provider, d providers.Drive) providers.Drive {
	t.Helper()
	got, err := settle(h.Settle, d, func(ctx context.Context) (providers.Drive, providers.State, error) {
		g, err := p.Drives.GetDrive(ctx, d.UUID)
		return g, g.State, err
	})
	if err != nil {
		t.Fatalf("drive %s: %v", d.UUID, err)
	}
	if !got.State.Usable() {
		t.Fatalf("drive %s settled as %s (%s), want ready or in use", got.UUID, got.State, got.Status)
	}
	return got
}

// settle polls get until the state it reports is settled.
func settle[T any](limit time.Duration, cur T, get func(ctx context.Context) (T, providers.State, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		got, st, err := get(ctx)
		if err != nil {
			return cur, err
		}
		if st == "" {
			return got, fmt.Errorf("no neutral state: the provider must map every status word")
		}
		if st.Settled() {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("still %s after %s", st, limit)
		case <-time.After(delay):
		}
	}
}

func testCapabilities(t *testing.T, h Harness) {
	if h.Cloud == nil {
		t.Skip("Harness.Cloud is nil")
	}
	p := h.Open(t)
	if got := p.Capabilities(); !got.Equal(h.Cloud.Capabilities) {
		t.Errorf("Open returns a provider with %+v, the registration says %+v", got, h.Cloud.Capabilities)
	}
	if p.Cloud != h.Cloud.Name {
		t.Errorf("provider names its cloud %q, the registration %q", p.Cloud, h.Cloud.Name)
	}
}

func testDrives(t *testing.T, h Harness) {
	p := h.Open(t)
	if p.Drives == nil {
		t.Skip("no drive service")
	}
	ctx := context.Background()
	d := h.createDrive(t, p, "conformance-a")

	got, err := p.Drives.GetDrive(ctx, d.UUID)
	if err != nil || got.UUID != d.UUID || got.Name != d.Name || got.Size != d.Size {
		t.Fatalf("GetDrive = %+v, %v; want %+v", got, err, d)
	}
	if got.Raw == nil {
		t.Errorf("GetDrive: Raw is nil; --json prints the API's own object from it")
	}
	other := h.createDrive(t, p, "conformance-b")

	all, err := p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if err != nil {
		t.Fatalf("ListDrives: %v", err)
	}
	for _, want := range []string{d.UUID, other.UUID} {
		if !slices.ContainsFunc(all, func(x providers.Drive) bool { return x.UUID == want }) {
			t.Errorf("ListDrives lacks %s: %v", want, ids(all))
		}
	}
	named, err := p.Drives.ListDrives(ctx, providers.DriveFilter{Names: []string{"conformance-b"}})
	if err != nil || len(named) != 1 || named[0].UUID != other.UUID {
		t.Errorf("ListDrives(name conformance-b) = %v, %v; want only %s", ids(named), err, other.UUID)
	}

	if p.DriveEditor != nil {
		name := "conformance-renamed"
		e, err := p.DriveEditor.EditDrive(ctx, d.UUID, providers.DriveEdit{Name: &name})
		if err != nil && !errors.Is(err, providers.ErrUnsupported) {
			t.Fatalf("EditDrive: %v", err)
		}
		if err == nil {
			if e.Name != name {
				t.Errorf("EditDrive returned name %q, want %q", e.Name, name)
			}
			if g, err := p.Drives.GetDrive(ctx, d.UUID); err != nil || g.Name != name {
				t.Errorf("after EditDrive, GetDrive = %q, %v; want name %q", g.Name, err, name)
			}
		}
	}

	if err := p.Drives.DeleteDrives(ctx, d.UUID, other.UUID); err != nil {
		t.Fatalf("DeleteDrives: %v", err)
	}
	for _, id := range []string{d.UUID, other.UUID} {
		waitGone(t, h, "drive "+id, func(ctx context.Context) (providers.State, error) {
			g, err := p.Drives.GetDrive(ctx, id)
			return g.State, err
		})
	}
}

// waitGone waits until get answers ErrNotFound or reports StateGone.
func waitGone(t *testing.T, h Harness, what string, get func(ctx context.Context) (providers.State, error)) {
	t.Helper()
	deadline := time.Now().Add(h.Settle)
	for {
		st, err := get(context.Background())
		switch {
		case errors.Is(err, providers.ErrNotFound), err == nil && st == providers.StateGone:
			return
		case err != nil:
			t.Fatalf("%s after deletion: %v, want ErrNotFound", what, err)
		case time.Now().After(deadline):
			t.Fatalf("%s still %s %s after deletion", what, st, h.Settle)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testPaging(t *testing.T, h Harness) {
	if h.Many == 0 {
		t.Skip("Harness.Many is 0")
	}
	p := h.Open(t)
	if p.Drives == nil {
		t.Skip("no drive service")
	}
	ctx := context.Background()
	want := make([]string, 0, h.Many)
	for i := range h.Many {
		d, err := p.Drives.CreateDrive(ctx, h.spec(t, p, fmt.Sprintf("page-%03d", i)))
		if err != nil {
			t.Fatalf("CreateDrive %d: %v", i, err)
		}
		want = append(want, d.UUID)
	}
	all, err := p.Drives.ListDrives(ctx, providers.DriveFilter{})
	if err != nil {
		t.Fatalf("ListDrives: %v", err)
	}
	got := ids(all)
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Fatalf("ListDrives returned %d drives and lacks %s: lists must fetch every page", len(all), id)
		}
	}
	if len(got) != len(slices.Compact(slices.Sorted(slices.Values(got)))) {
		t.Errorf("ListDrives returned a drive twice: %v", got)
	}
}

func testNotFound(t *testing.T, h Harness) {
	p := h.Open(t)
	ctx := context.Background()
	id := h.UnknownID
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("%s of an unknown ID: %v, want ErrNotFound", what, err)
		}
	}
	if p.Drives != nil {
		_, err := p.Drives.GetDrive(ctx, id)
		check("GetDrive", err)
		check("DeleteDrives", p.Drives.DeleteDrives(ctx, id))
	}
	if p.Snapshots != nil {
		_, err := p.Snapshots.GetSnapshot(ctx, id)
		check("GetSnapshot", err)
	}
	if p.Images != nil {
		_, err := p.Images.GetImage(ctx, id)
		check("GetImage", err)
	}
	if p.Servers != nil {
		_, err := p.Servers.GetServer(ctx, id)
		check("GetServer", err)
	}
	if p.Jobs != nil {
		_, err := p.Jobs.GetJob(ctx, id)
		check("GetJob", err)
	}
}

func testAuth(t *testing.T, h Harness) {
	if h.OpenBadAuth == nil {
		t.Skip("Harness.OpenBadAuth is nil")
	}
	p := h.OpenBadAuth(t)
	ctx := context.Background()
	var err error
	switch {
	case p.Drives != nil:
		_, err = p.Drives.ListDrives(ctx, providers.DriveFilter{})
	case p.Servers != nil:
		_, err = p.Servers.ListServers(ctx)
	default:
		t.Skip("neither drives nor servers to list")
	}
	if !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("listing with refused credentials: %v, want ErrAuth", err)
	}
	if providers.IsRetryable(err) {
		t.Errorf("refused credentials must not be retried: %v", err)
	}
}

func testSnapshots(t *testing.T, h Harness) {
	p := h.Open(t)
	if p.Snapshots == nil || p.Drives == nil {
		t.Skip("no snapshot service")
	}
	ctx := context.Background()
	d := h.createDrive(t, p, "conformance-snap")
	target := d.UUID
	if h.SnapshotTarget != nil {
		target = h.SnapshotTarget(t, p, d)
	}
	sn, err := p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: target, Name: "conformance"})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	if sn.UUID == "" {
		t.Fatalf("CreateSnapshot = %+v: no ID", sn)
	}
	sn, err = settle(h.Settle, sn, func(ctx context.Context) (providers.Snapshot, providers.State, error) {
		g, err := p.Snapshots.GetSnapshot(ctx, sn.UUID)
		return g, g.State, err
	})
	if err != nil || sn.State != providers.StateReady {
		t.Fatalf("snapshot %s: %v (state %s)", sn.UUID, err, sn.State)
	}
	if sn.Drive != target {
		t.Errorf("snapshot of %q, want %q", sn.Drive, target)
	}
	for _, of := range []string{"", target} {
		list, err := p.Snapshots.ListSnapshots(ctx, of)
		if err != nil || !slices.ContainsFunc(list, func(s providers.Snapshot) bool { return s.UUID == sn.UUID }) {
			t.Errorf("ListSnapshots(%q) = %d snapshots, %v; want %s among them", of, len(list), err, sn.UUID)
		}
	}
	if err := p.Snapshots.DeleteSnapshots(ctx, sn.UUID); err != nil {
		t.Fatalf("DeleteSnapshots: %v", err)
	}
	waitGone(t, h, "snapshot "+sn.UUID, func(ctx context.Context) (providers.State, error) {
		g, err := p.Snapshots.GetSnapshot(ctx, sn.UUID)
		return g.State, err
	})
}

func testImages(t *testing.T, h Harness) {
	p := h.Open(t)
	if p.Images == nil {
		t.Skip("no image service")
	}
	ctx := context.Background()
	if _, err := p.Images.ListImages(ctx); err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	var from string
	switch p.Images.ImageSource() {
	case "":
		return // templates only: nothing to create
	case "drive":
		from = h.createDrive(t, p, "conformance-image-src").UUID
	case "snapshot":
		if p.Snapshots == nil {
			t.Fatalf("images are made of snapshots, but the provider has no snapshot service")
		}
		d := h.createDrive(t, p, "conformance-image-src")
		sn, err := p.Snapshots.CreateSnapshot(ctx, providers.SnapshotSpec{Target: d.UUID, Name: "conformance-image"})
		if err != nil {
			t.Fatalf("CreateSnapshot: %v", err)
		}
		if _, err := settle(h.Settle, sn, func(ctx context.Context) (providers.Snapshot, providers.State, error) {
			g, err := p.Snapshots.GetSnapshot(ctx, sn.UUID)
			return g, g.State, err
		}); err != nil {
			t.Fatalf("snapshot %s: %v", sn.UUID, err)
		}
		from = sn.UUID
	default:
		t.Fatalf("ImageSource() = %q, want \"\", \"drive\" or \"snapshot\"", p.Images.ImageSource())
	}
	img, err := p.Images.CreateImage(ctx, providers.ImageSpec{Name: "conformance", From: from})
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	img, err = settle(h.Settle, img, func(ctx context.Context) (providers.Image, providers.State, error) {
		g, err := p.Images.GetImage(ctx, img.ID)
		return g, g.State, err
	})
	if err != nil || img.State != providers.StateReady || img.Name != "conformance" {
		t.Fatalf("image %+v: %v", img, err)
	}
	list, err := p.Images.ListImages(ctx)
	if err != nil || !slices.ContainsFunc(list, func(i providers.Image) bool { return i.ID == img.ID }) {
		t.Errorf("ListImages lacks %s: %v", img.ID, err)
	}
	if err := p.Images.DeleteImages(ctx, img.ID); err != nil {
		t.Fatalf("DeleteImages: %v", err)
	}
	waitGone(t, h, "image "+img.ID, func(ctx context.Context) (providers.State, error) {
		g, err := p.Images.GetImage(ctx, img.ID)
		return g.State, err
	})
}

func testServers(t *testing.T, h Harness) {
	p := h.Open(t)
	if p.Servers == nil {
		t.Skip("no server service")
	}
	ctx := context.Background()
	list, err := p.Servers.ListServers(ctx)
	if err != nil {
		t.Fatalf("ListServers: %v", err)
	}
	for _, s := range list {
		got, err := p.Servers.GetServer(ctx, s.ID)
		if err != nil || got.ID != s.ID || got.Name != s.Name {
			t.Errorf("GetServer(%s) = %+v, %v; want %+v", s.ID, got, err, s)
		}
		if got.State == "" {
			t.Errorf("server %s has no neutral state (status %q)", s.ID, got.Status)
		}
	}
	if p.Jobs != nil {
		if _, err := p.Jobs.ListJobs(ctx); err != nil && !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("ListJobs: %v", err)
		}
	}
}

func ids(ds []providers.Drive) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.UUID
	}
	return out
}
