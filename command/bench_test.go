package command

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
		{"bench", "--plot", "bench.pdf"},
		{"bench", "--plot", "no-such-folder/bench.svg"},
		{"bench", "--concurrency", "1,automatic"},
		{"bench", "--total-bandwidth", "fast"},
		{"bench", "--max-concurrent", "-1"},
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

// svgTextsOf parses an SVG file and returns its text elements.
func svgTextsOf(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var texts []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return texts
		}
		if err != nil {
			t.Fatalf("%s does not parse as XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "text" {
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			texts = append(texts, s)
		}
	}
}

func TestBenchPlot(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	dir := t.TempDir()
	plot := filepath.Join(dir, "bench.svg")
	stdout, stderr, code := runCLI(t, nil, "bench", "--size", "8M", "--runs", "1", "--concurrency", "2,auto",
		"--scenarios", "v2-upload,v2-single-upload", "--conn-bandwidth", "100MB/s", "--total-bandwidth", "150MB/s",
		"--plot", plot, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "150 MiB/s in all") || !strings.Contains(stdout, " auto (") {
		t.Errorf("the table names neither the total bandwidth nor where -c auto ended:\n%s", stdout)
	}
	texts := svgTextsOf(t, plot)
	for _, want := range []string{"API 2.0 chunked upload", "API 2.0 chunked upload, -c auto", "API 2.0 single upload",
		"limit: 105 MB/s x connections", "limit: 157 MB/s in all", "-c auto: the concurrency it chose over time (median run)"} {
		if !slices.Contains(texts, want) {
			t.Errorf("the plot has no %q: %q", want, texts)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("left beside the plot: %v", left)
	}
}

func TestBenchPlotFails(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	// A folder has the plot's name: the bench runs, writing the plot
	// fails, and nothing is left behind.
	dir := t.TempDir()
	plot := filepath.Join(dir, "bench.png")
	if err := os.Mkdir(plot, 0o700); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, nil, "bench", "--size", "2M", "--runs", "1", "--scenarios", "v2-single-upload",
		"--plot", plot, "--quiet")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailure, stderr)
	}
	assertOneErrorLine(t, stderr)
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("left beside the plot: %v", left)
	}
}

func TestBenchInputs(t *testing.T) {
	if binPath == "" {
		t.Skip("no binary")
	}
	// The bench checks each uploaded drive against the image, so a row
	// with figures is an input read back byte for byte.
	stdout, stderr, code := runCLI(t, nil, "bench", "--size", "4M", "--runs", "1", "--concurrency", "2",
		"--scenarios", "inputs", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	_, noBzip2 := exec.LookPath("bzip2")
	want := []string{"API 2.0 chunked upload ", "API 2.0 chunked upload, qcow2 ", "API 2.0 chunked upload, gzip ",
		"API 2.0 chunked upload, xz ", "API 2.0 chunked upload, zstd ", "API 2.0 chunked upload, bzip2 ", "API 2.0 chunked upload, stdin "}
	if len(lines) < 2+len(want) {
		t.Fatalf("want a heading, a header and %d rows:\n%s", len(want), stdout)
	}
	for i, prefix := range want {
		row := lines[2+i]
		if !strings.HasPrefix(row, prefix) {
			t.Errorf("row %d %q: want %q", i, row, prefix)
			continue
		}
		if strings.Contains(row, "FAILED") || (strings.Contains(row, "n/a") && !(noBzip2 != nil && strings.Contains(prefix, "bzip2"))) {
			t.Errorf("row %q: want figures\n%s", row, stdout)
		}
	}
}
