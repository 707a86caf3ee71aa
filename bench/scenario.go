package bench

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Scenario is one way of moving the image, run through drivecp's command
// line exactly as a user would type it.
type Scenario struct {
	// Name is how --scenarios names it.
	Name string `json:"scenario"`
	// Title is how tables name it.
	Title string `json:"title"`
	// Upload is true for uploads, false for downloads.
	Upload bool `json:"upload"`
	// API is "v1" or "v2".
	API string `json:"api"`
	// Single is one request or stream: concurrency does not apply.
	Single bool `json:"single"`
	// Gzip is true when the path gzips what it sends, so the chunker rate
	// (which includes gzip) bounds it.
	Gzip bool `json:"-"`
	// Input is what an upload reads (InputRaw: the image file; else the
	// same content as qcow2, compressed, or on standard input).
	Input string `json:"input,omitempty"`
	// Output is what a download writes: OutputRaw, a raw file, or
	// OutputQcow2, a qcow2 file (--format qcow2).
	Output string `json:"output,omitempty"`
}

// Outputs of a download scenario.
const (
	OutputRaw   = ""
	OutputQcow2 = "qcow2"
)

// scenarios are all the scenarios, in the order tables list them.
var scenarios = []Scenario{
	{Name: "v1-upload", Title: "API 1.0 upload", Upload: true, API: "v1", Gzip: true},
	{Name: "v2-upload", Title: "API 2.0 chunked upload", Upload: true, API: "v2"},
	// The same upload from the other inputs drivecp reads, beside raw.
	{Name: "v2-upload-qcow2", Title: "API 2.0 chunked upload, qcow2", Upload: true, API: "v2", Input: InputQcow2},
	{Name: "v2-upload-gzip", Title: "API 2.0 chunked upload, gzip", Upload: true, API: "v2", Input: InputGzip},
	{Name: "v2-upload-xz", Title: "API 2.0 chunked upload, xz", Upload: true, API: "v2", Input: InputXz},
	{Name: "v2-upload-zstd", Title: "API 2.0 chunked upload, zstd", Upload: true, API: "v2", Input: InputZstd},
	{Name: "v2-upload-bzip2", Title: "API 2.0 chunked upload, bzip2", Upload: true, API: "v2", Input: InputBzip2},
	{Name: "v2-upload-stdin", Title: "API 2.0 chunked upload, stdin", Upload: true, API: "v2", Input: InputStdin},
	{Name: "v2-single-upload", Title: "API 2.0 single upload", Upload: true, API: "v2", Single: true},
	{Name: "v1-download", Title: "API 1.0 download", API: "v1"},
	{Name: "v2-download", Title: "API 2.0 ranged download", API: "v2"},
	{Name: "v2-single-download", Title: "API 2.0 single-stream download", API: "v2", Single: true},
	// The ranged download into a qcow2 file, beside the raw file's.
	{Name: "v2-download-qcow2", Title: "API 2.0 ranged download, qcow2", API: "v2", Output: OutputQcow2},
}

// Scenarios returns every scenario, in table order.
func Scenarios() []Scenario { return append([]Scenario(nil), scenarios...) }

// ErrUnknownScenario is returned by ParseScenarios for a name it does not
// know.
var ErrUnknownScenario = errors.New("unknown scenario")

// Groups of scenarios --scenarios takes by name: "paths" is every path
// from the image file into a raw file (the bench's default: a run of them
// on a 1 GiB image takes minutes, where making the xz and bzip2 inputs
// alone can take as long), "inputs" the uploads from every input and the
// downloads into every output beside raw's, "all" both.
var scenarioGroups = map[string]func(Scenario) bool{
	"all":   func(Scenario) bool { return true },
	"paths": func(s Scenario) bool { return s.Input == InputRaw && s.Output == OutputRaw },
	"inputs": func(s Scenario) bool {
		return s.Name == "v2-upload" || s.Name == "v2-download" || s.Input != InputRaw || s.Output != OutputRaw
	},
}

// ParseScenarios parses a comma-separated list of scenario names and
// groups ("" for all) and returns them in table order, without repeats.
func ParseScenarios(list string) ([]Scenario, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return Scenarios(), nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if in, ok := scenarioGroups[name]; ok {
			for _, s := range scenarios {
				want[s.Name] = want[s.Name] || in(s)
			}
			continue
		}
		found := false
		for _, s := range scenarios {
			if s.Name == name {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q (use %s, or all, paths, inputs)", ErrUnknownScenario, name, strings.Join(scenarioNames(), ", "))
		}
		want[name] = true
	}
	var out []Scenario
	for _, s := range scenarios {
		if want[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}

func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return names
}

// AutoConcurrency in a list of concurrencies stands for -c auto.
const AutoConcurrency = -1

// ParseConcurrency parses a comma-separated list of concurrencies such as
// "1,4,8,auto" (each 1 to 256, or auto) into ascending order without
// repeats, with auto (AutoConcurrency) last.
func ParseConcurrency(list string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	auto := false
	for _, f := range strings.Split(list, ",") {
		if strings.TrimSpace(f) == "auto" {
			auto = true
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			return nil, fmt.Errorf("concurrency %q: use numbers from 1 to 256 or auto, separated by commas", f)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	if auto {
		out = append(out, AutoConcurrency)
	}
	return out, nil
}

// args is the drivecp command line of one run: image (the file of the
// scenario's input; ignored for standard input) and name for an upload,
// drive and out for a download; size is the raw image's, which streams
// that do not record it are given.
func (s Scenario) args(image, name, drive, out string, size int64, concurrency int) []string {
	var a []string
	if s.Upload {
		if s.Input == InputStdin {
			image = "-"
		}
		a = []string{"upload", image, "--name", name}
		switch s.Input {
		case InputGzip, InputBzip2, InputStdin:
			a = append(a, "--size", strconv.FormatInt(size, 10))
		}
	} else {
		a = []string{"download", drive, "-o", out, "--force"}
		if s.Output == OutputQcow2 {
			a = append(a, "--format", "qcow2")
		}
	}
	a = append(a, "--api", s.API, "--quiet", "--json")
	if s.Single {
		a = append(a, "--single")
	} else {
		c := strconv.Itoa(concurrency)
		if concurrency == AutoConcurrency {
			c = "auto"
		}
		a = append(a, "-c", c)
	}
	return a
}
