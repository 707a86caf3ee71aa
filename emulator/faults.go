// Package emulator holds what every cloud's emulator shares (`drivecp
// serve --cloud NAME`): fault injection (answers refused as the API refuses
// an overloaded request, connections reset before or in the middle of an
// answer), latency, and per-connection bandwidth shaping, all decided by one
// seeded generator so a run can be repeated. Each cloud's emulator lives in
// a sub-package and wraps its handler and listener with Faults.
package emulator

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// FaultConfig says which faults to inject.
type FaultConfig struct {
	// FailRate is the fraction of failable requests answered with the
	// cloud's "try again" error instead of being served.
	FailRate float64
	// ResetRate is the fraction of requests whose connection is dropped,
	// before the handler runs or part-way through the answer.
	ResetRate float64
	// Latency is added to every request.
	Latency time.Duration
	// Seed seeds the generator, for reproducible runs.
	Seed int64
}

// Faults injects failures, resets and latency. Its random numbers come from
// one generator seeded by FaultConfig.Seed, so a sequence of requests meets
// the same faults in every run.
type Faults struct {
	failRate, resetRate float64
	latency             time.Duration

	mu  sync.Mutex
	rng *rand.Rand
}

// NewFaults returns the fault injector of cfg.
func NewFaults(cfg FaultConfig) *Faults {
	seed := uint64(cfg.Seed)
	return &Faults{
		failRate:  cfg.FailRate,
		resetRate: cfg.ResetRate,
		latency:   cfg.Latency,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// decision is what happens to one request.
type decision struct {
	fail      bool
	reset     bool
	early     bool    // reset before the handler runs
	resetFrac float64 // else: after this fraction of the response body
}

func (f *Faults) decide(failable bool) decision {
	if f.failRate == 0 && f.resetRate == 0 {
		return decision{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Every request draws the same numbers whatever the outcome, so one
	// request's fate never shifts the next one's.
	u1, u2, u3, u4 := f.rng.Float64(), f.rng.Float64(), f.rng.Float64(), f.rng.Float64()
	d := decision{fail: failable && u1 < f.failRate}
	if !d.fail && u2 < f.resetRate {
		d.reset, d.early, d.resetFrac = true, u3 < 0.5, u4
	}
	return d
}

// Wrap applies latency, injected failures (answered by fail, when failable)
// and connection resets to h.
func (f *Faults) Wrap(h http.Handler, failable bool, fail http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.latency > 0 {
			t := time.NewTimer(f.latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		d := f.decide(failable)
		switch {
		case d.fail:
			fail(w, r)
			return
		case d.reset && d.early:
			AbortConn(w)
			return
		case d.reset:
			rw := &resetWriter{ResponseWriter: w, frac: d.resetFrac, budget: -1}
			h.ServeHTTP(rw, r)
			if !rw.fired {
				// Everything the handler did is done, but the client
				// never learns it: the nastiest case for a retrying client.
				rw.fire()
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AbortConn drops the client's connection without an answer.
func AbortConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // a reset, not an orderly close
	}
	conn.Close()
}

// errInjectedReset is returned by writes after an injected reset.
var errInjectedReset = errors.New("emulator: injected connection reset")

// resetWriter drops the connection once the response body reaches a
// fraction of its Content-Length.
type resetWriter struct {
	http.ResponseWriter
	frac    float64
	budget  int64 // bytes still allowed; -1 until the headers are known
	fired   bool
	written bool
}

func (w *resetWriter) WriteHeader(code int) {
	if w.budget < 0 {
		n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64)
		if err != nil {
			n = 0
		}
		w.budget = int64(w.frac * float64(n))
	}
	w.written = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *resetWriter) Write(p []byte) (int, error) {
	if w.fired {
		return 0, errInjectedReset
	}
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if int64(len(p)) <= w.budget {
		w.budget -= int64(len(p))
		return w.ResponseWriter.Write(p)
	}
	n, _ := w.ResponseWriter.Write(p[:w.budget])
	w.fire()
	return n, errInjectedReset
}

func (w *resetWriter) fire() {
	w.fired = true
	rc := http.NewResponseController(w.ResponseWriter)
	_ = rc.Flush()
	AbortConn(w.ResponseWriter)
}

// Unwrap gives http.ResponseController access to the connection.
func (w *resetWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ShapeListener limits every accepted connection to bw bytes per second in
// each direction; bw <= 0 returns ln unchanged.
func ShapeListener(ln net.Listener, bw int64) net.Listener {
	if bw <= 0 {
		return ln
	}
	return &shapedListener{Listener: ln, bw: bw}
}

type shapedListener struct {
	net.Listener
	bw int64
}

func (l *shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newShapedConn(c, l.bw), nil
}

// shapedConn throttles a connection with one token bucket per direction.
// The burst is a twentieth of a second's worth (at least 4 KiB), so the rate
// is smooth at the scale of a chunk.
type shapedConn struct {
	net.Conn
	rd, wr *rate.Limiter
	burst  int
	ctx    context.Context
	cancel context.CancelFunc
}

func newShapedConn(c net.Conn, bw int64) *shapedConn {
	burst := int(max(bw/20, 4<<10))
	ctx, cancel := context.WithCancel(context.Background())
	return &shapedConn{
		Conn:   c,
		rd:     rate.NewLimiter(rate.Limit(bw), burst),
		wr:     rate.NewLimiter(rate.Limit(bw), burst),
		burst:  burst,
		ctx:    ctx,
		cancel: cancel,
	}
}

func (c *shapedConn) Read(p []byte) (int, error) {
	if len(p) > c.burst {
		p = p[:c.burst]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if werr := c.rd.WaitN(c.ctx, n); werr != nil && err == nil {
			err = net.ErrClosed
		}
	}
	return n, err
}

func (c *shapedConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), c.burst)
		if err := c.wr.WaitN(c.ctx, n); err != nil {
			return written, net.ErrClosed
		}
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (c *shapedConn) Close() error {
	c.cancel()
	return c.Conn.Close()
}
