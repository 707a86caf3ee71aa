// Package bench measures drivecp's transfers: it generates test images,
// runs each transfer scenario through the drivecp binary as a child process
// (so the CPU time and peak memory measured are the client's own, not those
// of an emulator in the same process), checks what each run moved against
// the image, and summarises the runs against the limits of the machine and
// the link.
package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Config is what Run measures and how.
type Config struct {
	// Binary is the drivecp executable to run (normally os.Executable()).
	Binary string
	// Env is the children's environment: it must point them at the
	// endpoint (CLOUDSIGMA_ENDPOINT, _USERNAME, _PASSWORD). Run adds a fresh
	// XDG_STATE_HOME per run, so no run resumes another's checkpoint.
	Env []string
	// Image is the image every scenario moves.
	Image string
	// WorkDir holds downloads and per-run state; it must exist.
	WorkDir string
	// Scenarios, Concurrency and Runs span the measurements: every
	// scenario at every concurrency (single-stream ones once), Runs times.
	Scenarios   []Scenario
	Concurrency []int
	Runs        int
	// ConnBandwidth is the endpoint's per-connection bandwidth in bytes per
	// second (0: not shaped), for the shaping cap; TotalBandwidth that of
	// all connections together.
	ConnBandwidth, TotalBandwidth int64
	// ChunkerMBps is the measured chunker-only rate (ChunkerRate).
	ChunkerMBps float64
	// HashDrive, when not nil, returns the SparseDigest of the first n bytes of
	// a drive, so uploads are checked against the image as downloads are
	// (the in-process emulator reads its own files; a remote endpoint would
	// cost a download per upload, so uploads there are not checked).
	HashDrive func(ctx context.Context, uuid string, n int64) (uint64, error)
	// ServerCPU, when not nil, returns the CPU time the server has used so
	// far (for the in-process emulator: the bench process's own), so rows
	// can show what the other end cost on the same cores.
	ServerCPU func() time.Duration
	// NamePrefix starts the names of the drives the bench creates.
	NamePrefix string
	// DeleteDrives removes drives the bench created.
	DeleteDrives func(ctx context.Context, uuids ...string) error
	// Progress, when not nil, gets one line per run.
	Progress io.Writer
}

// Result is the summary of one scenario at one concurrency.
type Result struct {
	Scenario
	// Concurrency is the -c given (0 for single-stream scenarios and rows
	// that were not run; with Auto, the value -c auto ended at in the
	// median run); Connections is how many connections carry the data,
	// which the shaping cap multiplies.
	Concurrency int  `json:"concurrency"`
	Connections int  `json:"connections"`
	Auto        bool `json:"auto,omitempty"`
	// ConcurrencyTrace is, for -c auto, every value it took in the median
	// run, from its --log-json event log.
	ConcurrencyTrace []ConcurrencyStep `json:"concurrency_trace,omitempty"`
	// NA, when not empty, says why the scenario could not run: its command
	// line is not supported (exit code 2). Such rows carry no figures.
	NA string `json:"na,omitempty"`
	// Error, when not empty, is why a run failed (or what it moved did not
	// match the image); the figures then cover the runs before it.
	Error string `json:"error,omitempty"`
	// LogicalBytes is the image size.
	LogicalBytes int64 `json:"logical_bytes"`
	// Seconds is the wall time of the drivecp process, start to exit:
	// drive creation, planning and finishing included, as a user waits.
	Seconds Stat `json:"seconds"`
	// TransferSeconds is the engine's own time (from its --json summary).
	TransferSeconds Stat `json:"transfer_seconds"`
	// LogicalMBps is the image size over Seconds; WireMBps the body bytes
	// sent or received over Seconds (MB = 10^6 bytes).
	LogicalMBps Stat `json:"logical_mb_per_s"`
	WireMBps    Stat `json:"wire_mb_per_s"`
	// CPUSecondsPerGB is the process's user+system CPU time per 10^9
	// image bytes.
	CPUSecondsPerGB Stat `json:"cpu_seconds_per_gb"`
	// ServerCPUSecondsPerGB is the server's CPU time per 10^9 image bytes
	// during the run (the in-process emulator only; it includes the bench
	// process's own small share, such as the memory polling).
	ServerCPUSecondsPerGB Stat `json:"server_cpu_seconds_per_gb"`
	// PeakRSSMiB is the process's peak resident memory (see peakRSS for
	// how it is kept apart from the bench process's).
	PeakRSSMiB Stat `json:"peak_rss_mib"`
	// ChunkerMBps is the chunker-only rate of this image on this machine.
	ChunkerMBps float64 `json:"chunker_mb_per_s"`
	// ShapingCapMBps is Connections times the per-connection bandwidth; 0
	// when the link is not shaped.
	ShapingCapMBps float64 `json:"shaping_cap_mb_per_s"`
	// Limit names the limit the row comes closest to: "cap" (the shaping
	// cap, which bounds wire MB/s) or "chunker" (the chunker-only rate,
	// which bounds the logical MB/s of uploads that gzip); "" when neither
	// applies. LimitMBps is its rate and OfLimit the median's fraction of
	// it (wire over cap, logical over chunker).
	Limit     string  `json:"limit,omitempty"`
	LimitMBps float64 `json:"limit_mb_per_s,omitempty"`
	OfLimit   float64 `json:"of_limit,omitempty"`
	// CPUBoundMBps is the logical rate at which the client and the
	// in-process emulator together would keep every core busy: cores x
	// 1000 / (client + emulator CPU s/GB), from the medians. It is set only
	// on an unshaped link, where CPU is all that bounds a loopback
	// transfer; OfCPUBound is the median logical rate's fraction of it,
	// near 1 when the path wastes no time waiting.
	CPUBoundMBps float64 `json:"cpu_bound_mb_per_s,omitempty"`
	OfCPUBound   float64 `json:"of_cpu_bound,omitempty"`
}

