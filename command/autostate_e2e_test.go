package command

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// firstConcurrency returns the first value -c auto logged in an event log.
func firstConcurrency(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev struct {
			Event       string `json:"event"`
			Concurrency int    `json:"concurrency"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == "concurrency" {
			return ev.Concurrency
		}
	}
	t.Fatalf("%s logs no concurrency", path)
	return 0
}

// TestE2EAutoRemembers: -c auto starts from what the last run of the same
// transfer found best, kept in the state folder with whether requests were
// refused; the first run starts at 4.
func TestE2EAutoRemembers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	// At most 3 at once: the first run, starting at 4, is refused.
	_, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20, MaxConcurrent: 3})
	dir := t.TempDir()
	img := filepath.Join(dir, "random.img")
	writeRandom(t, img, 8<<20)
	var state string
	for _, kv := range baseEnv(t) {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			state = filepath.Join(v, "drivecp", autoStateFile)
		}
	}
	remembered := func() autoRecord {
		t.Helper()
		fi, err := os.Stat(state)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("state file: %v, mode %v", err, fi.Mode())
		}
		data, _ := os.ReadFile(state)
		var all map[string]autoRecord
		if err := json.Unmarshal(data, &all); err != nil || len(all) != 1 {
			t.Fatalf("state %s: %v", data, err)
		}
		for _, rec := range all {
			return rec
		}
		return autoRecord{}
	}
	var first autoRecord
	for run := range 2 {
		logPath := filepath.Join(dir, "events.jsonl")
		os.Remove(logPath)
		stdout, stderr, code := runCLI(t, env, "upload", img, "-c", "auto", "--chunk-size", "1M", "--retries", "20",
			"--json", "--quiet", "--log-json", logPath)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s", run+1, code, stderr)
		}
		var sum struct {
			Retries int64 `json:"retries"`
		}
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatalf("run %d: summary %q: %v", run+1, stdout, err)
		}
		start, rec := firstConcurrency(t, logPath), remembered()
		if run == 0 {
			if start != 4 || sum.Retries == 0 || rec.Concurrency < 1 || rec.Concurrency > 3 || !rec.Refused {
				t.Fatalf("first run started at %d with %d retries, left %+v; want 4, refused, at most 3 kept", start, sum.Retries, rec)
			}
			first = rec
			continue
		}
		if start != first.Concurrency || !rec.Refused || rec.Concurrency < 1 {
			t.Errorf("second run started at %d and left %+v; want %d, still refused", start, rec, first.Concurrency)
		}
	}
}
