package bench

import (
	"slices"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want Stat
	}{
		{nil, Stat{}},
		{[]float64{5}, Stat{Median: 5, Min: 5, Max: 5, N: 1}},
		{[]float64{3, 1, 2}, Stat{Median: 2, Min: 1, Max: 3, N: 3}},
		{[]float64{4, 1, 3, 2}, Stat{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{[]float64{7, 7, 1, 9, 7}, Stat{Median: 7, Min: 1, Max: 9, N: 5}},
	} {
		in := slices.Clone(tc.in)
		if got := Summarize(tc.in); got != tc.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Summarize modified its input: %v, was %v", tc.in, in)
		}
	}
}

func TestFormatStat(t *testing.T) {
	for _, tc := range []struct {
		s    Stat
		want string
	}{
		{Stat{}, "-"},
		{Stat{Median: 412.4, Min: 412.4, Max: 412.4, N: 1}, "412"},
		{Stat{Median: 412.4, Min: 398, Max: 420.6, N: 3}, "412 (398-421)"},
		{Stat{Median: 2.345, Min: 1.5, Max: 12.25, N: 3}, "2.35 (1.50-12.2)"},
	} {
		if got := formatStat(tc.s); got != tc.want {
			t.Errorf("formatStat(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestParseConcurrency(t *testing.T) {
	got, err := ParseConcurrency("8, 1,4,8")
	if err != nil || !slices.Equal(got, []int{1, 4, 8}) {
		t.Errorf("ParseConcurrency = %v, %v; want [1 4 8]", got, err)
	}
	// auto goes last, once, whatever its place.
	got, err = ParseConcurrency("auto,8, 1,auto")
	if err != nil || !slices.Equal(got, []int{1, 8, AutoConcurrency}) {
		t.Errorf("ParseConcurrency = %v, %v; want [1 8 auto]", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "300", "-1", "Auto", "1,,2"} {
		if _, err := ParseConcurrency(bad); err == nil {
			t.Errorf("ParseConcurrency(%q) accepted", bad)
		}
	}
}

func TestParseScenarios(t *testing.T) {
	all, err := ParseScenarios("all")
	if err != nil || len(all) != 13 {
		t.Fatalf("all: %d scenarios, %v", len(all), err)
	}
	names := func(ss []Scenario) string {
		var n []string
		for _, s := range ss {
			n = append(n, s.Name)
		}
		return strings.Join(n, ",")
	}
	for list, want := range map[string]string{
		"paths":  "v1-upload,v2-upload,v2-single-upload,v1-download,v2-download,v2-single-download",
		"inputs": "v2-upload,v2-upload-qcow2,v2-upload-gzip,v2-upload-xz,v2-upload-zstd,v2-upload-bzip2,v2-upload-stdin,v2-download,v2-download-qcow2",
		// A group and a name, in table order, once each.
		"v2-single-download,inputs,v2-upload": "v2-upload,v2-upload-qcow2,v2-upload-gzip,v2-upload-xz,v2-upload-zstd,v2-upload-bzip2,v2-upload-stdin,v2-download,v2-single-download,v2-download-qcow2",
		"":                                    names(all),
	} {
		got, err := ParseScenarios(list)
		if err != nil || names(got) != want {
			t.Errorf("ParseScenarios(%q) = %s, %v; want %s", list, names(got), err, want)
		}
	}
	got, err := ParseScenarios("v1-download, v1-upload,v1-upload")
	if err != nil || len(got) != 2 || got[0].Name != "v1-upload" || got[1].Name != "v1-download" {
		t.Errorf("got %+v, %v; want v1-upload then v1-download", got, err)
	}
	if _, err := ParseScenarios("v3-upload"); err == nil {
		t.Error("unknown scenario accepted")
	}
}
