package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/internal/poll"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// creatingCloud is an offset-transfer cloud whose new drives are busy
// (being created) for the first busyGets lookups, and which refuses
// writes to a drive that is still busy.
type creatingCloud struct {
	providers.DriveService // unused methods panic
	mu                     sync.Mutex
	busyGets               int
	gets                   int
	drive                  providers.Drive
	data                   []byte
	earlyWrites            int
}

func (c *creatingCloud) CreateDrive(_ context.Context, spec providers.DriveSpec) (providers.Drive, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drive = providers.Drive{UUID: "00000000-0000-4000-8000-000000000001", Name: spec.Name, Size: spec.Size,
		Status: "being made", State: providers.StateBusy}
	c.data = make([]byte, spec.Size)
	return c.drive, nil
}

func (c *creatingCloud) ListDrives(context.Context, providers.DriveFilter) ([]providers.Drive, error) {
	return nil, nil
}

func (c *creatingCloud) GetDrive(_ context.Context, id string) (providers.Drive, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id != c.drive.UUID {
		return providers.Drive{}, providers.ErrNotFound
	}
	c.gets++
	if c.gets > c.busyGets {
		c.drive.Status, c.drive.State = "ready", providers.StateReady
	}
	return c.drive, nil
}

func (c *creatingCloud) WriteAt(_ context.Context, _ string, off int64, body []byte, gzipped bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drive.State != providers.StateReady {
		c.earlyWrites++
		return &providers.APIError{Op: "write", Status: 409, Message: "drive is being created"}
	}
	if gzipped {
		plain, err := gunzip(body)
		if err != nil {
			return fmt.Errorf("fake: %w", err)
		}
		body = plain
	}
	copy(c.data[off:], body)
	return nil
}

func (c *creatingCloud) ReadAt(context.Context, string, int64, []byte) error {
	return errors.New("fake: no reads")
}

func (c *creatingCloud) MaxReadSize() int64 { return 1 << 20 }

var fastWaits = Waits{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Ready: 5 * time.Second}

// TestUploadWaitsForCreatedDrive: a drive the upload creates is written
// only once the cloud no longer reports it busy; the session asks for it
// until then.
func TestUploadWaitsForCreatedDrive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "disk.img")
	data := bytes.Repeat([]byte("drivecp!"), 8<<10) // 64 KiB
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cloud := &creatingCloud{busyGets: 3}
	o := UploadOptions{
		Env:       Env{Store: &resume.Store{Dir: filepath.Join(dir, "state")}},
		Image:     Image{Path: path, File: f, Format: imagefmt.Raw, Size: int64(len(data)), At: f},
		Mode:      Offset,
		Offset:    OffsetAPI{DriveService: cloud, OffsetWriter: cloud, OffsetReader: cloud, Gzip: true, FreshDriveZeroed: true},
		Endpoint:  "127.0.0.1:1",
		ChunkSize: 16 << 10,
		Engine:    transfer.Options{Concurrency: 2},
		Waits:     fastWaits,
	}
	res, err := Upload(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if cloud.earlyWrites != 0 {
		t.Errorf("%d writes reached the drive while it was being created", cloud.earlyWrites)
	}
	if cloud.gets != 4 || res.Drive.State != providers.StateReady {
		t.Errorf("lookups %d (want 3 busy + 1 ready), drive at the end %+v", cloud.gets, res.Drive)
	}
	if !bytes.Equal(cloud.data, data) {
		t.Error("the drive does not hold the image")
	}
}

func TestWaitReadyBoundsAndCancel(t *testing.T) {
	busy := providers.Drive{UUID: "d", Status: "being made", State: providers.StateBusy}
	cloud := &creatingCloud{busyGets: 1 << 30, drive: busy}

	// A drive ready in the create answer costs no lookup.
	ready := providers.Drive{UUID: "d", State: providers.StateReady}
	if d, err := WaitReady(context.Background(), cloud, ready, fastWaits); err != nil || d.UUID != "d" || cloud.gets != 0 {
		t.Fatalf("ready drive: %v %v, %d lookups", d, err, cloud.gets)
	}

	// A drive that stays busy ends the wait at its timeout.
	w := fastWaits
	w.Ready = 50 * time.Millisecond
	_, err := WaitReady(context.Background(), cloud, busy, w)
	if !errors.Is(err, poll.ErrTimeout) {
		t.Fatalf("busy drive: %v, want a timeout", err)
	}

	// A cancelled context ends it at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WaitReady(ctx, cloud, busy, fastWaits); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}
