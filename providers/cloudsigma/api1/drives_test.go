package api1

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The manual's `GET /drives/info` example, blank separators included here;
// the OCR'd copy without them is tested separately.
const infoAll = `status active
user f2e19d5c-eaa1-44e5-94aa-dc194594bd7b
size 1073741824
name gentoo-livecd
drive 7e8ab721-81c9-4cb9-a651-4cafbfe1501c

status active
user f2e19d5c-eaa1-44e5-94aa-dc194594bd7b
size 5368709120
name root
drive ea6a8fdb-dab3-4d06-86c2-41a5835e6ed9
tags affinity:ssd backup

status inactive
name data
drive f0026ff4-09d3-4fd0-a5c9-dfe652e01c99
user f2e19d5c-eaa1-44e5-94aa-dc194594bd7b
size 100G
`

// recorder is a fake API 1.0 server that logs requests.
type recorder struct {
	mu    sync.Mutex
	calls []string // "METHOD /path body"
}

func (r *recorder) log(req *http.Request) string {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := req.Method + " " + req.URL.Path
	if len(body) > 0 {
		s += " " + strings.ReplaceAll(strings.TrimSpace(string(body)), "\n", ";")
	}
	r.calls = append(r.calls, s)
	return s
}

func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListDrivesFilters(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/drives/info" {
			http.Error(w, "errors:path unexpected", http.StatusNotFound)
			return
		}
		io.WriteString(w, infoAll)
	})
	ctx := context.Background()
	all, err := c.ListDrives(ctx, providers.DriveFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("got %d drives, want 3", len(all))
	}
	d := all[1]
	if d.UUID != "ea6a8fdb-dab3-4d06-86c2-41a5835e6ed9" || d.Name != "root" || d.Size != 5<<30 ||
		d.Status != "active" || d.StorageType != "ssd" || len(d.Tags) != 2 {
		t.Errorf("drive = %+v", d)
	}
	if _, ok := d.Raw.(wire.KV); !ok {
		t.Errorf("Raw is %T, want wire.KV", d.Raw)
	}
	if all[2].Size != 100<<30 {
		t.Errorf("suffixed size = %d", all[2].Size)
	}
	for _, tc := range []struct {
		f    providers.DriveFilter
		want int
	}{
		{providers.DriveFilter{Names: []string{"root", "data"}}, 2},
		{providers.DriveFilter{Statuses: []string{"inactive"}}, 1},
		{providers.DriveFilter{Tags: []string{"backup"}}, 1},
		{providers.DriveFilter{UUIDs: []string{"7e8ab721-81c9-4cb9-a651-4cafbfe1501c"}, Names: []string{"root"}}, 0},
	} {
		got, err := c.ListDrives(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("ListDrives(%+v) = %d drives, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}
}

func TestListDrivesWithoutSeparators(t *testing.T) {
	body := strings.ReplaceAll(infoAll, "\n\n", "\n")
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	all, err := c.ListDrives(context.Background(), providers.DriveFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("got %d drives, %v; want 3", len(all), err)
	}
}

func TestCreateCloneDelete(t *testing.T) {
	rec := &recorder{}
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		call := rec.log(r)
		switch {
		case strings.HasPrefix(call, "POST /drives/create"):
			io.WriteString(w, "status active\nuser u\nsize 4194304\nname TEST_DRIVE\ndrive 210a0b7e-2b71-4bba-8703-195704469a81\n")
		case r.URL.Path == "/drives/src/info":
			io.WriteString(w, "status active\nname base\ndrive src\nsize 1048576\n")
		case r.URL.Path == "/drives/src/clone":
			io.WriteString(w, "status active\nname base-clone\ndrive new\nsize 1048576\n")
		case r.URL.Path == "/drives/missing/destroy":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "errors:drive no such drive\n")
		case strings.HasSuffix(r.URL.Path, "/destroy"):
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	ctx := context.Background()
	d, err := c.CreateDrive(ctx, providers.DriveSpec{Name: "TEST_DRIVE", Size: 4 << 20, StorageType: "ssd"})
	if err != nil || d.UUID != "210a0b7e-2b71-4bba-8703-195704469a81" || d.Size != 4<<20 {
		t.Fatalf("CreateDrive = %+v, %v", d, err)
	}
	cl, err := c.CloneDrive(ctx, "src", providers.CloneSpec{})
	if err != nil || cl.UUID != "new" {
		t.Fatalf("CloneDrive = %+v, %v", cl, err)
	}
	err = c.DeleteDrives(ctx, "a", "missing", "b")
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteDrives error = %v, want ErrNotFound", err)
	}
	var apiErr *providers.APIError
	if !errors.As(err, &apiErr) || apiErr.Point != "drive" || apiErr.Message != "no such drive" {
		t.Errorf("API error = %#v", apiErr)
	}
	want := []string{
		"POST /drives/create name TEST_DRIVE;size 4194304;tags affinity:ssd",
		"GET /drives/src/info",
		"POST /drives/src/clone name base-clone;size 1048576",
		"POST /drives/a/destroy",
		"POST /drives/missing/destroy",
		"POST /drives/b/destroy",
	}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestDriveErrors(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/drives/locked/info":
			w.WriteHeader(http.StatusUnauthorized)
		case "/drives/small/clone":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "errors:size new size is less than the original\n")
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	ctx := context.Background()
	if _, err := c.GetDrive(ctx, "locked"); !errors.Is(err, providers.ErrAuth) {
		t.Errorf("401: %v", err)
	}
	if _, err := c.GetDrive(ctx, "gone"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	_, err := c.CloneDrive(ctx, "small", providers.CloneSpec{Name: "x", Size: 1})
	var apiErr *providers.APIError
	if !errors.Is(err, providers.ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Point != "size" {
		t.Errorf("400: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := c.GetDrive(ctx, bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("GetDrive(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := c.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 1, Media: "cdrom"}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("cdrom on API 1.0: %v", err)
	}
}

// TestAnswerCutShort: a connection that breaks while a key-value answer
// arrives is a transport failure the retry wrapper repeats, while an answer
// that arrives whole but is not key-value text is ErrNotCloudSigma.
func TestAnswerCutShort(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/drives/create":
			// Promise more than is sent, then drop the connection.
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, "status active\nsize 4194304\n")
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			io.WriteString(w, "<html>\x00\n")
		}
	})
	ctx := context.Background()
	_, err := c.CreateDrive(ctx, providers.DriveSpec{Name: "x", Size: 4 << 20})
	if err == nil || errors.Is(err, providers.ErrNotCloudSigma) || !providers.IsRetryable(err) {
		t.Errorf("cut-short answer: %v (retryable %v), want a retryable transport error", err, providers.IsRetryable(err))
	}
	if _, err := c.ListDrives(ctx, providers.DriveFilter{}); !errors.Is(err, providers.ErrNotCloudSigma) {
		t.Errorf("garbage answer: %v, want ErrNotCloudSigma", err)
	}
}
