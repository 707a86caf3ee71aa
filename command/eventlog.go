package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// flagLogJSON names the file of the machine-readable event log.
const flagLogJSON = "log-json"

func logJSONFlag() cli.Flag {
	return &cli.StringFlag{Name: flagLogJSON, Usage: "write one JSON event per line (start, retries, progress each second, summary, end) to FILE, or - for stdout"}
}

// The event log's schema, one JSON object per line, every object with
// "time" (RFC 3339, UTC, nanoseconds) and "event":
//
//	start     command, args (the positional arguments: images, drive IDs)
//	phase     phase ("upload", "download", "verify", ...), bytes_total
//	progress  phase, bytes_done, bytes_total, and once they mean something
//	          rate_bps (over the last few seconds) and eta_s
//	concurrency  concurrency: a value --concurrency auto chose
//	retry     what, offset (of the chunk; absent for other requests),
//	stall     attempt, max_attempts, wait_ms, error, status (HTTP, if any);
//	          "stall" when the attempt made no progress for --stall-timeout
//	summary   verb, and the transfer's summary fields (logical_bytes,
//	          wire_bytes, zero_bytes_skipped, chunks, chunks_skipped,
//	          retries, seconds, mb_per_s, wire_mb_per_s)
//	end       exit_code, error (absent on success)
//
// Progress comes at least once a second while a phase runs, and once more
// when it ends. Nothing in it is secret: no credentials, and URL
// parameters that could sign a request are redacted.
type eventLog struct {
	mu     sync.Mutex
	enc    *json.Encoder
	closer io.Closer // the file, nil for stdout
	now    func() time.Time
	err    error // the first write error, reported at the end

	phase *phaseProgress
	stop  chan struct{}
	done  chan struct{}
}

// eventLogKey carries a run's event log in its context.
type eventLogKey struct{}

// eventLogFrom returns the run's event log, nil when there is none.
func eventLogFrom(ctx context.Context) *eventLog {
	l, _ := ctx.Value(eventLogKey{}).(*eventLog)
	return l
}

// withEventLog runs action with the --log-json event log open, and writes
// its end line with the exit code the error will give.
func withEventLog(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		path := c.String(flagLogJSON)
		if path == "" {
			return action(c)
		}
		l, err := openEventLog(path, c.App.Writer)
		if err != nil {
			return err
		}
		l.emit(map[string]any{"event": "start", "command": c.Command.Name, "args": c.Args().Slice()})
		parent := c.Context
		c.Context = context.WithValue(parent, eventLogKey{}, l)
		err = action(c)
		c.Context = parent
		return errors.Join(err, l.close(err))
	}
}

// openEventLog opens path (0600: it names images and drives) for
// appending, or uses stdout for "-".
func openEventLog(path string, stdout io.Writer) (*eventLog, error) {
	l := &eventLog{now: time.Now}
	if path == "-" {
		l.enc = json.NewEncoder(stdout)
		return l, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, usageErrorf("--log-json: %v", err)
	}
	l.enc, l.closer = json.NewEncoder(f), f
	return l, nil
}

// emit writes one event, stamped with the time.
func (l *eventLog) emit(fields map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emitLocked(fields)
}

func (l *eventLog) emitLocked(fields map[string]any) {
	fields["time"] = l.now().UTC().Format(time.RFC3339Nano)
	if err := l.enc.Encode(fields); err != nil && l.err == nil {
		l.err = err
	}
}

// secretParams matches URL parameters that may sign a request.
var secretParams = regexp.MustCompile(`(?i)\b(sig|signature|token|key|expires|password|x-amz-signature)=[^&\s"']+`)

// safeError is err's text with anything that could sign a request redacted.
func safeError(err error) string {
	return secretParams.ReplaceAllString(err.Error(), "$1=REDACTED")
}

// retry logs one retried request.
func (l *eventLog) retry(e transfer.RetryEvent) {
	ev := map[string]any{"event": "retry", "what": e.What, "attempt": e.Attempt, "max_attempts": e.Attempts,
		"wait_ms": e.Wait.Milliseconds(), "error": safeError(e.Err)}
	if errors.Is(e.Err, providers.ErrStalled) {
		ev["event"] = "stall"
	}
	if e.Offset >= 0 {
		ev["offset"] = e.Offset
	}
	var apiErr *providers.APIError
	if errors.As(e.Err, &apiErr) && apiErr.Status != 0 {
		ev["status"] = apiErr.Status
	}
	l.emit(ev)
}

