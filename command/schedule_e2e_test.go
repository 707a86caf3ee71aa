package command

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// windowFromNow is a --window that opens now and closes after d.
func windowFromNow(d time.Duration) string {
	now := time.Now()
	return now.Add(-time.Second).Format("15:04:05") + "-" + now.Add(d).Format("15:04:05")
}

// TestE2EWindowClosesMidTransfer: an upload whose --window ends while it
// runs stops with its progress saved (exit 5, saying why), and the next run
// finishes it identical; outside the window nothing starts.
func TestE2EWindowClosesMidTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 2 << 20})
	img := writeResumeImage(t, 32<<20, 7)
	args := []string{"upload", img, "--api", "v1", "-c", "2", "--chunk-size", "1M"}

	start := time.Now()
	_, stderr, code := runCLI(t, env, append(args, "--window", windowFromNow(3*time.Second))...)
	if code != ExitInterrupted || !strings.Contains(stderr, "transfer window") || !strings.Contains(stderr, "closed") {
		t.Fatalf("upload across the window's end: exit %d\n%s", code, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run went on %v after its window", took)
	}
	c := savedCheckpoint(t)
	if c == nil || c.DoneCount() == 0 || c.DoneCount() == c.Total {
		t.Fatalf("checkpoint after the window closed: %+v", c)
	}

	// Outside the window: nothing is done, exit 5, and when it opens.
	now := time.Now()
	later := now.Add(2*time.Hour).Format("15:04") + "-" + now.Add(3*time.Hour).Format("15:04")
	_, stderr, code = runCLI(t, env, append(args, "--window", later)...)
	if code != ExitInterrupted || !strings.Contains(stderr, "outside the transfer window") || !strings.Contains(stderr, "it opens at") {
		t.Fatalf("outside the window: exit %d\n%s", code, stderr)
	}
	if c2 := savedCheckpoint(t); c2 == nil || c2.DoneCount() != c.DoneCount() {
		t.Fatalf("a run outside the window changed the checkpoint: %+v", c2)
	}

	// The next run (no window) continues and finishes.
	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 || resumedChunks(stderr) == 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "back.img")
	mustRun(t, env, "download", strings.TrimSpace(stdout), "-o", out, "-q")
	sameFiles(t, img, out)

	mustFail(t, env, ExitUsage, "--window", append(args, "--window", "22:00")...)
	mustFail(t, env, ExitUsage, "--bwlimit", append(args, "--bwlimit", "08:00,1M 08:00,2M")...)
}

// TestE2EBandwidthTimetable: a timetable's current slot limits the
// transfer as a plain --bwlimit does.
func TestE2EBandwidthTimetable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{})
	img := filepath.Join(t.TempDir(), "random.img")
	data := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(8, 9))
	for i := range data {
		data[i] = byte(r.Uint32()) // incompressible: gzip saves nothing
	}
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Every slot of the day says 1M: the 4 MiB upload takes about 3 s
	// (the first chunk goes out in the burst).
	start := time.Now()
	_, stderr, code := runCLI(t, env, "upload", img, "--api", "v1", "-c", "4", "--chunk-size", "1M", "--bwlimit", "00:00,1M 06:00,1M 12:00,1M 18:00,1M")
	if code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, stderr)
	}
	if took := time.Since(start); took < 2500*time.Millisecond {
		t.Errorf("a 1M/s timetable let 4 MiB through in %v", took)
	}
}
