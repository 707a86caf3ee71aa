package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// fastWait polls every millisecond, so waits in tests take no time.
var fastWait = waitOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Timeout: 10 * time.Second}

func TestDriveListTableAndJSON(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("5d3bb6d8-ce39-41e8-8742-2ba5af5ef2d0", "test_drive_1", 1<<30, "unmounted")
	f.addDrive("b969d04b-b63f-4b67-9a92-c878d9d53232", "", 512<<20, "mounted").StorageType = ""
	var out bytes.Buffer
	if err := runDriveList(context.Background(), &out, f.services(), providers.DriveFilter{}, false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"UUID                                  NAME          SIZE     STATUS     STORAGE TYPE  MEDIA\n" +
		"5d3bb6d8-ce39-41e8-8742-2ba5af5ef2d0  test_drive_1  1 GiB    unmounted  dssd          disk\n" +
		"b969d04b-b63f-4b67-9a92-c878d9d53232  -             512 MiB  mounted    -             disk\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	if err := runDriveList(context.Background(), &out, f.services(), providers.DriveFilter{Statuses: []string{"mounted"}}, true); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &objs); err != nil || len(objs) != 1 || objs[0]["uuid"] != "b969d04b-b63f-4b67-9a92-c878d9d53232" {
		t.Errorf("JSON = %s (%v)", out.String(), err)
	}

	out.Reset()
	if err := runDriveList(context.Background(), &out, f.services(), providers.DriveFilter{Names: []string{"none"}}, true); err != nil {
		t.Fatal(err)
	}
	if out.String() != "[]\n" {
		t.Errorf("empty JSON list = %q, want []", out.String())
	}
}

func TestDriveInfo(t *testing.T) {
	f := newFakeCloud()
	d := f.addDrive("d1", "web", 10<<30, "unmounted")
	d.Meta = map[string]string{"b": "2", "a": "1"}
	var out bytes.Buffer
	if err := runDriveInfo(context.Background(), &out, f.services(), "d1", false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"UUID:          d1\n" +
		"Name:          web\n" +
		"Size:          10 GiB (10737418240 bytes)\n" +
		"Status:        unmounted\n" +
		"Media:         disk\n" +
		"Storage type:  dssd\n" +
		"Tags:          -\n" +
		"Meta:          a=1, b=2\n" +
		"Jobs:          -\n"
	if out.String() != want {
		t.Errorf("info:\n%s\nwant:\n%s", out.String(), want)
	}
	err := runDriveInfo(context.Background(), &out, f.services(), "nope", false)
	if ExitCode(err) != ExitNotFound {
		t.Errorf("unknown drive: %v, exit %d", err, ExitCode(err))
	}
}

func TestDriveInfoAPI1JSON(t *testing.T) {
	// API 1.0 objects are key-value lists; --json shows them as objects.
	kv := wire.KV{{Key: "drive", Value: "d1"}, {Key: "name", Value: "web"}, {Key: "size", Value: "1024"}}
	var out bytes.Buffer
	if err := printJSON(&out, kv); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(out.String()), " "); got != `{ "drive": "d1", "name": "web", "size": "1024" }` {
		t.Errorf("KV JSON = %s", got)
	}
}

func TestDriveCreateChecksSizeRange(t *testing.T) {
	f := newFakeCloud()
	f.sizeRange = &wire.SizeRange{Min: 512 << 20, Max: 4 << 40}
	ctx := context.Background()
	var out bytes.Buffer
	err := runDriveCreate(ctx, &out, f.services(), providers.DriveSpec{Name: "tiny", Size: 1 << 20}, waitOptions{}, false)
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--size 1 MiB is outside the dssd drive sizes this location allows (512 MiB to 4 TiB)") {
		t.Errorf("too small: %v (exit %d)", err, ExitCode(err))
	}
	err = runDriveCreate(ctx, &out, f.services(), providers.DriveSpec{Name: "huge", Size: 5 << 40}, waitOptions{}, false)
	if ExitCode(err) != ExitUsage {
		t.Errorf("too large: %v", err)
	}
	if slices.ContainsFunc(f.callList(), func(c string) bool { return strings.HasPrefix(c, "CreateDrive") }) {
		t.Error("CreateDrive called for a size outside the range")
	}
	if err := runDriveCreate(ctx, &out, f.services(), providers.DriveSpec{Name: "ok", Size: 1 << 30}, waitOptions{}, false); err != nil {
		t.Fatal(err)
	}
	if out.String() != "drive-1\n" {
		t.Errorf("create printed %q", out.String())
	}
}

