package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/providers"
)

// backupStub is a minimal in-memory cloud for the backup command's unit
// tests: drives, snapshots that are available at once, clones that are
// ready at once.
type backupStub struct {
	mu     sync.Mutex
	n      int
	drives map[string]providers.Drive
	snaps  map[string]providers.Snapshot
}

func newBackupStub() *backupStub {
	return &backupStub{drives: map[string]providers.Drive{}, snaps: map[string]providers.Snapshot{}}
}

func (s *backupStub) id() string {
	s.n++
	return fmt.Sprintf("11111111-0000-4000-8000-%012d", s.n)
}

func (s *backupStub) add(name string, size int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.drives[id] = providers.Drive{UUID: id, Name: name, Size: size, Status: "unmounted", State: providers.StateReady}
	return id
}

func (s *backupStub) missing(what string) error {
	return &providers.APIError{Op: what, Status: 404, Type: "notexist"}
}

func (s *backupStub) ListDrives(context.Context, providers.DriveFilter) ([]providers.Drive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []providers.Drive
	for _, d := range s.drives {
		out = append(out, d)
	}
	return out, nil
}

func (s *backupStub) GetDrive(_ context.Context, id string) (providers.Drive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.drives[id]
	if !ok {
		return d, s.missing("drive " + id)
	}
	return d, nil
}

func (s *backupStub) CreateDrive(context.Context, providers.DriveSpec) (providers.Drive, error) {
	return providers.Drive{}, providers.ErrUnsupported
}

func (s *backupStub) DeleteDrives(_ context.Context, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.drives, id)
	}
	return nil
}

func (s *backupStub) CloneDrive(context.Context, string, providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, providers.ErrUnsupported
}

func (s *backupStub) ListSnapshots(_ context.Context, drive string) ([]providers.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []providers.Snapshot
	for _, sn := range s.snaps {
		if drive == "" || sn.Drive == drive {
			out = append(out, sn)
		}
	}
	return out, nil
}

func (s *backupStub) GetSnapshot(_ context.Context, id string) (providers.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snaps[id]
	if !ok {
		return sn, s.missing("snapshot " + id)
	}
	return sn, nil
}

func (s *backupStub) CreateSnapshot(_ context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	drive, name, meta := spec.Target, spec.Name, spec.Meta
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := providers.Snapshot{UUID: s.id(), Name: name, Drive: drive, Status: "available", State: providers.StateReady, Meta: meta}
	s.snaps[sn.UUID] = sn
	return sn, nil
}

func (s *backupStub) EditSnapshot(_ context.Context, id string, name *string, meta map[string]string) (providers.Snapshot, error) {
	return providers.Snapshot{}, providers.ErrUnsupported
}

func (s *backupStub) DeleteSnapshots(_ context.Context, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.snaps, id)
	}
	return nil
}

func (s *backupStub) CloneSnapshot(_ context.Context, id string, spec providers.CloneSpec) (providers.Drive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snaps[id]
	if !ok {
		return providers.Drive{}, s.missing("snapshot " + id)
	}
	d := providers.Drive{UUID: s.id(), Name: spec.Name, Size: s.drives[sn.Drive].Size, Status: "unmounted", State: providers.StateReady}
	s.drives[d.UUID] = d
	return d, nil
}

func (s *backupStub) ListJobs(context.Context) ([]providers.Job, error) { return nil, nil }

func (s *backupStub) GetJob(_ context.Context, id string) (providers.Job, error) {
	return providers.Job{}, s.missing("job " + id)
}

// stubDownload writes size bytes of a pattern, or fails with err.
func stubDownload(err error) backup.DownloadFunc {
	return func(ctx context.Context, drive string, size int64, dest string, _ backup.Budget) (backup.DownloadStats, error) {
		if err != nil {
			return backup.DownloadStats{}, err
		}
		b := bytes.Repeat([]byte("drivecp!"), int(size/8))
		if err := os.WriteFile(dest, b, 0o600); err != nil {
			return backup.DownloadStats{}, err
		}
		return backup.DownloadStats{Bytes: size}, nil
	}
}

