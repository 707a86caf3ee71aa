package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// plotResults are rows as Run makes them: fixed concurrencies of two
// scenarios, a single-stream one, -c auto with its trace, a row with no
// figures (n/a), all from the scenario table.
func plotResults(t *testing.T) []Result {
	t.Helper()
	byName := map[string]Scenario{}
	for _, s := range Scenarios() {
		byName[s.Name] = s
	}
	row := func(name string, c int, mbps float64) Result {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no scenario %s", name)
		}
		st := Stat{Median: mbps, Min: mbps, Max: mbps, N: 1}
		return Result{Scenario: s, Concurrency: c, Connections: max(c, 1), LogicalMBps: st, WireMBps: st,
			Seconds: Stat{Median: 4, Min: 4, Max: 4, N: 1}, ChunkerMBps: 300}
	}
	auto := row("v2-upload", 8, 75)
	auto.Auto = true
	auto.ConcurrencyTrace = []ConcurrencyStep{{0.1, 4}, {1.2, 6}, {2.5, 9}, {3, 8}}
	na := row("v2-single-download", 0, 0)
	na.LogicalMBps, na.NA = Stat{}, "not supported"
	return []Result{
		row("v1-upload", 1, 10), row("v1-upload", 4, 38), row("v1-upload", 16, 79),
		row("v2-upload", 1, 9.5), row("v2-upload", 4, 37), row("v2-upload", 16, 80), auto,
		row("v2-single-upload", 0, 10.2), na,
	}
}

var plotOpts = PlotOptions{Title: "a test; shaped", ConnBandwidth: 10e6, TotalBandwidth: 80e6}

// svgTexts parses an SVG document and returns its text elements.
func svgTexts(t *testing.T, r io.Reader) []string {
	t.Helper()
	dec := xml.NewDecoder(r)
	var texts []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG does not parse: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
		}
		if se.Name.Local == "text" {
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			texts = append(texts, s)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return texts
}

func TestWritePlotSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.svg")
	if err := WritePlotFile(path, plotResults(t), plotOpts); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	texts := svgTexts(t, f)
	count := func(s string) int {
		n := 0
		for _, x := range texts {
			if x == s {
				n++
			}
		}
		return n
	}
	// One legend entry per scenario with figures, -c auto apart, the
	// limits, and the auto panel naming the scenario again; nothing for
	// the row that was not run.
	for want, n := range map[string]int{
		"API 1.0 upload": 1, "API 2.0 chunked upload": 2, "API 2.0 chunked upload, -c auto": 1,
		"API 2.0 single upload": 1, "API 2.0 single-stream download": 0,
		"limit: 10.0 MB/s x connections": 1, "limit: 80.0 MB/s in all": 1,
		"limit: chunker-only 300 MB/s (above)":                     1,
		"-c auto: the concurrency it chose over time (median run)": 1,
	} {
		if got := count(want); got != n {
			t.Errorf("%q appears %d times, want %d; texts: %q", want, got, n, texts)
		}
	}
	// The -c axis is labelled with the concurrencies measured.
	for _, tick := range []string{"1", "4", "8", "16"} {
		if count(tick) == 0 {
			t.Errorf("no tick %q on the -c axis: %q", tick, texts)
		}
	}
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestWritePlotPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.PNG")
	if err := WritePlotFile(path, plotResults(t), plotOpts); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	// Two panels, one above the other: twice the height of the rate panel
	// alone.
	var one bytes.Buffer
	if err := WritePlot(&one, "png", plotResults(t)[:3], plotOpts); err != nil {
		t.Fatal(err)
	}
	single, err := png.Decode(&one)
	if err != nil {
		t.Fatal(err)
	}
	if b, sb := img.Bounds(), single.Bounds(); b.Dx() < 800 || b.Dx() != sb.Dx() || b.Dy() != 2*sb.Dy() {
		t.Errorf("size %v, the rate panel alone %v", b, sb)
	}
}

func TestWritePlotNoAutoPanel(t *testing.T) {
	var fixed []Result
	for _, r := range plotResults(t) {
		if !r.Auto {
			fixed = append(fixed, r)
		}
	}
	var buf bytes.Buffer
	if err := WritePlot(&buf, "svg", fixed, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, &buf)
	// Unshaped, the only limit is the chunker's, for the upload that gzips.
	for _, x := range texts {
		if strings.HasPrefix(x, "-c auto: the concurrency") || strings.HasSuffix(x, ", -c auto") ||
			strings.HasSuffix(x, "MB/s in all") || strings.HasSuffix(x, "x connections") {
			t.Errorf("%q with no auto rows and no shaping", x)
		}
	}
	if !slices.Contains(texts, "limit: chunker-only 300 MB/s (above)") {
		t.Errorf("no chunker limit: %q", texts)
	}
}

func TestWritePlotFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := WritePlotFile(filepath.Join(dir, "bench.pdf"), plotResults(t), plotOpts); !errors.Is(err, ErrPlotFormat) {
		t.Errorf("a .pdf: %v, want ErrPlotFormat", err)
	}
	// The rename fails (a folder has the name): nothing is left behind,
	// the folder is untouched.
	target := filepath.Join(dir, "taken.svg")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WritePlotFile(target, plotResults(t), plotOpts); err == nil {
		t.Fatal("writing over a folder succeeded")
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "taken.svg" || !left[0].IsDir() {
		t.Errorf("left in the folder: %v", left)
	}
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Errorf("the folder was changed: %v", err)
	}
}

func TestPlotFormat(t *testing.T) {
	for path, want := range map[string]string{"a.svg": "svg", "b/c.PNG": "png", "x.Svg": "svg", "x.jpg": "", "svg": "", "x.svg.gz": ""} {
		got, err := PlotFormat(path)
		if got != want || (want == "") != errors.Is(err, ErrPlotFormat) {
			t.Errorf("PlotFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
}
