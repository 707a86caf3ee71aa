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
}

// scenarios are all the scenarios, in the order tables list them.
var scenarios = []Scenario{
	{Name: "v1-upload", Title: "API 1.0 upload", Upload: true, API: "v1", Gzip: true},
	{Name: "v2-upload", Title: "API 2.0 chunked upload", Upload: true, API: "v2"},
	{Name: "v2-single-upload", Title: "API 2.0 single upload", Upload: true, API: "v2", Single: true},
	{Name: "v1-download", Title: "API 1.0 download", API: "v1"},
	{Name: "v2-download", Title: "API 2.0 ranged download", API: "v2"},
	{Name: "v2-single-download", Title: "API 2.0 single-stream download", API: "v2", Single: true},
}

// Scenarios returns every scenario, in table order.
func Scenarios() []Scenario { return append([]Scenario(nil), scenarios...) }

// ErrUnknownScenario is returned by ParseScenarios for a name it does not
// know.
var ErrUnknownScenario = errors.New("unknown scenario")

// ParseScenarios parses a comma-separated list of scenario names ("all" or
// "" for every one) and returns them in table order, without repeats.
func ParseScenarios(list string) ([]Scenario, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return Scenarios(), nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, s := range scenarios {
			if s.Name == name {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q (use %s)", ErrUnknownScenario, name, strings.Join(scenarioNames(), ", "))
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

// args is the drivecp command line of one run: image and name for an
// upload, drive and out for a download.
func (s Scenario) args(image, name, drive, out string, concurrency int) []string {
	var a []string
	if s.Upload {
		a = []string{"upload", image, "--name", name}
	} else {
		a = []string{"download", drive, "-o", out, "--force"}
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