// ConcurrencyStep is one value -c auto chose, and when.
type ConcurrencyStep struct {
	// Seconds is the time since the command started.
	Seconds     float64 `json:"seconds"`
	Concurrency int     `json:"concurrency"`
}

// ErrMismatch is returned when a downloaded file or an uploaded drive
// differs from the image.
var ErrMismatch = errors.New("transferred data differs from the image")

// ErrRunsFailed is returned by Run, together with the results, when some
// runs failed; the failed rows carry Error.
var ErrRunsFailed = errors.New("some bench runs failed")

// sample is what one run measured.
type sample struct {
	wall, transfer, cpu time.Duration
	serverCPU           time.Duration // -1: not measured
	wireBytes           int64
	maxRSS              int64 // bytes
	// concurrency is the value -c auto ended at, trace every value it took
	// (auto runs only).
	concurrency int
	trace       []ConcurrencyStep
}

// childSummary is the part of upload's and download's --json output the
// bench reads.
type childSummary struct {
	Drive       string  `json:"drive"`
	WireBytes   int64   `json:"wire_bytes"`
	Seconds     float64 `json:"seconds"`
	Concurrency int     `json:"concurrency"`
}

// unsupportedError is a run whose command line drivecp refused as bad
// usage (exit code 2): the path does not exist in this build.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// MaxFullImage is the largest image the bench moves through the paths that
// carry every byte (API 2.0, downloads); larger images, scale runs, are
// measured through API 1.0 uploads only, which skip holes.
const MaxFullImage = 64 << 30

// Run measures every scenario of cfg and returns one Result per scenario
// and concurrency, in table order. Failed runs do not stop the bench: their
// rows carry Error and Run returns ErrRunsFailed with the results. Drives
// the bench created are deleted before Run returns, even when ctx is
// cancelled.
func Run(ctx context.Context, cfg Config) (results []Result, err error) {
	if cfg.Runs < 1 || len(cfg.Concurrency) == 0 {
		return nil, fmt.Errorf("bench: need at least one run and one concurrency")
	}
	fi, err := os.Stat(cfg.Image)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, size: fi.Size()}
	defer r.removeInputs()
	defer func() {
		// Cleaning up must outlive an interrupted ctx.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := r.deleteDrives(cctx, true); derr != nil && err == nil {
			err = derr
		}
	}()
	var failed bool
	for _, s := range cfg.Scenarios {
		if !s.Upload && r.source == "" && r.sourceErr == nil && r.size <= MaxFullImage {
			r.prepareSource(ctx)
		}
		concs := cfg.Concurrency
		if s.Single {
			concs = []int{0}
		}
		for _, c := range concs {
			res := r.measure(ctx, s, c)
			if ctx.Err() != nil {
				return results, ctx.Err()
			}
			results = append(results, res)
			failed = failed || res.Error != ""
			if res.NA != "" {
				break // the other concurrencies would say the same
			}
		}
	}
	if failed {
		return results, ErrRunsFailed
	}
	return results, nil
}

