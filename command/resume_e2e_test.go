package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/drivecp/drivecp/chunker"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/internal/qcow2write"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
)

// The resume end-to-end tests kill the real binary in the middle of
// transfers and check that running the same command again finishes the job
// with a byte-identical result, redoing at most the chunks that were in
// flight.
//
// Work redone per kill is measured from both sides: the emulator's request
// log gives the chunk requests a killed run started that the server
// completed (2xx, attributed to the run by their start time, since a killed
// client's last bytes may still be in the socket buffers and complete a
// chunk after the kill), and the checkpoint on disk after the kill gives the
// chunks the run recorded. Their difference is what the next run does again
// (for API 2.0 uploads an upper bound: the rerun asks the server and skips
// chunks it holds). session.Session saves each chunk before its worker takes
// the next one, so the difference is at most the concurrency, and the test
// asserts exactly that.

const (
	e2eChunk       = 4 << 20 // the layout unit of the test image: whole zero chunks
	e2eConcurrency = 4
)

// requestLog records the emulator's request lines with the time each
// request started, so a test can count the chunk requests a run of the
// binary started, including those the server completed only after the run
// was killed (their bytes were already in the socket buffers).
type requestLog struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct {
	start time.Time
	line  string
}

func (l *requestLog) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	now := time.Now()
	// The line ends with the request's duration.
	f := strings.Fields(line)
	if len(f) > 0 {
		if d, err := time.ParseDuration(f[len(f)-1]); err == nil {
			now = now.Add(-d)
		}
	}
	l.mu.Lock()
	l.entries = append(l.entries, logEntry{start: now, line: line})
	l.mu.Unlock()
}

// count returns how many requests started in [from, to] match re and
// succeeded (2xx).
func (l *requestLog) count(from, to time.Time, re *regexp.Regexp) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if e.start.Before(from) || e.start.After(to) {
			continue
		}
		f := strings.Fields(e.line) // name method path status duration
		if len(f) < 4 || !strings.HasPrefix(f[3], "2") {
			continue
		}
		if re.MatchString(f[0] + " " + f[1] + " " + f[2]) {
			n++
		}
	}
	return n
}

// between returns the lines of requests started in [from, to].
func (l *requestLog) between(from, to time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.entries {
		if !e.start.Before(from) && !e.start.After(to) {
			fmt.Fprintf(&b, "%s %s\n", e.start.Format("15:04:05.000"), e.line)
		}
	}
	return b.String()
}

// Request lines that carry one chunk of data.
var (
	reV1Write   = regexp.MustCompile(`^api POST /drives/[0-9a-f-]+/write/`)
	reV1Read    = regexp.MustCompile(`^api (GET|POST) /drives/[0-9a-f-]+/read/`)
	reV2Chunk   = regexp.MustCompile(`^api POST /api/2\.0/drives/[0-9a-f-]{36}/upload/?$`)
	reV2Stored  = regexp.MustCompile(`^api GET /api/2\.0/drives/[0-9a-f-]{36}/upload/?$`)
	reV2Storage = regexp.MustCompile(`^storage GET `)
)

// writeResumeImage writes a mixed image of size bytes: 1 MiB blocks of
// random, text-like and zero data, and whole zero chunks.
func writeResumeImage(t *testing.T, size int64, seed uint64) string {
	t.Helper()
	const block = 1 << 20
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 99))
	for off := int64(0); off < size; off += block {
		end := min(off+block, size)
		if (off/e2eChunk)%7 == 3 {
			continue // a whole zero chunk
		}
		switch (off / block) % 4 {
		case 0, 2:
			for i := off; i < end; i += 8 {
				v := r.Uint64()
				for j := i; j < min(i+8, end); j++ {
					data[j] = byte(v)
					v >>= 8
				}
			}
		case 1:
			for i := off; i < end; i++ {
				data[i] = "resumable drive image\n"[i%22]
			}
		}
	}
	path := filepath.Join(t.TempDir(), "mixed.img")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nonZeroChunks returns the indexes of the chunks of img (plain plan) that