// concurrency logs a value --concurrency auto chose.
func (l *eventLog) concurrency(n int) {
	l.emit(map[string]any{"event": "concurrency", "concurrency": n})
}

// summary logs a transfer's summary.
func (l *eventLog) summary(verb string, s transfer.Summary) {
	ev := map[string]any{"event": "summary", "verb": verb}
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &ev)
	l.emit(ev)
}

// startPhase begins the progress of a phase of total bytes; its progress
// lines come each second until the next phase or the end.
func (l *eventLog) startPhase(name string, total int64) *phaseProgress {
	l.endPhase()
	p := &phaseProgress{name: name, total: total, now: l.now}
	l.mu.Lock()
	l.phase = p
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	stop, done := l.stop, l.done
	l.emitLocked(map[string]any{"event": "phase", "phase": name, "bytes_total": total})
	l.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.progress(p)
			}
		}
	}()
	return p
}

// endPhase stops the running phase's ticker and logs its last progress.
func (l *eventLog) endPhase() {
	l.mu.Lock()
	p, stop, done := l.phase, l.stop, l.done
	l.phase, l.stop, l.done = nil, nil, nil
	l.mu.Unlock()
	if p == nil {
		return
	}
	close(stop)
	<-done
	l.progress(p)
}

// progress logs one progress line of p.
func (l *eventLog) progress(p *phaseProgress) {
	now := l.now()
	doneBytes, rate, eta, ok := p.sample(now)
	ev := map[string]any{"event": "progress", "phase": p.name, "bytes_done": doneBytes, "bytes_total": p.total}
	if ok {
		ev["rate_bps"] = int64(rate)
		if rate > 0 {
			ev["eta_s"] = eta.Seconds()
		}
	}
	l.emit(ev)
}

// close ends the log with the run's exit code and error.
func (l *eventLog) close(runErr error) error {
	l.endPhase()
	ev := map[string]any{"event": "end", "exit_code": ExitCode(runErr)}
	if runErr != nil {
		ev["error"] = safeError(runErr)
	}
	l.emit(ev)
	var err error
	if l.closer != nil {
		err = l.closer.Close()
	}
	if err = errors.Join(l.err, err); err != nil {
		return fmt.Errorf("--log-json: %w", err)
	}
	return nil
}

// rateWindow is how far back the logged rate looks: long enough to smooth
// chunk-sized steps, short enough to follow a link that changes.
const rateWindow = 5 * time.Second

// phaseProgress counts a phase's acknowledged bytes and keeps the samples
// its rate comes from.
type phaseProgress struct {
	name  string
	total int64
	now   func() time.Time

	mu      sync.Mutex
	done    int64
	settled int64            // of done, settled without moving (see transfer.Settler)
	lastAdd time.Time        // when bytes were last acknowledged
	samples []progressSample // one per tick, the last rateWindow of them
}

type progressSample struct {
	at    time.Time
	moved int64 // bytes done that moved
}

// Add implements transfer.Progress.
func (p *phaseProgress) Add(n int64) {
	p.mu.Lock()
	p.done += n
	p.lastAdd = p.now()
	p.mu.Unlock()
}

// Settled implements transfer.Settler: the bytes count as done, not
// toward the rate.
func (p *phaseProgress) Settled(n int64) {
	p.mu.Lock()
	p.done += n
	p.settled += n
	p.mu.Unlock()
}

// sample records the bytes done at now and returns them with the rate over
// the samples of the last rateWindow and the time left. The rate counts
// the bytes that moved, and is known (ok) only from the second tick on,
// when it spans a whole interval.
// Bytes are acknowledged a whole chunk at a time, so the chunks in flight
// have been moving since the last acknowledgement: the time left counts
// that as done, or it would run late by up to a chunk's time.
func (p *phaseProgress) sample(now time.Time) (done int64, rate float64, eta time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = append(p.samples, progressSample{now, p.done - p.settled})
	for len(p.samples) > 2 && now.Sub(p.samples[0].at) > rateWindow {
		p.samples = p.samples[1:]
	}
	first := p.samples[0]
	if len(p.samples) < 2 || !now.After(first.at) {
		return p.done, 0, 0, false
	}
	rate = float64(p.done-p.settled-first.moved) / now.Sub(first.at).Seconds()
	if rate > 0 {
		left := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		if !p.lastAdd.IsZero() && now.After(p.lastAdd) {
			left -= now.Sub(p.lastAdd)
		}
		eta = max(left, 0)
	}
	return p.done, rate, eta, true
}