func TestDriveResize(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("d1", "web", 2<<30, "unmounted")
	f.sizeRange = &wire.SizeRange{Min: 512 << 20, Max: 100 << 30}
	ctx := context.Background()
	var out bytes.Buffer
	o := driveResizeOptions{UUID: "d1", Size: 1 << 30, Wait: fastWait}
	err := runDriveResize(ctx, &out, f.services(), o)
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "below the current size") {
		t.Errorf("shrink: %v", err)
	}
	o.Size = 200 << 30
	if err := runDriveResize(ctx, &out, f.services(), o); ExitCode(err) != ExitUsage {
		t.Errorf("beyond max: %v", err)
	}
	o.Size = 2 << 30
	if err := runDriveResize(ctx, &out, f.services(), o); err != nil || out.String() != "d1\n" {
		t.Errorf("same size: %q, %v", out.String(), err)
	}
	if slices.ContainsFunc(f.callList(), func(c string) bool { return strings.HasPrefix(c, "ResizeDrive") }) {
		t.Error("ResizeDrive called although nothing was to be done")
	}
	out.Reset()
	o.Size = 4 << 30
	if err := runDriveResize(ctx, &out, f.services(), o); err != nil || out.String() != "d1\n" {
		t.Fatalf("grow: %q, %v", out.String(), err)
	}
	if d := f.find("d1"); d.Status != "unmounted" || d.Size != 4<<30 {
		t.Errorf("resize did not wait for the drive: %+v", d)
	}
}

func TestDriveCloneWaits(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("src", "web", 1<<30, "unmounted")
	ctx := context.Background()
	var out, progress bytes.Buffer
	o := driveCloneOptions{UUID: "src", Spec: providers.CloneSpec{Name: "copy", Avoid: []string{"x"}}, Wait: fastWait}
	o.Wait.Progress = &progress
	if err := runDriveClone(ctx, &out, f.services(), o); err != nil {
		t.Fatal(err)
	}
	if out.String() != "clone-1\n" {
		t.Errorf("stdout = %q", out.String())
	}
	if d := f.find("clone-1"); d.Status != "unmounted" || d.Name != "copy" {
		t.Errorf("printed before the clone was done: %+v", d)
	}
	if p := progress.String(); !strings.Contains(p, "clone of src: unmounted 50%") || !strings.HasSuffix(p, "\n") {
		t.Errorf("progress = %q", p)
	}

	// --no-wait prints the UUID at once, the clone still running.
	out.Reset()
	o.Wait = waitOptions{NoWait: true}
	if err := runDriveClone(ctx, &out, f.services(), o); err != nil || out.String() != "clone-3\n" {
		t.Fatalf("--no-wait: %q, %v", out.String(), err)
	}
	if d := f.find("clone-3"); d.Status != wire.StatusCloningDst {
		t.Errorf("--no-wait waited: %+v", d)
	}
}

func TestDriveCloneSize(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("src", "web", 2<<30, "unmounted")
	ctx := context.Background()
	var out bytes.Buffer
	o := driveCloneOptions{UUID: "src", Size: 1 << 30, Wait: fastWait}
	if err := runDriveClone(ctx, &out, f.services(), o); ExitCode(err) != ExitUsage {
		t.Errorf("smaller clone: %v", err)
	}
	o.Size = 4 << 30
	o.Wait.NoWait = true
	if err := runDriveClone(ctx, &out, f.services(), o); ExitCode(err) != ExitUsage {
		t.Errorf("--size with --no-wait on API 2.0: %v", err)
	}
	// API 2.0: clone, wait, grow, wait.
	o.Wait.NoWait = false
	if err := runDriveClone(ctx, &out, f.services(), o); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out.String())
	if d := f.find(id); d == nil || d.Size != 4<<30 || d.Status != "unmounted" {
		t.Errorf("grown clone = %+v", d)
	}
	// API 1.0 (no editor): the size goes with the clone request.
	out.Reset()
	s := f.services()
	s.editor, s.jobs = nil, nil
	o.Wait.NoWait = true
	if err := runDriveClone(ctx, &out, s, o); err != nil {
		t.Fatal(err)
	}
	calls := f.callList()
	if last := calls[len(calls)-1]; !strings.Contains(last, "size=4294967296") {
		t.Errorf("API 1.0 clone call = %s", last)
	}
}

func TestDriveCloneJobFails(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("src", "web", 1<<30, "unmounted")
	f.failJobs = true
	var out bytes.Buffer
	err := runDriveClone(context.Background(), &out, f.services(), driveCloneOptions{UUID: "src", Wait: fastWait})
	var h *hintError
	if err == nil || !strings.Contains(err.Error(), "failed") || !errors.As(err, &h) || !strings.Contains(h.Hint, "clone-1") {
		t.Errorf("failed job: %v", err)
	}
	if ExitCode(err) != ExitFailure || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q", ExitCode(err), out.String())
	}
}