type runner struct {
	cfg       Config
	size      int64
	hash      uint64 // of the image, once a download needs it
	hashed    bool
	source    string // drive the downloads read
	sourceErr error
	created   []string // drives still to delete
	seq       int
	// inputs are the image converted for the scenarios that read another
	// input, by input; inputErrs why one could not be made.
	inputs    map[string]string
	inputErrs map[string]error
}

// prepareInputs converts the image, once and not measured, to every input
// the scenarios read, in parallel (each converter is single-threaded).
func (r *runner) prepareInputs(ctx context.Context) {
	r.inputs, r.inputErrs = map[string]string{}, map[string]error{}
	var todo []string
	for _, s := range r.cfg.Scenarios {
		if _, ok := inputExt[s.Input]; ok && !slices.Contains(todo, s.Input) {
			todo = append(todo, s.Input)
		}
	}
	r.logf("writing the image as %s for the input scenarios (not measured)", strings.Join(todo, ", "))
	start := time.Now()
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, in := range todo {
		path := inputPath(r.cfg.WorkDir, in)
		g.Go(func() error {
			t0 := time.Now()
			err := WriteInput(gctx, r.cfg.Image, path, in)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.inputErrs[in] = fmt.Errorf("writing the image as %s: %w", in, err)
				return nil // the other inputs are still worth measuring
			}
			r.inputs[in] = path
			if fi, err := os.Stat(path); err == nil {
				r.logf("%s: %s in %.1fs", in, formatNum(float64(fi.Size())/1e6)+" MB", time.Since(t0).Seconds())
			}
			return nil
		})
	}
	_ = g.Wait()
	r.logf("inputs written in %.1fs", time.Since(start).Seconds())
}

// removeInputs deletes the converted images.
func (r *runner) removeInputs() {
	for _, path := range r.inputs {
		os.Remove(path)
	}
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
	}
}

// prepareSource uploads the image once, not measured, as the drive every
// download reads: with API 1.0 at the highest concurrency, else API 2.0.
func (r *runner) prepareSource(ctx context.Context) {
	c := r.cfg.Concurrency[len(r.cfg.Concurrency)-1]
	for _, s := range []Scenario{scenarios[0], scenarios[1]} {
		r.logf("uploading the download source with %s", s.Title)
		sum, _, err := r.runChild(ctx, s.args(r.cfg.Image, r.driveName("source"), "", "", r.size, c), "")
		if err == nil {
			r.source = sum.Drive
			return
		}
		r.sourceErr = err
	}
	r.sourceErr = fmt.Errorf("uploading the download source: %w", r.sourceErr)
}

func (r *runner) driveName(what string) string {
	r.seq++
	return fmt.Sprintf("%s-%s-%d", r.cfg.NamePrefix, what, r.seq)
}

