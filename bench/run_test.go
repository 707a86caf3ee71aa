package bench

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDrivecp stands in for the drivecp binary: it knows upload and
// download with --api v1, refuses --single and --api v2 as bad usage (exit
// 2), keeps each "drive" as the path of the image it was given, and
// corrupts downloads when FAKE_CORRUPT is set. Given --log-json, it logs
// two concurrency changes, as -c auto does, and ends at 6.
const fakeDrivecp = `#!/bin/sh
cmd=$1; shift
log=; prev=; auto=
for a in "$@"; do [ "$prev" = --log-json ] && log=$a; prev=$a; done
if [ -n "$log" ]; then
	printf '%s\n' '{"time":"2026-01-01T00:00:00Z","event":"start"}' \
		'{"time":"2026-01-01T00:00:00.5Z","event":"concurrency","concurrency":4}' \
		'{"time":"2026-01-01T00:00:02Z","event":"concurrency","concurrency":6}' > "$log"
	auto=',"concurrency":6'
fi
case " $* " in *" --single "*) echo "drivecp: error: flag provided but not defined: -single" >&2; exit 2;; esac
case " $* " in *" --api v2 "*) echo "drivecp: error: --api v2 transfers are not supported yet" >&2
	echo "drivecp: hint: use --api v1" >&2; exit 2;; esac
[ -n "$XDG_STATE_HOME" ] || { echo "drivecp: error: no state dir" >&2; exit 1; }
if [ "$cmd" = upload ]; then
	id=d$$
	echo "$1" > "$FAKE_DIR/$id"
	echo "{\"drive\":\"$id\",\"wire_bytes\":1000,\"seconds\":0.01$auto}"
	exit 0
fi
src=$(cat "$FAKE_DIR/$1") || exit 4
cp "$src" "$3"
[ -z "$FAKE_CORRUPT" ] || printf x >> "$3"
echo "{\"drive\":\"$1\",\"wire_bytes\":2000,\"seconds\":0.01$auto}"
`

func fakeConfig(t *testing.T, env ...string) (Config, *[]string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "drivecp")
	if err := os.WriteFile(bin, []byte(fakeDrivecp), 0o700); err != nil {
		t.Fatal(err)
	}
	drives := filepath.Join(dir, "drives")
	work := filepath.Join(dir, "work")
	for _, d := range []string{drives, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	image := filepath.Join(dir, "image.raw")
	if _, err := WriteImage(context.Background(), image, ImageSpec{Size: 1 << 20, Mix: mixes[0], Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var deleted []string
	return Config{
		Binary:        bin,
		Env:           append([]string{"PATH=" + os.Getenv("PATH"), "FAKE_DIR=" + drives}, env...),
		Image:         image,
		WorkDir:       work,
		Scenarios:     Scenarios(),
		Concurrency:   []int{2, 4},
		Runs:          3,
		ConnBandwidth: 1e6,
		ChunkerMBps:   1e6, // so the shaping cap is the nearer limit
		NamePrefix:    "test",
		DeleteDrives: func(_ context.Context, ids ...string) error {
			mu.Lock()
			defer mu.Unlock()
			deleted = append(deleted, ids...)
			for _, id := range ids {
				if err := os.Remove(filepath.Join(drives, id)); err != nil {
					return err
				}
			}
			return nil
		},
	}, &deleted
}

func TestRun(t *testing.T) {
	cfg, deleted := fakeConfig(t)
	var progress bytes.Buffer
	cfg.Progress = &progress
	var hashed int
	cfg.HashDrive = func(_ context.Context, id string, n int64) (uint64, error) {
		hashed++
		src, err := os.ReadFile(filepath.Join(cfg.Env[1][len("FAKE_DIR="):], id))
		if err != nil {
			return 0, err
		}
		return HashFile(strings.TrimSpace(string(src)))
	}
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var names []string
	for _, r := range results {
		names = append(names, r.Name)
	}
	// v1 paths at both concurrencies, each v2 path once as n/a, the uploads
	// from the other inputs beside raw's.
	want := []string{"v1-upload", "v1-upload", "v2-upload",
		"v2-upload-qcow2", "v2-upload-gzip", "v2-upload-xz", "v2-upload-zstd", "v2-upload-bzip2", "v2-upload-stdin",
		"v2-single-upload", "v1-download", "v1-download", "v2-download", "v2-single-download", "v2-download-qcow2"}
	if !slices.Equal(names, want) {
		t.Fatalf("rows %v, want %v", names, want)
	}
	up := results[1]
	if up.Concurrency != 4 || up.Connections != 4 || up.LogicalMBps.N != 3 || up.CPUSecondsPerGB.N != 3 ||
		up.ShapingCapMBps != 4 || up.Limit != "cap" || up.LimitMBps != 4 || up.ChunkerMBps != 1e6 || up.LogicalBytes != 1<<20 {
		t.Errorf("v1-upload -c 4: %+v", up)
	}
	if up.PeakRSSMiB.Median <= 0 || up.WireMBps.Median <= 0 || up.LogicalMBps.Median <= 0 {
		t.Errorf("v1-upload -c 4 measured nothing: %+v", up)
	}
	if r := results[2]; r.NA != "--api v2 transfers are not supported yet" || r.Concurrency != 0 || r.LogicalMBps.N != 0 {
		t.Errorf("v2-upload: %+v", r)
	}
	if r := results[9]; !strings.Contains(r.NA, "-single") {
		t.Errorf("v2-single-upload: %+v", r)
	}
	if r := results[10]; r.Error != "" || r.LogicalMBps.N != 3 || r.LimitMBps != 2 || r.Limit != "cap" {
		t.Errorf("v1-download -c 2: %+v", r)
	}
	if hashed != 6 {
		t.Errorf("%d uploads checked, want 6", hashed)
	}
	// 2 concurrencies x 3 runs of uploads and the download source.
	if len(*deleted) != 7 {
		t.Errorf("deleted %d drives, want 7: %v", len(*deleted), *deleted)
	}
	left, _ := os.ReadDir(cfg.WorkDir)
	if len(left) != 0 {
		t.Errorf("left in the work dir: %v", left)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(table.String(), "\n"), "\n")
	// A note for each n/a row: the v2 paths, from every input and into
	// every output.
	if len(lines) != 1+len(results)+11 || !strings.HasPrefix(lines[0], "SCENARIO") || !strings.HasPrefix(lines[len(lines)-1], "[11] ") {
		t.Errorf("table:\n%s", table.String())
	}
	col := strings.Index(lines[0], "LOGICAL")
	for _, l := range lines[1 : 1+len(results)] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned with the header:\n%s\n%s", lines[0], l)
		}
	}
}

