package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/chunker"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
	"github.com/drivecp/drivecp/resume"
)

// End-to-end tests of `drivecp backup` and `drivecp verify` against the
// in-process emulator. They run with the downloader that command wires in
// today (backup_download.go, sequential); what only the resumable engine can
// show (a rerun resuming the bytes of an interrupted download instead of
// refetching them) is skipped with its reason below.

// requireV2Snapshots skips the test while the emulator does not serve API
// 2.0 snapshots yet.
func requireV2Snapshots(t *testing.T, srv *emulator.Server) {
	t.Helper()
	c := srv.Config()
	status := ""
	// Several tries: an emulator injecting faults answers some with 503.
	for range 20 {
		req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(srv.URL(), "/")+"/api/2.0/snapshots/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(c.User, c.Password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // an injected reset
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		status = resp.Status
	}
	t.Skipf("the emulator answers GET /api/2.0/snapshots/ with %s: its snapshot endpoints are not there yet", status)
}

// backupTestDrive creates a drive in the emulator's store holding a mixed
// image (random, repeated and zero regions) and returns its UUID and
// content.
func backupTestDrive(t *testing.T, srv *emulator.Server, name string, size int64, seed uint64) (string, []byte) {
	t.Helper()
	d, err := srv.Store().CreateDrive(wire.Drive{Name: name, Size: size, Media: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for off := 0; off < len(data); off += 256 << 10 {
		block := data[off:min(off+256<<10, len(data))]
		switch (off >> 18) % 4 {
		case 0, 1:
			for i := range block {
				block[i] = byte(rng.Uint32())
			}
		case 2:
			copy(block, bytes.Repeat([]byte(name), len(block)/len(name)+1))
		}
	}
	h, err := srv.Store().OpenDrive(d.UUID, emulator.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	return d.UUID, data
}

// assertNoTemporaries fails if the emulator holds drivecp's temporary
// drives or snapshots.
func assertNoTemporaries(t *testing.T, srv *emulator.Server) {
	t.Helper()
	for _, d := range srv.Store().ListDrives() {
		if strings.HasPrefix(d.Name, backup.TempPrefix) {
			t.Errorf("temporary drive left: %s %s (%s)", d.UUID, d.Name, d.Status)
		}
	}
	for _, s := range srv.Store().ListSnapshots("") {
		if strings.HasPrefix(s.Name, backup.TempPrefix) || s.Meta[backup.MetaBackup] == backup.TempMark {
			t.Errorf("temporary snapshot left: %s %s", s.UUID, s.Name)
		}
	}
}

// backupImage returns the one image of drive uuid under dir.
func backupImage(t *testing.T, dir, uuid string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*-"+uuid, "*.img"))
	if len(m) != 1 {
		t.Fatalf("images of %s: %v", uuid, m)
	}
	return m[0]
}

func TestBackupE2E(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{JobDuration: 100 * time.Millisecond})
	requireV2Snapshots(t, srv)
	var uuids []string
	want := map[string][]byte{}
	for i, name := range []string{"web", "db 1", "cache/tmp"} {
		u, data := backupTestDrive(t, srv, name, int64(3<<20+i*(1<<20)+i*777), uint64(i))
		uuids = append(uuids, u)
		want[u] = data
	}
	dir := t.TempDir()
	args := append([]string{"backup", "--dir", dir, "--drives-at-once", "2", "--concurrency", "4", "--json"}, uuids...)
	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("backup: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep backup.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Drives) != 3 || rep.Count(backup.StatusOK) != 3 {
		t.Fatalf("report %s: %v", stdout, err)
	}
	for _, u := range uuids {
		img := backupImage(t, dir, u)
		got, err := os.ReadFile(img)
		if err != nil || !bytes.Equal(got, want[u]) {
			t.Fatalf("image of %s differs from the drive (%v)", u, err)
		}
		out, errOut, code := runCLI(t, env, "verify", img)
		if code != 0 || !strings.HasPrefix(out, "OK ") {
			t.Errorf("verify %s: exit %d %q %q", img, code, out, errOut)
		}
	}
	assertNoTemporaries(t, srv)

	// The table form, a second backup, and --keep 1 pruning the first.
	stdout, stderr, code = runCLI(t, env, "backup", uuids[0], "--dir", dir, "--keep", "1")
	if code != 0 || !strings.Contains(stdout, "STATUS") || !strings.Contains(stdout, " ok ") {
		t.Fatalf("second backup: exit %d\n%s\n%s", code, stdout, stderr)
	}
	backupImage(t, dir, uuids[0]) // exactly one left

	// verify catches a flipped byte and a truncated file, and wants a manifest.
	img := backupImage(t, dir, uuids[1])
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	f.ReadAt(b, 4<<20+3) // in chunk 1 of the 4 MiB + 777-byte image
	f.WriteAt([]byte{b[0] ^ 0x80}, 4<<20+3)
	stdout, stderr, code = runCLI(t, env, "verify", img)
	if code != ExitFailure || !strings.Contains(stdout, "BAD") || !strings.Contains(stdout, "4194304") {
		t.Errorf("flipped byte: exit %d\n%s\n%s", code, stdout, stderr)
	}
	assertOneErrorLine(t, stderr)
	f.WriteAt(b, 4<<20+3)
	f.Truncate(2 << 20)
	f.Close()
	stdout, stderr, code = runCLI(t, env, "verify", img)
	if code != ExitFailure || !strings.Contains(stdout, "size:") || !strings.Contains(stdout, "missing") {
		t.Errorf("truncated: exit %d\n%s\n%s", code, stdout, stderr)
	}
	os.Remove(backup.ManifestPath(img))
	_, stderr, code = runCLI(t, env, "verify", img)
	if code != ExitUsage || !strings.Contains(stderr, "hint:") {
		t.Errorf("no manifest: exit %d\n%s", code, stderr)
	}
}

func TestBackupE2EUsage(t *testing.T) {
	for _, args := range [][]string{
		{"backup", "--dir", "x"},
		{"backup", "--all", "--tag", "t", "--dir", "x"},
		{"backup", "--all"},
		{"backup", "--all", "--dir", "x", "--concurrency", "0"},
		{"verify"},
	} {
		_, stderr, code := runCLI(t, []string{"CLOUDSIGMA_USERNAME=u", "CLOUDSIGMA_PASSWORD=p"}, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, stderr)
		}
		assertOneErrorLine(t, stderr)
	}
	_, env := startEmulator(t, emulator.Config{})
	_, stderr, code := runCLI(t, env, "backup", "00000000-0000-4000-8000-000000000404", "--dir", t.TempDir())
	if code != ExitFailure {
		t.Errorf("unknown drive: exit %d\n%s", code, stderr)
	}
}

// TestBackupE2EKilledAndRerun kills the backup (SIGKILL) while it
// downloads from an emulator that injects faults, runs it again, and checks
// the rerun completes with correct images and leaves no temporaries.
func TestBackupE2EKilledAndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 100 * time.Millisecond,
		FailRate: 0.1, ResetRate: 0.03, ConnBandwidth: 4 << 20, Seed: 7})
	requireV2Snapshots(t, srv)
	var uuids []string
	want := map[string][]byte{}
	for i, name := range []string{"k1", "k2", "k3"} {
		u, data := backupTestDrive(t, srv, name, 6<<20, uint64(10+i))
		uuids = append(uuids, u)
		want[u] = data
	}
	dir := t.TempDir()
	args := append([]string{"backup", "--dir", dir, "--drives-at-once", "3"}, uuids...)

	// Kill once a download is under way.
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(baseEnv(t), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(dir, "*", "*.part")); len(m) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	if st, _ := filepath.Glob(filepath.Join(dir, "*", ".backup-state.json")); len(st) == 0 {
		t.Fatalf("no state saved before the kill; stderr:\n%s", errOut.String())
	}

	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, u := range uuids {
		got, err := os.ReadFile(backupImage(t, dir, u))
		if err != nil || !bytes.Equal(got, want[u]) {
			t.Fatalf("image of %s differs after the rerun (%v)", u, err)
		}
	}
	if st, _ := filepath.Glob(filepath.Join(dir, "*", ".backup-state.json")); len(st) > 0 {
		t.Errorf("state files left: %v", st)
	}
	assertNoTemporaries(t, srv)
}