// measure runs one scenario at one concurrency cfg.Runs times.
func (r *runner) measure(ctx context.Context, s Scenario, c int) Result {
	res := Result{Scenario: s, Concurrency: c, Connections: max(c, 1), LogicalBytes: r.size, ChunkerMBps: r.cfg.ChunkerMBps}
	if c == AutoConcurrency {
		// Set from the median run once measured.
		res.Auto, res.Concurrency, res.Connections = true, 0, 0
	}
	res.ShapingCapMBps = r.shapingCap(res.Connections)
	if s.API != "v1" || !s.Upload {
		if r.size > MaxFullImage {
			// Only API 1.0 uploads skip holes; every other path carries
			// each byte, a terabyte of zeros through loopback.
			res.NA, res.Concurrency, res.Connections, res.ShapingCapMBps = "moves every byte of an image over "+
				strconv.FormatInt(MaxFullImage>>30, 10)+" GiB (only API 1.0 uploads skip holes); measure it with --scenarios v1-upload", 0, 0, 0
			r.logf("%s: n/a: %s", s.Title, res.NA)
			return res
		}
	}
	if !s.Upload && r.source == "" {
		res.Error = r.sourceErr.Error()
		return res
	}
	if s.Input != InputRaw && s.Input != InputStdin {
		if r.inputs == nil {
			r.prepareInputs(ctx)
		}
		if err := r.inputErrs[s.Input]; err != nil {
			if errors.Is(err, ErrNoWriter) {
				res.NA, res.Concurrency, res.Connections, res.ShapingCapMBps = err.Error(), 0, 0, 0
				r.logf("%s: n/a: %s", s.Title, res.NA)
			} else {
				res.Error = err.Error()
			}
			return res
		}
	}
	var samples []sample
	for run := 1; run <= r.cfg.Runs; run++ {
		smp, err := r.runOnce(ctx, s, c)
		var ue *unsupportedError
		switch {
		case errors.As(err, &ue):
			res.NA, res.Concurrency, res.Connections, res.ShapingCapMBps = ue.msg, 0, 0, 0
			r.logf("%s: n/a: %s", s.Title, ue.msg)
			return res
		case err != nil:
			res.Error = err.Error()
			r.logf("%s%s run %d: %v", s.Title, cFlag(c), run, err)
		default:
			samples = append(samples, smp)
			ended := ""
			if c == AutoConcurrency {
				ended = fmt.Sprintf(" (ended at -c %d)", smp.concurrency)
			}
			r.logf("%s%s run %d/%d: %.2fs, %.1f MB/s%s", s.Title, cFlag(c), run, r.cfg.Runs,
				smp.wall.Seconds(), mbps(r.size, smp.wall.Seconds()), ended)
		}
		if err != nil {
			break
		}
	}
	if res.Auto && len(samples) > 0 {
		m := medianSample(samples)
		res.Concurrency, res.Connections, res.ConcurrencyTrace = m.concurrency, max(m.concurrency, 1), m.trace
		res.ShapingCapMBps = r.shapingCap(res.Connections)
	}
	res.summarize(samples)
	return res
}

// shapingCap is the most the shaping lets n connections carry, in MB/s: n
// times the per-connection bandwidth, at most the total; 0 when the link is
// not shaped.
func (r *runner) shapingCap(n int) float64 {
	perConn, total := r.cfg.ConnBandwidth, r.cfg.TotalBandwidth
	switch {
	case perConn > 0 && total > 0:
		return float64(min(int64(n)*perConn, total)) / 1e6
	case perConn > 0:
		return float64(int64(n)*perConn) / 1e6
	default:
		return float64(total) / 1e6
	}
}

// medianSample is the run whose wall time is the median (the lower middle
// one of an even count).
func medianSample(samples []sample) sample {
	s := slices.Clone(samples)
	slices.SortFunc(s, func(a, b sample) int { return cmp.Compare(a.wall, b.wall) })
	return s[(len(s)-1)/2]
}

func (res *Result) summarize(samples []sample) {
	var secs, xfer, logical, wire, cpu, srv, rss []float64
	gb := float64(res.LogicalBytes) / 1e9
	for _, s := range samples {
		w := s.wall.Seconds()
		if s.serverCPU >= 0 {
			srv = append(srv, s.serverCPU.Seconds()/gb)
		}
		secs = append(secs, w)
		xfer = append(xfer, s.transfer.Seconds())
		logical = append(logical, mbps(res.LogicalBytes, w))
		wire = append(wire, mbps(s.wireBytes, w))
		cpu = append(cpu, s.cpu.Seconds()/gb)
		rss = append(rss, float64(s.maxRSS)/(1<<20))
	}
	res.Seconds, res.TransferSeconds = Summarize(secs), Summarize(xfer)
	res.LogicalMBps, res.WireMBps = Summarize(logical), Summarize(wire)
	res.CPUSecondsPerGB, res.PeakRSSMiB = Summarize(cpu), Summarize(rss)
	res.ServerCPUSecondsPerGB = Summarize(srv)
	if len(samples) == 0 {
		return
	}
	if res.ShapingCapMBps > 0 {
		res.Limit, res.LimitMBps, res.OfLimit = "cap", res.ShapingCapMBps, res.WireMBps.Median/res.ShapingCapMBps
	}
	if res.Gzip && res.ChunkerMBps > 0 {
		if of := res.LogicalMBps.Median / res.ChunkerMBps; of > res.OfLimit {
			res.Limit, res.LimitMBps, res.OfLimit = "chunker", res.ChunkerMBps, of
		}
	}
	if perGB := res.CPUSecondsPerGB.Median + res.ServerCPUSecondsPerGB.Median; res.ShapingCapMBps == 0 && res.ServerCPUSecondsPerGB.N > 0 && perGB > 0 {
		res.CPUBoundMBps = float64(runtime.NumCPU()) * 1000 / perGB
		res.OfCPUBound = res.LogicalMBps.Median / res.CPUBoundMBps
	}
}

