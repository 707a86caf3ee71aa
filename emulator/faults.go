package emulator

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Shaping is the misbehaviour an emulator can be told to show: one struct,
// so that a command binds its flags once for every cloud. The zero value is
// a well-behaved emulator.
type Shaping struct {
	// FailRate is the fraction of failable requests answered with the
	// cloud's "try again" error instead of being served.
	FailRate float64
	// ResetRate is the fraction of requests whose connection is dropped,
	// before the handler runs or part-way through the answer.
	ResetRate float64
	// Latency is added to every request.
	Latency time.Duration
	// ConnBandwidth limits every connection to this many bytes per second
	// each way; 0 is unlimited.
	ConnBandwidth int64
	// TotalBandwidth limits all connections together, of every listener of
	// the emulator, to this many bytes per second each way: the client's
	// link. 0 is unlimited.
	TotalBandwidth int64
	// MaxConcurrent refuses a request, as the cloud refuses one it cannot
	// take now, while this many of the same client host are being served;
	// 0 is no limit. Only requests that could be refused at all (the API,
	// not signed storage URLs) count.
	MaxConcurrent int
	// Seed seeds the generator of failures and resets, for reproducible
	// runs.
	Seed int64
}

// Validate refuses rates outside 0..1 and negative latency or bandwidth.
func (o Shaping) Validate() error {
	if o.FailRate < 0 || o.FailRate > 1 || o.ResetRate < 0 || o.ResetRate > 1 {
		return errors.New("emulator: fail and reset rates must be between 0 and 1")
	}
	if o.ConnBandwidth < 0 || o.TotalBandwidth < 0 || o.Latency < 0 || o.MaxConcurrent < 0 {
		return errors.New("emulator: bandwidth, latency and the concurrency limit must not be negative")
	}
	return nil
}

// Faults injects failures, resets and latency. Its random numbers come from
// one generator seeded by Shaping.Seed, so a sequence of requests meets the
// same faults in every run, however many handlers it wraps.
type Faults struct {
	failRate, resetRate float64
	latency             time.Duration
	maxConcurrent       int

	mu       sync.Mutex
	rng      *rand.Rand
	inFlight map[string]int // failable requests being served, per client host
}

// NewFaults returns the fault injector of o (its bandwidth is the
// listener's business: see Listen).
func NewFaults(o Shaping) *Faults {
	return &Faults{
		failRate:  o.FailRate,
		resetRate: o.ResetRate,
		latency:   o.Latency,
		rng:       NewRand(o.Seed),

		maxConcurrent: o.MaxConcurrent,
		inFlight:      map[string]int{},
	}
}

// enter counts a request of r's client host in, reporting false (and not
// counting it) when the host has maxConcurrent in flight already. Every
// true must be matched by a leave.
func (f *Faults) enter(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inFlight[host] >= f.maxConcurrent {
		return false
	}
	f.inFlight[host]++
	return true
}

func (f *Faults) leave(r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inFlight[host]--; f.inFlight[host] <= 0 {
		delete(f.inFlight, host)
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

// Wrap applies latency, injected failures and the concurrency limit
// (answered by fail, when failable) and connection resets to h.
func (f *Faults) Wrap(h http.Handler, failable bool, fail http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failable && f.maxConcurrent > 0 {
			if !f.enter(r) {
				fail(w, r) // too many at once: the cloud's "try again"
				return
			}
			defer f.leave(r)
		}
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