// TestBackupE2EInterrupted sends SIGINT mid-download: exit 5 with the state
// saved, and the rerun completes.
func TestBackupE2EInterrupted(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, ConnBandwidth: 2 << 20})
	requireV2Snapshots(t, srv)
	u, data := backupTestDrive(t, srv, "int", 8<<20, 99)
	dir := t.TempDir()
	cmd := exec.Command(binPath, "backup", u, "--dir", dir)
	cmd.Env = append(baseEnv(t), env...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(dir, "*", "*.part")); len(m) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != ExitInterrupted {
		t.Fatalf("interrupted backup: %v, want exit 5\n%s", err, errOut.String())
	}
	if st, _ := filepath.Glob(filepath.Join(dir, "*", ".backup-state.json")); len(st) != 1 {
		t.Fatalf("state not saved")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := runCLIContext(t, ctx, env, "backup", u, "--dir", dir)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	got, err := os.ReadFile(backupImage(t, dir, u))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("image differs after the rerun (%v)", err)
	}
	assertNoTemporaries(t, srv)
}

// TestBackupE2EResumesBytes interrupts a backup once the download's
// checkpoint holds a few chunks: the rerun must fetch only what the first
// run had not (the report's downloaded bytes) and produce the same image.
func TestBackupE2EResumesBytes(t *testing.T) {
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, ConnBandwidth: 2 << 20})
	requireV2Snapshots(t, srv)
	const size = 24 << 20
	u, data := backupTestDrive(t, srv, "resume", size, 7)
	dir := t.TempDir()
	cmd := exec.Command(binPath, "backup", u, "--dir", dir, "--concurrency", "2")
	cmd.Env = append(baseEnv(t), env...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	store := resume.Store{Dir: filepath.Join(envValue(cmd.Env, "XDG_STATE_HOME"), "drivecp")}
	const wantDone = 2
	deadline := time.Now().Add(30 * time.Second)
	for done := 0; done < wantDone; {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no checkpoint with %d chunks after 30 s\n%s", wantDone, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
		cps, _ := store.List()
		for _, cp := range cps {
			done = max(done, cp.DoneCount())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) || exitErr.ExitCode() != ExitInterrupted {
		t.Fatalf("interrupted backup: %v, want exit 5\n%s", err, errOut.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := runCLIContext(t, ctx, env, "--json", "backup", u, "--dir", dir, "--concurrency", "2")
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep backup.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Drives) != 1 {
		t.Fatalf("rerun report %q: %v", r.stdout, err)
	}
	if got := rep.Drives[0].Downloaded; got <= 0 || got > size-wantDone*chunker.DefaultChunkSize {
		t.Errorf("rerun downloaded %d bytes; the first run had %d chunks of a %d-byte drive", got, wantDone, size)
	}
	got, err := os.ReadFile(backupImage(t, dir, u))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("image differs after the rerun (%v)", err)
	}
	if cps, _ := store.List(); len(cps) != 0 {
		t.Errorf("%d checkpoints left after a successful backup", len(cps))
	}
	assertNoTemporaries(t, srv)
}

// envValue returns the value of key in a KEY=VALUE list (the last wins).
func envValue(env []string, key string) string {
	var v string
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