// runOnce runs the scenario once and checks its result: a download, and an
// upload where HashDrive can read the drive, must match the image; an
// upload's drive is deleted straight away.
func (r *runner) runOnce(ctx context.Context, s Scenario, c int) (sample, error) {
	out := filepath.Join(r.cfg.WorkDir, "download.img")
	defer os.Remove(out)
	image, stdin := r.cfg.Image, ""
	switch s.Input {
	case InputRaw:
	case InputStdin:
		stdin = r.cfg.Image
	default:
		image = r.inputs[s.Input]
	}
	args := s.args(image, r.driveName(s.Name), r.source, out, r.size, c)
	events := ""
	if c == AutoConcurrency {
		// The event log is where -c auto says what it chose, and when.
		events = filepath.Join(r.cfg.WorkDir, "events.jsonl")
		defer os.Remove(events)
		args = append(args, "--log-json", events)
	}
	sum, smp, err := r.runChild(ctx, args, stdin)
	if err != nil {
		return smp, err
	}
	if events != "" {
		if smp.trace, err = readConcurrencyTrace(events); err != nil {
			return smp, err
		}
		smp.concurrency = sum.Concurrency
		if smp.concurrency == 0 && len(smp.trace) > 0 {
			smp.concurrency = smp.trace[len(smp.trace)-1].Concurrency
		}
	}
	if s.Upload {
		if r.cfg.HashDrive != nil {
			got, err := r.cfg.HashDrive(ctx, sum.Drive, r.size)
			if err == nil {
				err = r.check("drive "+sum.Drive, got)
			}
			if err != nil {
				return smp, err
			}
		}
		return smp, r.deleteDrives(ctx, false)
	}
	hash := HashFile
	if s.Output == OutputQcow2 {
		hash = HashQcow2
	}
	got, err := hash(out)
	if err != nil {
		return smp, err
	}
	return smp, r.check("downloaded file", got)
}

