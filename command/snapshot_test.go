package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

func TestSnapshotCommands(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("d1", "web", 1<<30, "unmounted")
	f.addDrive("d2", "db", 1<<30, "unmounted")
	ctx := context.Background()
	s := f.services()
	var out bytes.Buffer

	// create waits until the snapshot is available.
	if err := runSnapshotCreate(ctx, &out, s, snapshotCreateOptions{Drive: "d1", Name: "first", Wait: fastWait}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "snap-1\n" || f.findSnap("snap-1").Status != wire.StatusAvailable {
		t.Errorf("create: %q, %+v", out.String(), f.findSnap("snap-1"))
	}
	out.Reset()
	if err := runSnapshotCreate(ctx, &out, s, snapshotCreateOptions{Drive: "d2", Wait: waitOptions{NoWait: true}}); err != nil {
		t.Fatal(err)
	}
	if f.findSnap("snap-2").Status != wire.StatusCreating {
		t.Error("--no-wait waited")
	}

	out.Reset()
	if err := runSnapshotList(ctx, &out, s, "d1", false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"UUID    NAME   DRIVE  SIZE  STATUS     TIMESTAMP\n" +
		"snap-1  first  d1     0 B   available  2014-06-05 09:53:28.851859+00:00\n"
	if out.String() != want {
		t.Errorf("list:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := runSnapshotList(ctx, &out, s, "", true); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &objs); err != nil || len(objs) != 2 {
		t.Errorf("JSON list = %s", out.String())
	}

	out.Reset()
	if err := runSnapshotInfo(ctx, &out, s, "snap-1", false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Drive:      d1\n") || !strings.Contains(out.String(), "Allocated:  0 B (0 bytes)\n") {
		t.Errorf("info:\n%s", out.String())
	}

	out.Reset()
	name := "renamed"
	if err := runSnapshotEdit(ctx, &out, s, snapshotEditOptions{UUID: "snap-1", Name: &name, Meta: metaValues{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if sn := f.findSnap("snap-1"); sn.Name != "renamed" || sn.Meta["k"] != "v" {
		t.Errorf("edit: %+v", sn)
	}

	// clone makes a drive and waits for it.
	out.Reset()
	if err := runSnapshotClone(ctx, &out, s, snapshotCloneOptions{UUID: "snap-1", Spec: providers.CloneSpec{Name: "restored"}, Wait: fastWait}); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out.String())
	if d := f.find(id); d == nil || d.Status != "unmounted" || d.Name != "restored" {
		t.Errorf("snapshot clone = %q %+v", id, d)
	}

	if err := runSnapshotDelete(ctx, s, []string{"snap-1", "snap-2"}, nil); err != nil || len(f.snaps) != 0 {
		t.Errorf("delete: %v, left %d", err, len(f.snaps))
	}
	if err := runSnapshotInfo(ctx, &out, s, "snap-1", false); ExitCode(err) != ExitNotFound {
		t.Errorf("deleted snapshot: %v", err)
	}
	if err := runSnapshotList(ctx, &out, services{drives: f}, "", false); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("API 1.0 snapshots: %v", err)
	}
}

func TestLibdriveCommands(t *testing.T) {
	f := newFakeCloud()
	f.libs = []providers.LibDrive{
		{UUID: "l1", Name: "Debian 12", Size: 10 << 30, Status: "unmounted", OS: "linux", Distribution: "debian", Version: "12", Arch: "64", Raw: map[string]string{"uuid": "l1"}},
		{UUID: "l2", Name: "Windows", Size: 40 << 30, Status: "unmounted", OS: "windows", Arch: "64", Raw: map[string]string{"uuid": "l2"}},
	}
	ctx := context.Background()
	var out bytes.Buffer
	if err := runLibdriveList(ctx, &out, f.services(), "linux", false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"UUID  NAME       SIZE    STATUS     OS     DISTRIBUTION  VERSION  ARCH\n" +
		"l1    Debian 12  10 GiB  unmounted  linux  debian        12       64\n"
	if out.String() != want {
		t.Errorf("list:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := runLibdriveInfo(ctx, &out, f.services(), "l2", true); err != nil || !strings.Contains(out.String(), `"uuid": "l2"`) {
		t.Errorf("info JSON: %s %v", out.String(), err)
	}
	out.Reset()
	if err := runLibdriveClone(ctx, &out, f.services(), libdriveCloneOptions{UUID: "l1", Spec: providers.CloneSpec{Name: "mine"}, Wait: fastWait}); err != nil {
		t.Fatal(err)
	}
	if d := f.find(strings.TrimSpace(out.String())); d == nil || d.Status != "unmounted" || d.Size != 10<<30 {
		t.Errorf("libdrive clone = %q %+v", out.String(), d)
	}
	if err := runLibdriveClone(ctx, &out, f.services(), libdriveCloneOptions{UUID: "nope", Wait: fastWait}); ExitCode(err) != ExitNotFound {
		t.Errorf("unknown library drive: %v", err)
	}
}

func TestJobCommands(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("src", "web", 1<<30, "unmounted")
	ctx := context.Background()
	d, _ := f.CloneDrive(ctx, "src", providers.CloneSpec{})
	f.jobs[d.Jobs[0]].Resources = []string{"/api/2.0/drives/" + d.UUID + "/", "/api/2.0/drives/src/"}
	var out bytes.Buffer
	if err := runJobList(ctx, &out, f.services(), false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"UUID   OPERATION    STATE    PROGRESS  RESOURCES\n" +
		"job-2  drive_clone  started  0%        clone-1,src\n"
	if out.String() != want {
		t.Errorf("list:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := runJobWait(ctx, &out, f.services(), "job-2", fastWait, false); err != nil || out.String() != "job-2\n" {
		t.Errorf("wait: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := runJobInfo(ctx, &out, f.services(), "job-2", false); err != nil || !strings.Contains(out.String(), "State:      success\n") {
		t.Errorf("info:\n%s %v", out.String(), err)
	}
	if err := runJobWait(ctx, &out, f.services(), "job-9", fastWait, false); ExitCode(err) != ExitNotFound {
		t.Errorf("unknown job: %v", err)
	}
	f.failJobs = true
	d, _ = f.CloneDrive(ctx, "src", providers.CloneSpec{})
	if err := runJobWait(ctx, &out, f.services(), d.Jobs[0], fastWait, false); err == nil || ExitCode(err) != ExitFailure {
		t.Errorf("failed job: %v", err)
	}
}
