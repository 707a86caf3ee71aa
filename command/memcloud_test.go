package command

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/providers"
)

// memCloud is a tiny in-memory cloud that exists only in this test: drives
// are byte slices written and read at offsets. It plugs into the registry
// the way every cloud does, and nothing in command/ or transfer/ knows it.
type memCloud struct {
	mu     sync.Mutex
	drives map[string]*memDrive
	next   int
}

type memDrive struct {
	d    providers.Drive
	data []byte
}

func (m *memCloud) registration() providers.Cloud {
	return providers.Cloud{
		Name:     "memory",
		Summary:  "an in-memory cloud of the tests",
		Settings: []providers.Setting{{Name: "memory-token", Env: []string{"MEMORY_TOKEN"}, Secret: true, Usage: "any non-empty token"}},
		Capabilities: providers.Capabilities{Services: []string{providers.ServiceDrives},
			Transfers: []string{"offset"}, Backup: providers.BackupNone},
		Open: func(_ context.Context, cfg providers.Config, _ providers.OpenOptions) (*providers.Provider, error) {
			if cfg["memory-token"] == "" {
				return nil, fmt.Errorf("%w: no token: set MEMORY_TOKEN", providers.ErrInvalid)
			}
			return &providers.Provider{Cloud: "memory", Endpoint: "memory.invalid",
				Services: providers.Services{Drives: m},
				Transfers: []providers.TransferAPI{{Name: "offset", Drives: m, OffsetWriter: m, OffsetReader: m,
					MaxPiece: 4 << 20, Gzip: true, FreshDriveZeroed: true}},
				Features: providers.Features{DriveNoun: "drive", SizeUnit: 1}}, nil
		},
	}
}

func (m *memCloud) ListDrives(_ context.Context, f providers.DriveFilter) ([]providers.Drive, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []providers.Drive
	for _, d := range m.drives {
		if len(f.Names) == 0 || strings.Contains(strings.Join(f.Names, "\x00"), d.d.Name) {
			out = append(out, d.d)
		}
	}
	return out, nil
}

func (m *memCloud) drive(id string) (*memDrive, error) {
	d, ok := m.drives[id]
	if !ok {
		return nil, fmt.Errorf("drive %s: %w", id, providers.ErrNotFound)
	}
	return d, nil
}

func (m *memCloud) GetDrive(_ context.Context, id string) (providers.Drive, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.drive(id)
	if err != nil {
		return providers.Drive{}, err
	}
	return d.d, nil
}

func (m *memCloud) CreateDrive(_ context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	d := providers.Drive{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", m.next), Name: spec.Name, Size: spec.Size,
		Status: "ok", State: providers.StateReady, Raw: map[string]any{"name": spec.Name}}
	m.drives[d.UUID] = &memDrive{d: d, data: make([]byte, spec.Size)}
	return d, nil
}

func (m *memCloud) DeleteDrives(_ context.Context, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		if _, err := m.drive(id); err != nil {
			return err
		}
		delete(m.drives, id)
	}
	return nil
}

func (m *memCloud) CloneDrive(context.Context, string, providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, providers.ErrUnsupported
}

func (m *memCloud) WriteAt(_ context.Context, id string, off int64, body []byte, gzipped bool) error {
	if gzipped {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.drive(id)
	if err != nil {
		return err
	}
	if off < 0 || off+int64(len(body)) > int64(len(d.data)) {
		return fmt.Errorf("write past the end: %w", providers.ErrInvalid)
	}
	copy(d.data[off:], body)
	return nil
}

func (m *memCloud) ReadAt(_ context.Context, id string, off int64, dst []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.drive(id)
	if err != nil {
		return err
	}
	if off < 0 || off+int64(len(dst)) > int64(len(d.data)) {
		return fmt.Errorf("read past the end: %w", providers.ErrInvalid)
	}
	copy(dst, d.data[off:])
	return nil
}

func (m *memCloud) MaxReadSize() int64 { return 4 << 20 }

// runApp runs the real command line in-process against reg.
func runApp(t *testing.T, reg *providers.Registry, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := NewAppFor(reg, strings.NewReader(""), &out, &errb)
	err := app.RunContext(context.Background(), ReorderArgs(app, append([]string{"drivecp"}, args...)))
	code = Report(&errb, err)
	return out.String(), errb.String(), code
}

// TestPluggedInCloud registers a cloud that lives only in this test and
// runs drive list, upload and download through the command line: a cloud
// plugs in without touching command/ or transfer/.
func TestPluggedInCloud(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("MEMORY_TOKEN", "t0ken")
	mem := &memCloud{drives: map[string]*memDrive{}}
	reg, err := providers.NewRegistry(mem.registration())
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	data := make([]byte, 9<<20+123) // random, zeros and a short tail
	if _, err := rand.Read(data[:3<<20]); err != nil {
		t.Fatal(err)
	}
	copy(data[8<<20:], bytes.Repeat([]byte("drivecp "), 100))
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}

	out, errs, code := runApp(t, reg, "upload", img, "--name", "disk", "--api", "v1", "-q")
	if code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, errs)
	}
	id := strings.TrimSpace(out)
	if out, _, code := runApp(t, reg, "drive", "list"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "disk") {
		t.Fatalf("drive list: exit %d\n%s", code, out)
	}
	copyPath := filepath.Join(dir, "copy.img")
	if _, errs, code := runApp(t, reg, "download", id, "-o", copyPath, "--api", "v1", "-q", "--verify"); code != 0 {
		t.Fatalf("download: exit %d\n%s", code, errs)
	}
	got, err := os.ReadFile(copyPath)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded image differs from the upload (%v)", err)
	}
	if !bytes.Equal(mem.drives[id].data, data) {
		t.Errorf("the cloud holds other bytes than the image")
	}

	_, errs, code = runApp(t, reg, "snapshot", "list")
	if code != ExitUsage || !strings.Contains(errs, "memory cannot") {
		t.Errorf("snapshot list on a cloud without snapshots: exit %d\n%s", code, errs)
	}
	t.Setenv("MEMORY_TOKEN", "")
	if _, errs, code := runApp(t, reg, "drive", "list"); code != ExitUsage || !strings.Contains(errs, "MEMORY_TOKEN") {
		t.Errorf("no token: exit %d\n%s", code, errs)
	}
}