// are not all zeros: the chunks an API 1.0 upload into a new drive sends.
func nonZeroChunks(t *testing.T, img string, chunk int64) map[int]bool {
	t.Helper()
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]bool{}
	for _, p := range chunker.Plan(int64(len(data)), chunk, false) {
		if !chunker.IsZero(data[p.Offset:p.End()]) {
			m[p.Index] = true
		}
	}
	return m
}

// proc is a running drivecp.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	done           chan struct{}
	code           int
}

// startCLI starts the binary like runCLI does, without waiting for it.
func startCLI(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(baseEnv(t), env...)
	p := &proc{cmd: cmd, stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -int(ws.Signal())
			}
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit, failing the test after limit.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("drivecp %v did not exit within %v\nstderr: %s", p.cmd.Args[1:], limit, p.stderr)
		return 0
	}
}

// stateDir is the checkpoint folder of the test's runs.
func stateDir(t *testing.T) string {
	t.Helper()
	for _, kv := range baseEnv(t) {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			return filepath.Join(v, "drivecp")
		}
	}
	t.Fatal("no XDG_STATE_HOME")
	return ""
}

// savedCheckpoint returns the test's only checkpoint, or nil if there is none.
func savedCheckpoint(t *testing.T) *resume.Checkpoint {
	t.Helper()
	cs, err := (&resume.Store{Dir: stateDir(t)}).List()
	if err != nil {
		t.Fatalf("checkpoints: %v", err)
	}
	switch len(cs) {
	case 0:
		return nil
	case 1:
		return cs[0]
	}
	t.Fatalf("%d checkpoints, want at most one", len(cs))
	return nil
}

// assertNoSecrets fails if any file of the state folder holds the password
// or a URL.
func assertNoSecrets(t *testing.T, password string) {
	t.Helper()
	_ = filepath.WalkDir(stateDir(t), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, bad := range []string{password, "http://", "https://", "expires=", "sig="} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		return nil
	})
}

var resumingLine = regexp.MustCompile(`resuming: (\d+) of (\d+) chunks already done`)

