package command

import (
	"encoding/json"
	"strings"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

func TestBenchEndToEnd(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	stdout, stderr, code := runCLI(t, nil, "bench", "--size", "16M", "--runs", "1", "--concurrency", "2",
		"--scenarios", "v1-upload,v1-download")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a heading, a header and two rows, got:\n%s", stdout)
	}
	if !strings.HasPrefix(lines[0], "drivecp bench: 16 MiB realistic image") || !strings.Contains(lines[0], "no shaping") {
		t.Errorf("heading %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "SCENARIO ") || !strings.Contains(lines[1], " OF LIMIT ") ||
		!strings.HasSuffix(lines[1], "EMULATOR CPU s/GB  OF CPU BOUND") {
		t.Errorf("header %q", lines[1])
	}
	col := strings.Index(lines[1], "LOGICAL")
	for i, want := range []string{"API 1.0 upload", "API 1.0 download"} {
		row := lines[2+i]
		if !strings.HasPrefix(row, want+" ") || len(row) <= col || row[col] == ' ' || row[col-1] != ' ' {
			t.Errorf("row %q: want %q with a figure under LOGICAL", row, want)
		}
		if strings.Contains(row, "FAILED") || strings.Contains(row, "n/a") || !strings.HasSuffix(row, "%") {
			t.Errorf("row %q: want a figure, ending with the CPU bound's percentage", row)
		}
	}
	if !strings.Contains(stderr, "bench: chunker-only rate") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
}

func TestBenchJSON(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	stdout, stderr, code := runCLI(t, nil, "bench", "--size", "8M", "--runs", "2", "--concurrency", "1",
		"--scenarios", "v1-download", "--latency", "1ms", "--conn-bandwidth", "1G/s", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(rows) != 1 || rows[0]["scenario"] != "v1-download" || rows[0]["shaping_cap_mb_per_s"].(float64) < 1000 {
		t.Fatalf("rows %v", rows)
	}
	if st := rows[0]["logical_mb_per_s"].(map[string]any); st["n"].(float64) != 2 || st["median"].(float64) <= 0 {
		t.Errorf("logical_mb_per_s %v", st)
	}
	if stderr != "" {
		t.Errorf("--quiet printed %q", stderr)
	}
}

func TestBenchUsage(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	for _, args := range [][]string{
		{"bench", "--scenarios", "v3-upload"},
		{"bench", "--concurrency", "0"},
		{"bench", "--runs", "0"},
		{"bench", "--size", "1k"},
		{"bench", "--mix", "lumpy"},
		{"bench", "--image", "x.img", "--size", "1G"},
		{"--endpoint", "http://127.0.0.1:1/", "bench", "--latency", "20ms"},
	} {
		_, stderr, code := runCLI(t, nil, args...)
		if code != ExitUsage {
			t.Errorf("drivecp %q: exit %d, want %d\n%s", args, code, ExitUsage, stderr)
			continue
		}
		assertOneErrorLine(t, stderr)
	}
}

func TestBenchEndpointCleansUp(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	srv, env := startEmulator(t, emulator.Config{})
	stdout, stderr, code := runCLI(t, env, "bench", "--size", "8M", "--runs", "2", "--concurrency", "1",
		"--scenarios", "v1-upload,v2-upload,v1-download", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "against 127.0.0.1:") || strings.Contains(stdout, "EMULATOR CPU") {
		t.Errorf("the heading should name the endpoint and the table have no emulator column:\n%s", stdout)
	}
	if left := srv.Store().ListDrives(); len(left) != 0 {
		t.Errorf("the bench left %d drives behind: %+v", len(left), left)
	}
}