func TestRunAuto(t *testing.T) {
	cfg, _ := fakeConfig(t)
	cfg.Scenarios, _ = ParseScenarios("v1-upload,v1-download")
	cfg.Concurrency = []int{2, AutoConcurrency}
	cfg.TotalBandwidth = 5e6
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(results), results)
	}
	wantTrace := []ConcurrencyStep{{0.5, 4}, {2, 6}}
	for i, r := range results {
		auto := i%2 == 1
		if r.Auto != auto || r.LogicalMBps.N != 3 {
			t.Errorf("row %d: %+v", i, r)
			continue
		}
		if !auto {
			// 2 x 1 MB/s per connection, under the total of 5.
			if r.Concurrency != 2 || r.ConcurrencyTrace != nil || r.ShapingCapMBps != 2 {
				t.Errorf("row %d (-c 2): %+v", i, r)
			}
			continue
		}
		// Ended at 6: 6 MB/s over its connections, capped at the total.
		if r.Concurrency != 6 || r.Connections != 6 || !slices.Equal(r.ConcurrencyTrace, wantTrace) || r.ShapingCapMBps != 5 {
			t.Errorf("row %d (-c auto): concurrency %d, connections %d, cap %v, trace %v; want 6, 6, 5, %v",
				i, r.Concurrency, r.Connections, r.ShapingCapMBps, r.ConcurrencyTrace, wantTrace)
		}
	}
	var table bytes.Buffer
	if err := WriteTable(&table, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "API 1.0 upload    auto (6)  ") {
		t.Errorf("the table does not say where -c auto ended:\n%s", table.String())
	}
	if left, _ := os.ReadDir(cfg.WorkDir); len(left) != 0 {
		t.Errorf("left in the work dir: %v", left)
	}
}

func TestRunMismatch(t *testing.T) {
	cfg, deleted := fakeConfig(t, "FAKE_CORRUPT=1")
	cfg.Scenarios, _ = ParseScenarios("v1-download")
	cfg.Concurrency = []int{1}
	results, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrRunsFailed) {
		t.Fatalf("Run = %v, want ErrRunsFailed", err)
	}
	if len(results) != 1 || !strings.Contains(results[0].Error, ErrMismatch.Error()) || results[0].LogicalMBps.N != 0 {
		t.Errorf("results %+v", results)
	}
	if len(*deleted) != 1 {
		t.Errorf("the download source was not deleted: %v", *deleted)
	}
}

func TestRunCancelled(t *testing.T) {
	cfg, deleted := fakeConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(*deleted) != 0 {
		t.Errorf("deleted %v without creating anything", *deleted)
	}
}

func TestRunUploadMismatch(t *testing.T) {
	cfg, _ := fakeConfig(t)
	cfg.Scenarios, _ = ParseScenarios("v1-upload")
	cfg.Concurrency = []int{1}
	cfg.HashDrive = func(context.Context, string, int64) (uint64, error) { return 42, nil }
	results, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrRunsFailed) || len(results) != 1 || !strings.Contains(results[0].Error, "differs from the image") {
		t.Fatalf("Run = %+v, %v; want a mismatch", results, err)
	}
}

func TestSummarizeCPUBound(t *testing.T) {
	samples := []sample{{wall: 2 * time.Second, cpu: 2 * time.Second, serverCPU: time.Second}}
	res := Result{LogicalBytes: 1e9}
	res.summarize(samples)
	// 1 GB in 2 s is 500 MB/s; 3 CPU s per GB on all the cores allows
	// NumCPU x 1000 / 3 MB/s.
	bound := float64(runtime.NumCPU()) * 1000 / 3
	if math.Abs(res.CPUBoundMBps-bound) > 1e-9 || math.Abs(res.OfCPUBound-500/bound) > 1e-9 {
		t.Errorf("bound %v (%v of it), want %v", res.CPUBoundMBps, res.OfCPUBound, bound)
	}
	shaped := Result{LogicalBytes: 1e9, ShapingCapMBps: 80}
	shaped.summarize(samples)
	unmeasured := Result{LogicalBytes: 1e9}
	unmeasured.summarize([]sample{{wall: time.Second, cpu: time.Second, serverCPU: -1}})
	if shaped.CPUBoundMBps != 0 || unmeasured.CPUBoundMBps != 0 {
		t.Errorf("bound set on a shaped link (%v) or without the server's CPU (%v)", shaped.CPUBoundMBps, unmeasured.CPUBoundMBps)
	}
}