// resumedChunks returns N of the "resuming: N of M chunks" line, or 0.
func resumedChunks(stderr string) int {
	m := resumingLine.FindStringSubmatch(stderr)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// killPath describes one transfer path of the kill test.
type killPath struct {
	name string
	// args returns the command line of the transfer.
	args []string
	// chunkRe matches the request lines that carry a chunk; storedRe (may
	// be nil) those that found a chunk already on the server.
	chunkRe, storedRe *regexp.Regexp
	// probes is true when each run makes one request matching chunkRe
	// before any chunk (API 2.0 download's Range probe), not to be counted.
	probes bool
	// chunk is the chunk size.
	chunk int64
	// needs reports whether chunk i costs a request (zero chunks of an
	// upload into a new drive do not).
	needs func(i int) bool
	// check verifies the final result, given the successful run's stdout.
	check func(t *testing.T, stdout string)
	// completed reports whether a killed run had already delivered its
	// result (printed the UUID, renamed FILE.part): a kill in the last
	// milliseconds of a run.
	completed func(stdout string) bool
}

// killFigures are the measurements of one kill campaign.
type killFigures struct {
	fullRun   time.Duration
	kills     int
	lost      []int // chunks acknowledged but not in the checkpoint, per kill
	gained    []int // chunks the killed run added to the checkpoint
	maxLost   int
	total     time.Duration
	lastStats string
}

// runKillCampaign measures a full run of kp (with setup producing a fresh
// target each time), then runs it again, killing it with SIGKILL after
// random delays, kills times, and finally lets it finish. After every kill
// it compares the chunks the server acknowledged with the checkpoint on
// disk: the difference is the work the next run redoes, and it must not
// exceed the chunks in flight (concurrency).
func runKillCampaign(t *testing.T, env []string, log *requestLog, password string, kp killPath, fullArgs []string, kills int, seed uint64) killFigures {
	t.Helper()
	var fig killFigures
	start := time.Now()
	res := runCLIContext(t, context.Background(), env, fullArgs...)
	fig.fullRun = time.Since(start)
	if res.code != 0 {
		t.Fatalf("%s: full run: exit %d\n%s", kp.name, res.code, res.stderr)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	t.Logf("%s: full run %v, seed %d", kp.name, fig.fullRun.Round(time.Millisecond), seed)

	campaign := time.Now()
	// What each killed run started and what its checkpoint held after
	// the kill; requests are counted at the end, when even the late ones
	// have been logged.
	type killed struct {
		from, to time.Time
		delay    time.Duration
		done     map[int]bool
	}
	var runs []killed
	prevAll := 0 // chunks done in the checkpoint, zero ones included
	for run := 0; ; run++ {
		from := time.Now()
		p := startCLI(t, env, kp.args...)
		var delay time.Duration
		if run < kills {
			// Mostly the start-up (process, drive lookup, checkpoint) and
			// 3-10% of a full run, so that each run adds a little; one kill
			// in five almost at once, before or during the set-up.
			f := 0.03 + 0.07*r.Float64()
			delay = 80*time.Millisecond + time.Duration(f*float64(fig.fullRun))
			if r.IntN(5) == 0 {
				delay = time.Duration(0.005 * r.Float64() * float64(fig.fullRun))
			}
			select {
			case <-p.done:
			case <-time.After(delay):
				_ = p.cmd.Process.Kill()
			}
		}
		code := p.wait(t, time.Minute)
		to := time.Now()
		if got := resumedChunks(p.stderr.String()); got != 0 && got != prevAll {
			t.Errorf("%s run %d: says it resumes %d chunks, the checkpoint held %d", kp.name, run, got, prevAll)
		}
		if code == 0 {
			if run < kills {
				t.Logf("%s: run %d finished before its kill at %v", kp.name, run, delay)
			}
			kp.check(t, p.stdout.String())
			fig.lastStats = strings.TrimSpace(p.stderr.String())
			break
		}
		if code != -int(syscall.SIGKILL) {
			t.Fatalf("%s run %d: exit %d, want SIGKILL\n%s", kp.name, run, code, p.stderr)
		}
		if kp.completed(p.stdout.String()) {
			// Killed after delivering the result, maybe before removing the
			// checkpoint: a complete checkpoint is harmless, drop it.
			t.Logf("%s: run %d was killed after its result was out", kp.name, run)
			kp.check(t, p.stdout.String())
			if c := savedCheckpoint(t); c != nil {
				if !c.Complete() {
					t.Errorf("%s: incomplete checkpoint after the result was out", kp.name)
				}
				_ = (&resume.Store{Dir: stateDir(t)}).Remove(c.ID())
			}
			break
		}
		fig.kills++
		done := map[int]bool{}
		prevAll = 0
		if c := savedCheckpoint(t); c != nil {
			prevAll = c.DoneCount()
			for i := range c.Total {
				if _, ok := c.IsDone(i); ok && kp.needs(i) {
					done[i] = true
				}
			}
		}
		runs = append(runs, killed{from: from, to: to, delay: delay, done: done})
		assertNoSecrets(t, password)
		if run > kills+5 {
			t.Fatalf("%s: no end after %d runs", kp.name, run)
		}
	}
	prevDone := map[int]bool{}
	for k, rk := range runs {
		acked := log.count(rk.from, rk.to, kp.chunkRe)
		if kp.probes && acked > 0 {
			acked--
		}
		if kp.storedRe != nil {
			acked += log.count(rk.from, rk.to, kp.storedRe)
		}
		gained := 0
		for i := range rk.done {
			if !prevDone[i] {
				gained++
			}
		}
		prevDone = rk.done
		lost := max(acked-gained, 0)
		fig.lost = append(fig.lost, lost)
		fig.gained = append(fig.gained, gained)
		fig.maxLost = max(fig.maxLost, lost)
		if lost > e2eConcurrency {
			t.Errorf("%s kill %d after %v: %d chunks acknowledged but only %d recorded: %d lost, more than the %d in flight\nrequests:\n%s",
				kp.name, k+1, rk.delay, acked, gained, lost, e2eConcurrency, log.between(rk.from, rk.to))
		}
	}
	fig.total = time.Since(campaign)
	if c := savedCheckpoint(t); c != nil {
		t.Errorf("%s: checkpoint %s left after success", kp.name, c.ID())
	}
	t.Logf("%s: %d kills; chunks (of %d KiB) each killed run added to the checkpoint %v; redone per kill %v (max %d = %d KiB; bound: %d chunks in flight); campaign %v",
		kp.name, fig.kills, kp.chunk>>10, fig.gained, fig.lost, fig.maxLost, int64(fig.maxLost)*kp.chunk>>10, e2eConcurrency, fig.total.Round(time.Millisecond))
	return fig
}

func countDone(m map[int]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// driveBytes returns the first n bytes of a drive in the emulator.
func driveBytes(t *testing.T, srv *emulator.Server, id string, n int64) []byte {
	t.Helper()
	h, err := srv.Store().OpenDrive(id, emulator.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(io.NewSectionReader(h, 0, n), b); err != nil {
		t.Fatal(err)
	}
	return b
}

// putDrive makes a drive in the emulator holding the bytes of img.
func putDrive(t *testing.T, srv *emulator.Server, img string) string {
	t.Helper()
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	d, err := srv.Store().CreateDrive(wire.Drive{Name: "source", Size: int64(len(data)), Media: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.Store().OpenDrive(d.UUID, emulator.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return d.UUID
}

// checkDrives expects two drives after an upload campaign: the measuring
// run's and the resumed upload's. A kill in the few milliseconds between
// the server creating the drive and the checkpoint recording it leaves an
// extra, orphaned drive (a known window: the UUID cannot be saved before
// the server returns it); those are reported, not failed, up to one per
// kill.
func checkDrives(t *testing.T, name string, srv *emulator.Server, fig killFigures) {
	t.Helper()
	n := len(srv.Store().ListDrives())
	switch {
	case n < 2 || n > 2+fig.kills:
		t.Errorf("%s: %d drives after the campaign, want 2", name, n)
	case n > 2:
		t.Logf("%s: %d drive(s) orphaned by kills between drive creation and the first checkpoint save", name, n-2)
	}
}

// resumeImageSize is the image of the kill tests: 64 MiB and a tail, or
// 1 GiB with DRIVECP_RESUME_1G=1.
func resumeImageSize() int64 {
	if os.Getenv("DRIVECP_RESUME_1G") != "" {
		return 1<<30 + 123457
	}
	return 64<<20 + 123457
}

// parallel runs the small kill campaigns side by side; the 1 GiB ones
// one after the other, to keep memory and CPU for each.
func parallel(t *testing.T, size int64) {
	if size <= 1<<30 {
		t.Parallel()
	}
}

// runUploadKills runs a kill campaign on an upload of a size-byte image
// made from imgSeed with args (the transfer flags) against an emulator
// with cfg, then checks the uploaded drive and the drives left. Zero
// chunks cost no request unless sendsZeros (API 2.0 sends every chunk).
// encode, when not nil, turns the raw image into the file uploaded (a
// qcow2 or compressed image of the same bytes).
func runUploadKills(t *testing.T, cfg emulator.Config, size, chunk int64, seed, imgSeed uint64, name string, args []string,
	chunkRe, storedRe *regexp.Regexp, sendsZeros bool, encode func(t *testing.T, raw string) string) {
	t.Helper()
	log := &requestLog{}
	cfg.Logf = log.logf
	srv, env := startEmulator(t, cfg)
	raw := writeResumeImage(t, size, imgSeed)
	want, _ := os.ReadFile(raw)
	nonZero := nonZeroChunks(t, raw, chunk)
	img := raw
	if encode != nil {
		img = encode(t, raw)
	}
	input, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	kp := killPath{
		chunk:     chunk,
		name:      name,
		args:      append([]string{"upload", img}, args...),
		chunkRe:   chunkRe,
		storedRe:  storedRe,
		completed: func(stdout string) bool { return strings.TrimSpace(stdout) != "" },
		needs:     func(i int) bool { return sendsZeros || nonZero[i] },
		check: func(t *testing.T, stdout string) {
			id := strings.TrimSpace(stdout)
			if !bytes.Equal(driveBytes(t, srv, id, size), want) {
				t.Fatalf("drive %s differs from the image", id)
			}
		},
	}
	// The measuring run uploads a copy, so it has its own checkpoint key
	// and drive.
	cp := filepath.Join(t.TempDir(), "copy"+filepath.Ext(img))
	if err := os.WriteFile(cp, input, 0o600); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"upload", cp}, args...)
	fig := runKillCampaign(t, env, log, srv.Config().Password, kp, full, 10, seed)
	checkDrives(t, kp.name, srv, fig)
}

func TestResumeKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill tests run the binary many times")
	}
	size := resumeImageSize()
	// Per connection bandwidth makes a full run take a couple of seconds,
	// so random kills land mid-transfer.
	bw := int64(8 << 20)
	if size > 1<<30 {
		bw = 64 << 20
	}
	cfg := emulator.Config{ConnBandwidth: bw, Latency: 2 * time.Millisecond}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DRIVECP_RESUME_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	// 1 MiB chunks give the 64 MiB image 64 of them, so that runs killed
	// after a tenth of a full run still complete some; the 1 GiB run uses
	// the default 4 MiB.
	chunk := int64(1 << 20)
	if size > 1<<30 {
		chunk = 4 << 20
	}
	cs := strconv.FormatInt(chunk>>10, 10) + "K"
	common := []string{"--api", "v1", "-c", strconv.Itoa(e2eConcurrency), "--chunk-size", cs, "--quiet"}
	commonV2 := []string{"--api", "v2", "-c", strconv.Itoa(e2eConcurrency), "--chunk-size", cs, "--quiet"}

	t.Run("v1-upload", func(t *testing.T) {
		parallel(t, size)
		runUploadKills(t, cfg, size, chunk, seed, seed, "API 1.0 upload", common, reV1Write, nil, false, nil)
	})

	t.Run("v2-upload", func(t *testing.T) {
		parallel(t, size)
		runUploadKills(t, cfg, size, chunk, seed, seed+2, "API 2.0 chunked upload", commonV2, reV2Chunk, reV2Stored, true, nil)
	})

	// The inputs that are not raw files: a qcow2 image is read through
	// its cluster tables, a zstd stream from its start on every run.
	t.Run("v2-upload-qcow2", func(t *testing.T) {
		parallel(t, size)
		runUploadKills(t, cfg, size, chunk, seed, seed+4, "API 2.0 chunked upload of qcow2", commonV2, reV2Chunk, reV2Stored, true, qcow2Input)
	})

	t.Run("v1-upload-zstd", func(t *testing.T) {
		parallel(t, size)
		runUploadKills(t, cfg, size, chunk, seed, seed+5, "API 1.0 upload of zstd", common, reV1Write, nil, false, zstdInput)
	})

	t.Run("v2-download", func(t *testing.T) {
		parallel(t, size)
		log := &requestLog{}
		c := cfg
		c.Logf = log.logf
		srv, env := startEmulator(t, c)
		img := writeResumeImage(t, size, seed+3)
		id := putDrive(t, srv, img)
		dir := t.TempDir()
		out := filepath.Join(dir, "back.img")
		kp := killPath{
			chunk:     chunk,
			name:      "API 2.0 download",
			args:      append([]string{"download", id, "-o", out}, commonV2...),
			chunkRe:   reV2Storage,
			completed: func(string) bool { _, err := os.Stat(out); return err == nil },
			probes:    true,
			needs:     func(int) bool { return true },
			check: func(t *testing.T, _ string) {
				sameFiles(t, img, out)
			},
		}
		full := append([]string{"download", id, "-o", filepath.Join(dir, "measure.img")}, commonV2...)
		runKillCampaign(t, env, log, srv.Config().Password, kp, full, 10, seed)
	})

	t.Run("v1-download", func(t *testing.T) {
		parallel(t, size)
		log := &requestLog{}
		c := cfg
		c.Logf = log.logf
		srv, env := startEmulator(t, c)
		img := writeResumeImage(t, size, seed+1)
		id := putDrive(t, srv, img)
		dir := t.TempDir()
		out := filepath.Join(dir, "back.img")
		kp := killPath{
			chunk:     chunk,
			name:      "API 1.0 download",
			args:      append([]string{"download", id, "-o", out}, common...),
			chunkRe:   reV1Read,
			completed: func(string) bool { _, err := os.Stat(out); return err == nil },
			needs:     func(int) bool { return true },
			check: func(t *testing.T, _ string) {
				sameFiles(t, img, out)
				if _, err := os.Stat(out + ".part"); err == nil {
					t.Error("FILE.part left behind")
				}
			},
		}
		full := append([]string{"download", id, "-o", filepath.Join(dir, "measure.img")}, common...)
		runKillCampaign(t, env, log, srv.Config().Password, kp, full, 10, seed)
	})
}

// qcow2Input writes the raw image as a qcow2 file (its all-zero clusters
// unallocated) beside it.
func qcow2Input(t *testing.T, raw string) string {
	t.Helper()
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(raw, filepath.Ext(raw)) + ".qcow2"
	f, err := qcow2write.Create(out, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	return out
}

// zstdInput writes the raw image as a zstd stream beside it.
func zstdInput(t *testing.T, raw string) string {
	t.Helper()
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	out := raw + ".zst"
	if err := os.WriteFile(out, enc.EncodeAll(data, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// startAndWaitCheckpoint starts drivecp and waits until it has saved a
// checkpoint with at least one chunk done.
func startAndWaitCheckpoint(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := startCLI(t, env, args...)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("drivecp %v exited (%d) before saving progress\n%s", args, p.code, p.stderr)
		default:
		}
		if c := savedCheckpoint(t); c != nil && c.DoneCount() > 0 {
			return p
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("drivecp %v saved no progress within 30s", args)
	return nil
}

// interrupt sends SIGINT and expects exit 5 within a second or two.
func interrupt(t *testing.T, p *proc) { interruptWith(t, p, os.Interrupt) }

// interruptWith is interrupt with another signal, such as SIGTERM.
func interruptWith(t *testing.T, p *proc, sig os.Signal) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t, 10*time.Second)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("SIGINT took %v to stop drivecp", took)
	}
	if code != ExitInterrupted {
		t.Fatalf("after SIGINT: exit %d, want %d\n%s", code, ExitInterrupted, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "interrupted") || !strings.Contains(p.stderr.String(), "run the same command again") {
		t.Errorf("SIGINT stderr does not explain: %s", p.stderr)
	}
}

func TestResumeInterruptAndErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 24<<20+5000, 3)
	want, _ := os.ReadFile(img)
	args := []string{"upload", img, "--api", "v1", "-c", "2", "--chunk-size", "1M"}

	// SIGINT: exit 5 with the checkpoint on disk.
	p := startAndWaitCheckpoint(t, env, args...)
	interrupt(t, p)
	c := savedCheckpoint(t)
	if c == nil || c.DoneCount() == 0 || c.Extra[session.ExtraDrive] == "" {
		t.Fatalf("no usable checkpoint after SIGINT: %+v", c)
	}
	id := c.ID()
	assertNoSecrets(t, srv.Config().Password)

	// checkpoint list, --json and show.
	stdout, stderr, code := runCLI(t, env, "checkpoint", "list")
	if code != 0 || !strings.Contains(stdout, id) || !strings.Contains(stdout, "upload") || !strings.Contains(stdout, img) {
		t.Errorf("checkpoint list: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, env, "checkpoint", "list", "--json")
	var infos []checkpointInfo
	if err := json.Unmarshal([]byte(stdout), &infos); code != 0 || err != nil || len(infos) != 1 || infos[0].ID != id ||
		infos[0].DoneChunks != c.DoneCount() || infos[0].Drive != c.Extra[session.ExtraDrive] {
		t.Errorf("checkpoint list --json: exit %d, %v: %s", code, err, stdout)
	}
	stdout, stderr, code = runCLI(t, env, "checkpoint", "show", id[:6])
	if code != 0 || !strings.Contains(stdout, c.Extra[session.ExtraDrive]) || !strings.Contains(stdout, fmt.Sprintf("%d of %d chunks", c.DoneCount(), c.Total)) {
		t.Errorf("checkpoint show: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code = runCLI(t, env, "checkpoint", "show", "ffff"); code != ExitNotFound {
		t.Errorf("checkpoint show of an unknown id: exit %d %s", code, stderr)
	}

	// Two runs at once: the second refuses while the first holds the lock.
	p = startCLI(t, env, args...)
	time.Sleep(300 * time.Millisecond) // let it take the lock and start
	_, stderr, code = runCLI(t, env, args...)
	if code != ExitUsage || !strings.Contains(stderr, "another drivecp is already running this transfer") {
		t.Errorf("second concurrent run: exit %d, want %d\n%s", code, ExitUsage, stderr)
	} else {
		assertOneErrorLine(t, stderr)
	}
	// Nor can its checkpoint be removed under it.
	if _, stderr, code = runCLI(t, env, "checkpoint", "rm", id); code != ExitUsage || !strings.Contains(stderr, "is running this transfer") {
		t.Errorf("checkpoint rm of a running transfer: exit %d\n%s", code, stderr)
	}
	interrupt(t, p)

	// A truncated checkpoint: a clear error, exit 2, and the way out.
	file := filepath.Join(stateDir(t), id+".checkpoint")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, orig[:len(orig)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, env, args...)
	if code != ExitUsage || !strings.Contains(stderr, "truncated or damaged") || !strings.Contains(stderr, "checkpoint rm "+id) {
		t.Errorf("truncated checkpoint: exit %d\n%s", code, stderr)
	}
	stdout, stderr, code = runCLI(t, env, "checkpoint", "list")
	if code != 0 || !strings.Contains(stderr, "warning: checkpoint "+id) {
		t.Errorf("checkpoint list with a corrupt file: exit %d\n%s%s", code, stdout, stderr)
	}

	// A checkpoint from an older format version.
	old := bytes.Replace(orig, []byte(fmt.Sprintf("drivecp-checkpoint v%d ", resume.Version)), []byte("drivecp-checkpoint v0 "), 1)
	if err := os.WriteFile(file, old, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, env, args...)
	if code != ExitUsage || !strings.Contains(stderr, "another drivecp version") || !strings.Contains(stderr, "--restart") {
		t.Errorf("old checkpoint version: exit %d\n%s", code, stderr)
	}

	// Put the good checkpoint back and resume to the end.
	if err := os.WriteFile(file, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, env, args...)
	if code != 0 || resumedChunks(stderr) == 0 {
		t.Fatalf("resume: exit %d, resumed %d\n%s", code, resumedChunks(stderr), stderr)
	}
	drive := strings.TrimSpace(stdout)
	if drive != c.Extra[session.ExtraDrive] {
		t.Errorf("resumed upload went to drive %s, the checkpoint named %s", drive, c.Extra[session.ExtraDrive])
	}
	if !bytes.Equal(driveBytes(t, srv, drive, int64(len(want))), want) {
		t.Fatal("resumed upload differs from the image")
	}
	if savedCheckpoint(t) != nil {
		t.Error("checkpoint left after success")
	}
	if n := len(srv.Store().ListDrives()); n != 1 {
		t.Errorf("%d drives, want 1", n)
	}

	// A modified source is refused with a hint to --restart; --restart
	// starts over.
	p = startAndWaitCheckpoint(t, env, args...)
	interrupt(t, p)
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("changed"), 10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want, _ = os.ReadFile(img)
	_, stderr, code = runCLI(t, env, args...)
	if code != ExitUsage || !strings.Contains(stderr, "--restart") || !strings.Contains(stderr, "cannot resume") {
		t.Errorf("modified source: exit %d\n%s", code, stderr)
	}
	assertOneErrorLine(t, stderr)
	stdout, stderr, code = runCLI(t, env, append(args, "--restart")...)
	if code != 0 || !strings.Contains(stderr, "--restart: discarding checkpoint") {
		t.Fatalf("--restart: exit %d\n%s", code, stderr)
	}
	if !bytes.Equal(driveBytes(t, srv, strings.TrimSpace(stdout), int64(len(want))), want) {
		t.Fatal("restarted upload differs from the image")
	}

	// checkpoint rm.
	p = startAndWaitCheckpoint(t, env, args...)
	interrupt(t, p)
	c = savedCheckpoint(t)
	if _, stderr, code = runCLI(t, env, "checkpoint", "rm", c.ID()[:8]); code != 0 || savedCheckpoint(t) != nil {
		t.Errorf("checkpoint rm: exit %d %s", code, stderr)
	}
}

func TestResumeDownloadInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	srv, env := startEmulator(t, emulator.Config{ConnBandwidth: 4 << 20})
	img := writeResumeImage(t, 16<<20+777, 5)
	id := putDrive(t, srv, img)
	out := filepath.Join(t.TempDir(), "back.img")
	args := []string{"download", id, "-o", out, "--api", "v1", "-c", "2", "--chunk-size", "1M"}

	p := startAndWaitCheckpoint(t, env, args...)
	interrupt(t, p)
	c := savedCheckpoint(t)
	if c == nil || c.Key.Drive != id {
		t.Fatalf("checkpoint after SIGINT: %+v", c)
	}
	// Damage one done chunk of FILE.part: the resume must notice and fetch
	// it again.
	var bad int = -1
	for i := range c.Total {
		if _, ok := c.IsDone(i); ok {
			bad = i
			break
		}
	}
	f, err := os.OpenFile(out+".part", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("garbage"), int64(bad)<<20+100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, stderr, code := runCLI(t, env, args...)
	if code != 0 || !strings.Contains(stderr, "do not match the checkpoint") || resumedChunks(stderr) != c.DoneCount()-1 {
		t.Fatalf("resume with a damaged chunk: exit %d\n%s", code, stderr)
	}
	sameFiles(t, img, out)

	// A missing FILE.part means starting over.
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	p = startAndWaitCheckpoint(t, env, args...)
	interruptWith(t, p, syscall.SIGTERM)
	if err := os.Remove(out + ".part"); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, env, args...)
	if code != 0 || !strings.Contains(stderr, "starting the download over") || resumedChunks(stderr) != 0 {
		t.Fatalf("resume without FILE.part: exit %d\n%s", code, stderr)
	}
	sameFiles(t, img, out)
}