func TestDriveCloneTimeout(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("src", "web", 1<<30, "unmounted")
	f.addDrive("stuck", "stuck", 1<<30, wire.StatusCloningDst)
	w := fastWait
	w.Timeout = 20 * time.Millisecond
	_, err := waitDrive(context.Background(), f, nil, *f.find("stuck"), "clone of src", w)
	if !errors.Is(err, errWaitTimeout) || !strings.Contains(err.Error(), "cloning_dst") {
		t.Errorf("timeout: %v", err)
	}
}

func TestDriveDeleteConfirms(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("d1", "web", 1<<30, "unmounted")
	f.addDrive("d2", "db", 2<<30, "unmounted")
	ctx := context.Background()
	var asked []string
	decline := func(q string, details []string) error {
		asked = append(append(asked, q), details...)
		return errDeclined
	}
	if err := runDriveDelete(ctx, f.services(), []string{"d1", "d2", "d1"}, decline); !errors.Is(err, errDeclined) {
		t.Fatalf("declined: %v", err)
	}
	want := []string{"Delete 2 drives?", "d1  web  1 GiB  unmounted", "d2  db  2 GiB  unmounted"}
	if !slices.Equal(asked, want) {
		t.Errorf("asked %q, want %q", asked, want)
	}
	if len(f.drives) != 2 {
		t.Fatal("deleted although declined")
	}
	if err := runDriveDelete(ctx, f.services(), []string{"d1", "missing"}, decline); ExitCode(err) != ExitNotFound {
		t.Errorf("unknown UUID before asking: %v", err)
	}
	if err := runDriveDelete(ctx, f.services(), []string{"d1", "d2"}, nil); err != nil {
		t.Fatal(err)
	}
	calls := f.callList()
	if calls[len(calls)-1] != "DeleteDrives d1,d2" || len(f.drives) != 0 {
		t.Errorf("one request for both: %q", calls)
	}
}

func TestPromptConfirm(t *testing.T) {
	for in, want := range map[string]error{"y\n": nil, "YES\n": nil, "n\n": errDeclined, "\n": errDeclined, "": errDeclined} {
		var out bytes.Buffer
		err := promptConfirm(strings.NewReader(in), &out)("Delete 1 drive?", []string{"d1  web"})
		if !errors.Is(err, want) && err != want {
			t.Errorf("answer %q: %v, want %v", in, err, want)
		}
		if !strings.HasPrefix(out.String(), "  d1  web\nDelete 1 drive? [y/N] ") {
			t.Errorf("prompt = %q", out.String())
		}
	}
}

func TestDriveEditMergesMeta(t *testing.T) {
	f := newFakeCloud()
	f.addDrive("d1", "web", 1<<30, "unmounted").Meta = map[string]string{"keep": "1", "drop": "2"}
	var out bytes.Buffer
	name := "web2"
	o := driveEditOptions{UUID: "d1", Name: &name, Meta: metaValues{"drop": "", "new": "3"}}
	if err := runDriveEdit(context.Background(), &out, f.services(), o); err != nil {
		t.Fatal(err)
	}
	d := f.find("d1")
	if d.Name != "web2" || len(d.Meta) != 2 || d.Meta["keep"] != "1" || d.Meta["new"] != "3" || out.String() != "d1\n" {
		t.Errorf("edited = %+v, out %q", d, out.String())
	}
	s := f.services()
	s.editor = nil
	if err := runDriveEdit(context.Background(), &out, s, o); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("edit on API 1.0: %v", err)
	}
}

func TestAPIErrorsExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&providers.APIError{Op: "get drive x", Status: http.StatusNotFound, Type: "notexist"}, ExitNotFound},
		{&providers.APIError{Op: "list drives", Status: http.StatusUnauthorized}, ExitAuth},
		{&providers.APIError{Op: "create drive", Status: http.StatusBadRequest, Type: "validation", Point: "size", Message: "too small"}, ExitUsage},
		{&providers.APIError{Op: "clone drive x", Status: http.StatusServiceUnavailable, Type: "concurrency"}, ExitFailure},
	} {
		var buf bytes.Buffer
		if code := Report(&buf, tc.err); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, code, tc.code)
		}
		if strings.Count(buf.String(), "drivecp: error: ") != 1 {
			t.Errorf("report = %q", buf.String())
		}
	}
	var buf bytes.Buffer
	Report(&buf, &providers.APIError{Op: "create drive", Status: 400, Type: "validation", Point: "size", Message: "Drive size is below the minimum"})
	if !strings.HasPrefix(buf.String(), "drivecp: error: create drive: 400 Bad Request: validation: size: Drive size is below the minimum\n") {
		t.Errorf("one line with message and field: %q", buf.String())
	}
}
