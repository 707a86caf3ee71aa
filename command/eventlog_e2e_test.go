package command

import (
	"bufio"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestE2EEventLog: --log-json writes one JSON object per line: start,
// the phase, progress at least once a second with a rate and an ETA,
// every retry with its chunk's offset, the summary and the end.
func TestE2EEventLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 2 << 20, FailRate: 0.15, Seed: 3})
	dir := t.TempDir()
	img := filepath.Join(dir, "random.img")
	data := writeRandom(t, img, 8<<20)
	logPath := filepath.Join(dir, "events.jsonl")
	stdout, stderr, code := runCLI(t, env, "upload", img, "--api", "v1", "-c", "2", "--chunk-size", "1M", "--retries", "20",
		"--log-json", logPath)
	if code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, stderr)
	}
	fi, err := os.Stat(logPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("event log: %v, mode %v", err, fi.Mode())
	}
	f, _ := os.Open(logPath)
	defer f.Close()
	var (
		events   []map[string]any
		progress []map[string]any
		retries  int
		lastProg time.Time
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ts, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		if err != nil {
			t.Fatalf("time of %v: %v", ev, err)
		}
		ev["_t"] = ts
		events = append(events, ev)
		switch ev["event"] {
		case "progress":
			if !lastProg.IsZero() && ts.Sub(lastProg) > 1500*time.Millisecond {
				t.Errorf("progress lines %v apart", ts.Sub(lastProg))
			}
			lastProg = ts
			progress = append(progress, ev)
		case "retry", "stall":
			retries++
			if _, ok := ev["offset"].(float64); !ok || ev["error"] == "" || ev["attempt"].(float64) < 2 {
				t.Errorf("retry event without its chunk: %v", ev)
			}
		}
		if strings.Contains(sc.Text(), srv.Config().Password) {
			t.Errorf("the password is in the event log: %s", sc.Text())
		}
	}
	if len(events) < 5 || events[0]["event"] != "start" || events[1]["event"] != "phase" || events[len(events)-1]["event"] != "end" ||
		events[len(events)-1]["exit_code"].(float64) != 0 || events[len(events)-2]["event"] != "summary" {
		t.Fatalf("event sequence: %v", events)
	}
	if retries == 0 {
		t.Error("no retry logged against a server failing 15% of requests")
	}
	if len(progress) < 2 {
		t.Fatalf("%d progress lines for a transfer of several seconds", len(progress))
	}
	last := progress[len(progress)-1]
	if last["bytes_done"].(float64) != float64(len(data)) || last["bytes_total"].(float64) != float64(len(data)) {
		t.Errorf("last progress %v", last)
	}
	if strings.TrimSpace(stdout) == "" {
		t.Error("the UUID went missing from stdout")
	}
}

// writeRandom writes n incompressible bytes to path and returns them.
func writeRandom(t *testing.T, path string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestE2EEventLogETA: on a steady shaped link the ETA of the progress
// lines, once a fifth is done, is close to the time the upload really
// took to finish.
func TestE2EEventLogETA(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 2 << 20})
	dir := t.TempDir()
	img := filepath.Join(dir, "random.img")
	data := writeRandom(t, img, 24<<20)
	logPath := filepath.Join(dir, "events.jsonl")
	if _, stderr, code := runCLI(t, env, "upload", img, "--api", "v1", "-c", "2", "--chunk-size", "1M", "--log-json", logPath); code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		Event     string    `json:"event"`
		Time      time.Time `json:"time"`
		BytesDone float64   `json:"bytes_done"`
		ETA       *float64  `json:"eta_s"`
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev line
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == "progress" {
			lines = append(lines, ev)
		}
	}
	end := lines[len(lines)-1].Time
	worst, checked := 0.0, 0
	for _, l := range lines {
		actual := end.Sub(l.Time).Seconds()
		if l.ETA == nil || l.BytesDone < 0.2*float64(len(data)) || actual < 1 {
			continue
		}
		checked++
		worst = math.Max(worst, math.Abs(*l.ETA-actual)/actual)
	}
	t.Logf("worst ETA error after 20%% done: %.1f%% over %d progress lines", 100*worst, checked)
	// 0-15% measured on a loaded 2-core machine; without counting the
	// chunks in flight it was up to 50%, which this still catches.
	if checked == 0 || worst > 0.4 {
		t.Logf("%s", b)
		t.Errorf("ETA off by %.0f%% of the remaining time (%d lines checked)", 100*worst, checked)
	}
}
