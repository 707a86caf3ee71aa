package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/bench"
	"github.com/drivecp/drivecp/chunker"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// Flags of `drivecp bench`.
const (
	flagBenchImage       = "image"
	flagBenchSize        = "size"
	flagBenchMix         = "mix"
	flagBenchSeed        = "seed"
	flagBenchLatency     = "latency"
	flagBenchConnBW      = "conn-bandwidth"
	flagBenchTotalBW     = "total-bandwidth"
	flagBenchMaxConc     = "max-concurrent"
	flagBenchPlot        = "plot"
	flagBenchConcurrency = "concurrency"
	flagBenchRuns        = "runs"
	flagBenchScenarios   = "scenarios"
	flagBenchMakeImage   = "make-image"
)

// Defaults of `drivecp bench`, chosen so a run with them on a 1 GiB
// realistic image finishes in under five minutes on two cores: about 1.5
// minutes unshaped (1,8 x 3 runs); shaped, single streams dominate (1 GiB at
// 10MB/s is 100 s each), so --conn-bandwidth alone switches to one run at
// -c 8 (about 4.5 minutes at 10MB/s). Explicit flags always win.
const (
	benchDefaultSize              = "1G"
	benchDefaultConcurrency       = "1,8"
	benchDefaultRuns              = 3
	benchShapedDefaultConcurrency = "8"
	benchShapedDefaultRuns        = 1
)

func newBenchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure upload and download throughput against an in-process emulator (or --endpoint)",
		Description: `Generates an image (or takes --image), starts the emulator in-process with the
given shaping, and runs every scenario at every concurrency --runs times, each
as a child drivecp process, so the CPU time and peak memory shown are the
client's own. Downloads (and, with the in-process emulator, uploads) are
checked against the image; a mismatch fails the bench. Drives the bench
creates are deleted. With the global --endpoint it measures that endpoint
instead, with the usual credentials.

Figures are medians of the runs with the (min-max) range. MB/s is 10^6 bytes
per second of wall time of the whole drivecp process. LIMIT is what a row is
measured against: the shaping cap (connections x --conn-bandwidth) and, for
uploads that gzip, the chunker-only rate (read, zero check, xxhash, gzip of
the same image with no network, on all cores).

Scenarios: ` + strings.Join(benchScenarioNames(), ", ") + `;
or the groups paths (every path from the image file into a raw file, the
default), inputs (API 2.0 chunked upload from raw and from the same image as
qcow2, gzip, xz, zstd, bzip2 and on standard input, and the ranged download
into a raw and a qcow2 file; the bench writes the input files first, not
measured: xz and bzip2 take minutes for 1 GiB; bzip2 needs the bzip2
program) and all.
Defaults: --concurrency ` + benchDefaultConcurrency + ` --runs 3; with --conn-bandwidth, --concurrency ` +
			benchShapedDefaultConcurrency + ` --runs 1, because a single stream moves 1 GiB at 10MB/s in 100 s.
The bench prints a lower bound of its duration when the link is shaped.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagBenchImage, Usage: "measure with this image instead of a generated one"},
			&cli.StringFlag{Name: flagBenchSize, Value: benchDefaultSize, Usage: "size of the generated image"},
			&cli.StringFlag{Name: flagBenchMix, Value: "realistic", Usage: "content of the generated image: " + strings.Join(bench.MixNames(), ", ")},
			&cli.Uint64Flag{Name: flagBenchSeed, Value: 1, Usage: "seed of the generated image and of the emulator's faults"},
			&cli.DurationFlag{Name: flagBenchLatency, Usage: "delay the emulator adds to every request, e.g. 20ms"},
			&cli.StringFlag{Name: flagBenchConnBW, Usage: "emulator bandwidth per connection and direction, e.g. 10MB/s (default unlimited)"},
			&cli.StringFlag{Name: flagBenchTotalBW, Usage: "emulator bandwidth of all connections together each way, the client's link, e.g. 40MB/s (default unlimited)"},
			&cli.IntFlag{Name: flagBenchMaxConc, Usage: "API requests the emulator serves at once for the client; more are refused as the cloud refuses them (default no limit)"},
			&cli.StringFlag{Name: flagBenchConcurrency, Value: benchDefaultConcurrency, Usage: "concurrencies to measure, comma-separated, auto for -c auto (shaped: " + benchShapedDefaultConcurrency + ")"},
			&cli.IntFlag{Name: flagBenchRuns, Value: benchDefaultRuns, Usage: "runs of each measurement; the table shows their median (shaped: 1)"},
			&cli.StringFlag{Name: flagBenchScenarios, Value: "paths", Usage: "scenarios or groups (paths, inputs, all) to run, comma-separated"},
			&cli.StringFlag{Name: flagBenchPlot, Usage: "also draw the results into this file, .svg or .png: rate against concurrency per scenario with the limits, and what -c auto chose over time"},
			&cli.StringFlag{Name: flagBenchMakeImage, Usage: "only write the generated image (--size, --mix, --seed) to this new file, e.g. for bench/compare.sh"},
		},
		Action: runBench,
	}
}

func benchScenarioNames() []string {
	var names []string
	for _, s := range bench.Scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// benchOptions are the parsed flags of `drivecp bench`.
type benchOptions struct {
	image       string // "" to generate one
	spec        bench.ImageSpec
	latency     time.Duration
	connBW      int64
	totalBW     int64
	maxConc     int
	plot        string // "" for no plot
	concurrency []int
	runs        int
	scenarios   []bench.Scenario
	endpoint    string
}

func benchOptionsFrom(c *cli.Context) (*benchOptions, error) {
	if c.Args().Present() {
		return nil, usageErrorf("bench takes no arguments, got %q", c.Args().First())
	}
	o := &benchOptions{image: c.String(flagBenchImage), latency: c.Duration(flagBenchLatency),
		runs: c.Int(flagBenchRuns)}
	if ep, err := cloudSetting(c, flagEndpoint); err != nil {
		return nil, err
	} else {
		o.endpoint = ep
	}
	if o.image != "" && (c.IsSet(flagBenchSize) || c.IsSet(flagBenchMix) || c.IsSet(flagBenchMakeImage)) {
		return nil, usageErrorf("--image excludes --size, --mix and --make-image")
	}
	size, err := units.ParseSize(c.String(flagBenchSize))
	if err != nil || size < 1<<20 {
		return nil, usageErrorf("--size %q: give at least 1M, e.g. 1G", c.String(flagBenchSize))
	}
	mix, err := bench.ParseMix(c.String(flagBenchMix))
	if err != nil {
		return nil, usageErrorf("--mix: %w", err)
	}
	o.spec = bench.ImageSpec{Size: size, Mix: mix, Seed: c.Uint64(flagBenchSeed)}
	if s := c.String(flagBenchConnBW); s != "" {
		if o.connBW, err = units.ParseRate(s); err != nil || o.connBW <= 0 {
			return nil, usageErrorf("--conn-bandwidth %q: give bytes per second such as 10MB/s", s)
		}
	}
	if s := c.String(flagBenchTotalBW); s != "" {
		if o.totalBW, err = units.ParseRate(s); err != nil || o.totalBW <= 0 {
			return nil, usageErrorf("--total-bandwidth %q: give bytes per second such as 40MB/s", s)
		}
	}
	if o.maxConc = c.Int(flagBenchMaxConc); o.maxConc < 0 {
		return nil, usageErrorf("--max-concurrent must not be negative")
	}
	if o.latency < 0 {
		return nil, usageErrorf("--latency must not be negative")
	}
	if o.endpoint != "" && (o.latency > 0 || o.connBW > 0 || o.totalBW > 0 || o.maxConc > 0) {
		return nil, withHint(usageErrorf("--latency, --conn-bandwidth, --total-bandwidth and --max-concurrent shape the in-process emulator, not --endpoint"),
			"drop them, or drop --endpoint to measure against the emulator")
	}
	if o.plot = c.String(flagBenchPlot); o.plot != "" {
		// Checked before the bench runs, so a typo costs no measurements.
		if _, err := bench.PlotFormat(o.plot); err != nil {
			return nil, usageErrorf("--plot %s: %w", o.plot, err)
		}
		if fi, err := os.Stat(filepath.Dir(o.plot)); err != nil || !fi.IsDir() {
			return nil, usageErrorf("--plot %s: the folder %s does not exist", o.plot, filepath.Dir(o.plot))
		}
	}
	concurrency := c.String(flagBenchConcurrency)
	if o.connBW > 0 || o.totalBW > 0 {
		if !c.IsSet(flagBenchConcurrency) {
			concurrency = benchShapedDefaultConcurrency
		}
		if !c.IsSet(flagBenchRuns) {
			o.runs = benchShapedDefaultRuns
		}
	}
	if o.concurrency, err = bench.ParseConcurrency(concurrency); err != nil {
		return nil, usageErrorf("--concurrency: %w", err)
	}
	if o.runs < 1 || o.runs > 100 {
		return nil, usageErrorf("--runs %d: use 1 to 100", o.runs)
	}
	if o.scenarios, err = bench.ParseScenarios(c.String(flagBenchScenarios)); err != nil {
		return nil, usageErrorf("--scenarios: %w", err)
	}
	return o, nil
}

func runBench(c *cli.Context) error {
	o, err := benchOptionsFrom(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	if out := c.String(flagBenchMakeImage); out != "" {
		return makeBenchImage(ctx, out, o.spec)
	}
	quiet := c.Bool(flagQuiet)
	var progress io.Writer
	if !quiet {
		progress = c.App.ErrWriter
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: finding drivecp's own binary: %w", err)
	}
	work, err := os.MkdirTemp("", "drivecp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	image, desc, err := benchSourceImage(ctx, o, work, progress)
	if err != nil {
		return err
	}
	chunk, err := bench.ChunkerRate(ctx, image, chunker.DefaultChunkSize, chunker.DefaultLevel, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintf(progress, "bench: chunker-only rate %.0f MB/s (%d workers, %.1fs)\n", chunk.MBps, chunk.Workers, chunk.Seconds)
		if o.connBW > 0 || o.totalBW > 0 {
			fmt.Fprintf(progress, "bench: the shaping alone makes this take at least %s\n",
				benchLowerBound(o, image, chunk.GzipBytes).Round(time.Second))
		}
	}

	prefix := fmt.Sprintf("drivecp-bench-%d", time.Now().Unix())
	target, err := benchEndpoint(c, o, work, prefix)
	if err != nil {
		return err
	}
	cfg := bench.Config{
		Binary: self, Env: target.env, Image: image, WorkDir: work,
		Scenarios: o.scenarios, Concurrency: o.concurrency, Runs: o.runs,
		ConnBandwidth: o.connBW, TotalBandwidth: o.totalBW, ChunkerMBps: chunk.MBps, NamePrefix: prefix,
		DeleteDrives: target.deleteDrives, HashDrive: target.hashDrive, ServerCPU: target.serverCPU, Progress: progress,
	}
	results, runErr := bench.Run(ctx, cfg)
	// Cleaning up must outlive an interrupted ctx.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := target.close(cctx); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil && !errors.Is(runErr, bench.ErrRunsFailed) {
		return runErr
	}
	heading := fmt.Sprintf("%s against %s; chunker-only %.0f MB/s (%d workers); median of %s (min-max)",
		desc, target.where, chunk.MBps, chunk.Workers, plural(o.runs, "run"))
	if o.plot != "" {
		po := bench.PlotOptions{Title: heading, ConnBandwidth: o.connBW, TotalBandwidth: o.totalBW}
		if err := bench.WritePlotFile(o.plot, results, po); err != nil {
			return fmt.Errorf("writing the plot: %w", err)
		}
	}
	if c.Bool(flagJSON) {
		if results == nil {
			results = []bench.Result{}
		}
		if err := printJSON(c.App.Writer, results); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.App.Writer, "drivecp bench: %s\n", heading)
		if err := bench.WriteTable(c.App.Writer, results); err != nil {
			return err
		}
	}
	return runErr
}

// benchTarget is what the bench measures against.
type benchTarget struct {
	// env is the children's environment, pointing them at the target.
	env []string
	// deleteDrives removes drives the bench made.
	deleteDrives func(ctx context.Context, ids ...string) error
	// hashDrive hashes a drive's first bytes; nil when it is remote.
	hashDrive func(ctx context.Context, uuid string, n int64) (uint64, error)
	// serverCPU is the server's CPU time so far; nil when it is remote.
	serverCPU func() time.Duration
	// where names the target in the table's heading.
	where string
	// close stops the emulator, or sweeps a real endpoint for drives
	// named with the bench's prefix that a failed run left behind.
	close func(ctx context.Context) error
}

// benchEndpoint returns an in-process emulator in work shaped as o asks,
// or --endpoint with the user's credentials.
func benchEndpoint(c *cli.Context, o *benchOptions, work, prefix string) (*benchTarget, error) {
	var base []string
	for _, kv := range os.Environ() {
		// The bench decides where the children go; XDG_STATE_HOME is set per
		// run so no run resumes another's checkpoint.
		if !strings.HasPrefix(kv, "CLOUDSIGMA_") && !strings.HasPrefix(kv, "XDG_STATE_HOME=") {
			base = append(base, kv)
		}
	}
	if o.endpoint != "" {
		cl, err := newClients(c, 4)
		if err != nil {
			return nil, err
		}
		del := func(ctx context.Context, ids ...string) error {
			if err := cl.v2.DeleteDrives(ctx, ids...); err != nil {
				// API 1.0 deletes one at a time where API 2.0 refuses.
				if err1 := cl.v1.DeleteDrives(ctx, ids...); err1 != nil {
					return errors.Join(err, err1)
				}
			}
			return nil
		}
		sweep := func(ctx context.Context) error {
			drives, err := cl.v2.ListDrives(ctx, providers.DriveFilter{})
			if err != nil {
				return fmt.Errorf("looking for drives the bench left: %w", err)
			}
			var ids []string
			for _, d := range drives {
				if strings.HasPrefix(d.Name, prefix) {
					ids = append(ids, d.UUID)
				}
			}
			if len(ids) == 0 {
				return nil
			}
			return del(ctx, ids...)
		}
		cred, err := cloudEnv(c)
		if err != nil {
			return nil, err
		}
		return &benchTarget{
			env:          append(base, cred...),
			deleteDrives: del, where: cl.endpointHost, close: sweep,
		}, nil
	}
	data := filepath.Join(work, "emulator")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	// Drives are sparse files, so the in-process emulator takes drives far
	// past the cloud's 4 TiB: scale runs (--size 10T --mix scale) need them.
	srv, err := emulator.New(emulator.Config{DataDir: data, Latency: o.latency, ConnBandwidth: o.connBW,
		TotalBandwidth: o.totalBW, MaxConcurrent: o.maxConc,
		Seed: int64(o.spec.Seed), JobDuration: -1, MaxDriveSize: 1 << 50})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Close()
		return nil, err
	}
	cfg := srv.Config()
	return &benchTarget{
		env: append(base, "CLOUDSIGMA_ENDPOINT="+srv.URL(), "CLOUDSIGMA_USERNAME="+cfg.User, "CLOUDSIGMA_PASSWORD="+cfg.Password),
		deleteDrives: func(_ context.Context, ids ...string) error {
			var errs []error
			for _, id := range ids {
				errs = append(errs, srv.Store().DeleteDrive(id))
			}
			return errors.Join(errs...)
		},
		hashDrive: func(_ context.Context, uuid string, n int64) (uint64, error) {
			h, err := srv.Store().OpenDrive(uuid, emulator.ReadOnly)
			if err != nil {
				return 0, err
			}
			defer h.Close()
			if h.Size() < n {
				return 0, fmt.Errorf("drive %s holds %d bytes, the image %d", uuid, h.Size(), n)
			}
			return bench.SparseDigest(h.File(), n)
		},
		// The emulator runs in this process, so this process's CPU time is
		// (nearly all) the emulator's.
		serverCPU: bench.ProcessCPU,
		where:     "the in-process emulator, " + benchShaping(o),
		close:     func(context.Context) error { return srv.Close() },
	}, nil
}

// benchLowerBound is the least time the shaping cap allows for all the runs:
// each row's wire bytes over connections x bandwidth. API 1.0 uploads send
// what the chunker's gzip made of the image; the rest send it whole.
func benchLowerBound(o *benchOptions, image string, gzipBytes int64) time.Duration {
	fi, err := os.Stat(image)
	if err != nil || (o.connBW <= 0 && o.totalBW <= 0) {
		return 0
	}
	var secs float64
	for _, s := range o.scenarios {
		wire := fi.Size()
		if s.Gzip {
			wire = gzipBytes
		}
		concs := o.concurrency
		if s.Single {
			concs = []int{1}
		}
		for _, n := range concs {
			// The most n connections may carry; -c auto may use as many
			// as it likes, so only the total bounds it.
			var rate int64
			switch {
			case n != bench.AutoConcurrency && o.connBW > 0 && o.totalBW > 0:
				rate = min(int64(n)*o.connBW, o.totalBW)
			case n != bench.AutoConcurrency && o.connBW > 0:
				rate = int64(n) * o.connBW
			default:
				rate = o.totalBW
			}
			if rate > 0 {
				secs += float64(o.runs) * float64(wire) / float64(rate)
			}
		}
	}
	return time.Duration(secs * float64(time.Second))
}

// benchShaping describes the emulator's shaping for the table's heading.
func benchShaping(o *benchOptions) string {
	if o.latency == 0 && o.connBW == 0 && o.totalBW == 0 && o.maxConc == 0 {
		return "no shaping"
	}
	var parts []string
	if o.latency > 0 {
		parts = append(parts, "latency "+o.latency.String())
	}
	if o.connBW > 0 {
		parts = append(parts, units.FormatSize(o.connBW)+"/s per connection")
	}
	if o.totalBW > 0 {
		parts = append(parts, units.FormatSize(o.totalBW)+"/s in all")
	}
	if o.maxConc > 0 {
		parts = append(parts, fmt.Sprintf("at most %d requests at once", o.maxConc))
	}
	return strings.Join(parts, ", ")
}

// benchSourceImage returns the image to measure with and its description: --image,
// or one generated into work.
func benchSourceImage(ctx context.Context, o *benchOptions, work string, progress io.Writer) (path, desc string, err error) {
	if o.image != "" {
		fi, err := os.Stat(o.image)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			return "", "", usageErrorf("--image %s: not a non-empty regular file", o.image)
		}
		return o.image, fmt.Sprintf("%s (%s)", o.image, units.FormatSize(fi.Size())), nil
	}
	path = filepath.Join(work, "image.raw")
	desc = fmt.Sprintf("%s %s image (seed %d)", units.FormatSize(o.spec.Size), o.spec.Mix.Name, o.spec.Seed)
	if progress != nil {
		fmt.Fprintf(progress, "bench: generating a %s\n", desc)
	}
	start := time.Now()
	if _, err := bench.WriteImage(ctx, path, o.spec); err != nil {
		return "", "", err
	}
	if progress != nil {
		fmt.Fprintf(progress, "bench: generated in %.1fs\n", time.Since(start).Seconds())
	}
	return path, desc, nil
}

// makeBenchImage writes the generated image to a new file at path.
func makeBenchImage(ctx context.Context, path string, spec bench.ImageSpec) error {
	if _, err := os.Lstat(path); err == nil {
		return usageErrorf("--make-image %s: the file exists", path)
	}
	_, err := bench.WriteImage(ctx, path, spec)
	return err
}