// readConcurrencyTrace reads the concurrency events of a --log-json file,
// timed from its first event (the command's start).
func readConcurrencyTrace(path string) ([]ConcurrencyStep, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var start time.Time
	var trace []ConcurrencyStep
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var ev struct {
			Time        time.Time `json:"time"`
			Event       string    `json:"event"`
			Concurrency int       `json:"concurrency"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("reading the event log of -c auto, line %d: %w", i+1, err)
		}
		if i == 0 {
			start = ev.Time
		}
		if ev.Event == "concurrency" {
			trace = append(trace, ConcurrencyStep{Seconds: ev.Time.Sub(start).Seconds(), Concurrency: ev.Concurrency})
		}
	}
	return trace, nil
}

// check compares a hash of what a run moved with the image's.
func (r *runner) check(what string, got uint64) error {
	if !r.hashed {
		h, err := HashFile(r.cfg.Image)
		if err != nil {
			return err
		}
		r.hash, r.hashed = h, true
	}
	if got != r.hash {
		return fmt.Errorf("%w: %s has digest %016x, the image %016x", ErrMismatch, what, got, r.hash)
	}
	return nil
}

// runChild runs drivecp with args, and the file stdin (if not "") as its
// standard input, and measures it. An upload's drive is remembered for
// deletion as soon as the child names it.
func (r *runner) runChild(ctx context.Context, args []string, stdin string) (childSummary, sample, error) {
	state, err := os.MkdirTemp(r.cfg.WorkDir, "state-")
	if err != nil {
		return childSummary{}, sample{}, err
	}
	defer os.RemoveAll(state)
	// Write back what earlier runs (and the emulator) left dirty, so no run
	// pays for the one before it.
	syscall.Sync()
	cmd := exec.CommandContext(ctx, r.cfg.Binary, args...)
	cmd.Env = append(append([]string(nil), r.cfg.Env...), "XDG_STATE_HOME="+state)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if stdin != "" {
		// A pipe, as from a decompressor, not the file itself: drivecp
		// would see a regular file and could seek it.
		f, err := os.Open(stdin)
		if err != nil {
			return childSummary{}, sample{}, err
		}
		defer f.Close()
		cmd.Stdin = struct{ io.Reader }{f}
	}
	serverCPU := time.Duration(-1)
	if r.cfg.ServerCPU != nil {
		serverCPU = r.cfg.ServerCPU()
	}
	start := time.Now()
	runErr := cmd.Start()
	var rss *peakRSS
	if runErr == nil {
		rss = watchRSS(cmd.Process.Pid)
		runErr = cmd.Wait()
	}
	wall := time.Since(start)
	if r.cfg.ServerCPU != nil {
		serverCPU = r.cfg.ServerCPU() - serverCPU
	}
	var maxrss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxrss = maxRSSBytes(ru.Maxrss)
		}
	}
	if rss != nil {
		maxrss = rss.result(maxrss)
	}
	var sum childSummary
	jsonErr := json.Unmarshal(stdout.Bytes(), &sum)
	if sum.Drive != "" && args[0] == "upload" {
		r.created = append(r.created, sum.Drive)
	}
	if ctx.Err() != nil {
		return sum, sample{}, ctx.Err()
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr) && exitErr.ExitCode() == 2:
		return sum, sample{}, &unsupportedError{msg: errorLine(stderr.String(), exitErr)}
	case errors.As(runErr, &exitErr):
		return sum, sample{}, fmt.Errorf("drivecp %s: %s", strings.Join(args[:2], " "), errorLine(stderr.String(), exitErr))
	case runErr != nil:
		return sum, sample{}, fmt.Errorf("running %s: %w", r.cfg.Binary, runErr)
	case jsonErr != nil:
		return sum, sample{}, fmt.Errorf("drivecp %s: reading its --json output: %w", args[0], jsonErr)
	case args[0] == "upload" && sum.Drive == "":
		return sum, sample{}, fmt.Errorf("drivecp upload: its --json output names no drive")
	}
	smp := sample{wall: wall, serverCPU: serverCPU, transfer: time.Duration(sum.Seconds * float64(time.Second)), wireBytes: sum.WireBytes}
	smp.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	smp.maxRSS = maxrss
	return sum, smp, nil
}

// maxRSSBytes converts getrusage's ru_maxrss, which Linux and the BSDs
// give in KiB and macOS in bytes.
func maxRSSBytes(v int64) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return v
	}
	return v << 10
}

// deleteDrives deletes the drives created so far, the download source only
// when withSource (the bench is over).
func (r *runner) deleteDrives(ctx context.Context, withSource bool) error {
	if r.cfg.DeleteDrives == nil || len(r.created) == 0 {
		return nil
	}
	var keep, ids []string
	for _, id := range r.created {
		if id == r.source && !withSource {
			keep = append(keep, id)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := r.cfg.DeleteDrives(ctx, ids...); err != nil {
		return fmt.Errorf("deleting bench drives %s: %w", strings.Join(ids, ", "), err)
	}
	r.created = keep
	return nil
}

// errorLine is the reason a child gave for failing: its last
// `drivecp: error:` line, else its exit status.
func errorLine(stderr string, exitErr *exec.ExitError) string {
	const prefix = "drivecp: error: "
	lines := strings.Split(stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), prefix); ok {
			return msg
		}
	}
	return exitErr.String()
}

// tailBuffer keeps the last max bytes written to it: enough for the error
// lines of a child, whatever else it printed before.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// cFlag is " -c N" for a concurrency, "" for a single stream.
func cFlag(c int) string {
	switch c {
	case 0:
		return ""
	case AutoConcurrency:
		return " -c auto"
	}
	return fmt.Sprintf(" -c %d", c)
}