func TestRunBackupExitCodesAndOutput(t *testing.T) {
	stub := newBackupStub()
	a := stub.add("alpha", 64<<10)
	wo := waitOptions{Interval: 1, MaxInterval: 1}
	deps := backupDeps(stub, stub, stub, wo)
	o := backupOptions{Options: backup.Options{Drives: []string{a}, Dir: t.TempDir(), RetryDelay: 1}}

	var out bytes.Buffer
	o.download = stubDownload(nil)
	if err := runBackup(context.Background(), &out, o, deps); err != nil {
		t.Fatalf("ok run: %v", err)
	}
	if !strings.Contains(out.String(), "DRIVE") || !strings.Contains(out.String(), a) || !strings.Contains(out.String(), " ok ") {
		t.Errorf("table:\n%s", out.String())
	}

	out.Reset()
	o.JSON, o.download = true, stubDownload(errors.New("disk on fire"))
	err := runBackup(context.Background(), &out, o, deps)
	if ExitCode(err) != ExitFailure {
		t.Errorf("failed run: %v (exit %d)", err, ExitCode(err))
	}
	var rep backup.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Drives) != 1 || rep.Drives[0].Status != backup.StatusFailed ||
		!strings.Contains(rep.Drives[0].Error, "disk on fire") {
		t.Errorf("json report %s: %v", out.String(), err)
	}

	out.Reset()
	o.JSON, o.download = false, stubDownload(context.Canceled)
	ctx, cancel := context.WithCancel(context.Background())
	o.download = func(ctx context.Context, drive string, size int64, dest string, b backup.Budget) (backup.DownloadStats, error) {
		cancel()
		return backup.DownloadStats{}, ctx.Err()
	}
	err = runBackup(ctx, &out, o, deps)
	if !errors.Is(err, ErrInterrupted) || ExitCode(err) != ExitInterrupted || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("interrupted run: %v (exit %d)\n%s", err, ExitCode(err), out.String())
	}
}

func TestRunVerify(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "x.img")
	if err := os.WriteFile(img, bytes.Repeat([]byte("0123456789abcdef"), 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := runVerify(context.Background(), &out, img, "", false)
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "no manifest") {
		t.Fatalf("missing manifest: %v", err)
	}
	var h *hintError
	if !errors.As(err, &h) {
		t.Errorf("missing manifest without a hint")
	}
	m, err := backup.BuildManifest(context.Background(), img, 256<<10, backup.ManifestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := backup.WriteManifest(img, m); err != nil {
		t.Fatal(err)
	}
	if err := runVerify(context.Background(), &out, img, "", false); err != nil || !strings.HasPrefix(out.String(), "OK ") {
		t.Fatalf("intact: %v %q", err, out.String())
	}
	f, _ := os.OpenFile(img, os.O_RDWR, 0)
	f.WriteAt([]byte{'X'}, 300<<10)
	f.Close()
	out.Reset()
	err = runVerify(context.Background(), &out, img, "", false)
	if ExitCode(err) != ExitFailure || !strings.Contains(out.String(), "BAD") || !strings.Contains(out.String(), "262144") {
		t.Fatalf("flipped: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runVerify(context.Background(), &out, img, ManifestPathFor(img), true); ExitCode(err) != ExitFailure {
		t.Fatalf("json: %v", err)
	}
	var rep backup.VerifyReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.OK || len(rep.Bad) != 1 || rep.Bad[0].Index != 1 {
		t.Errorf("json report %s: %v", out.String(), err)
	}
}

// ManifestPathFor keeps the test readable.
func ManifestPathFor(img string) string { return backup.ManifestPath(img) }

func TestPrintBackupReportOrphans(t *testing.T) {
	var out bytes.Buffer
	rep := backup.Report{Drives: []backup.DriveReport{{Drive: "d1", Name: "web", Status: backup.StatusOK, Bytes: 1 << 20, Seconds: 2, MBps: 0.5, File: "/b/web.img"}},
		Orphans: []string{"o1", "o2"}}
	if err := printBackupReport(&out, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "d1     web   ok      1 MiB") ||
		lines[2] != "deleted temporary clone o1: the drive it was cloned from no longer exists" || !strings.Contains(lines[3], "o2") {
		t.Fatalf("report:\n%s", out.String())
	}
}
