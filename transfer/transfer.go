// Package transfer moves drive images chunk by chunk: a bounded pool of
// workers, each holding one concurrency token and one pooled buffer, reads,
// hashes, compresses and sends (upload) or reads and writes at offsets
// (download). The provider side is reached through two small interfaces,
// Sink and Source, so API 1.0 offset I/O and API 2.0 chunked or ranged
// transfers share one pool. Retries, stall detection, the bandwidth limit
// and logging are wrappers around those interfaces, assembled in one place
// (wrap.go).
//
// Memory is bounded by Concurrency × chunk size × a small constant whatever
// the image size: a goroutine starts only after it holds a token and a
// buffer.
package transfer

import (
	"context"
	"log"
	"time"

	"github.com/drivecp/drivecp/chunker"
	"golang.org/x/time/rate"
)

// DefaultConcurrency is the number of chunks in flight by default.
const DefaultConcurrency = 8

// Sink stores upload chunks on the destination drive.
type Sink interface {
	// Put stores piece p. body is exactly what travels: one gzip member
	// decoding to the piece's bytes when gzipped is true, else the bytes
	// themselves. body is only valid until Put returns.
	Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error
}

// StoredChecker is implemented by sinks that can ask the destination whether
// it already holds a piece (API 2.0's test-chunk GET). Upload calls it
// before reading a piece when Options.AskStored is set.
type StoredChecker interface {
	Stored(ctx context.Context, p chunker.Piece) (bool, error)
}

// Source reads a drive's bytes for download and verification.
type Source interface {
	// ReadPiece fills dst (len(dst) == p.Length) with the bytes of p.
	ReadPiece(ctx context.Context, p chunker.Piece, dst []byte) error
	// MaxPiece is the largest piece one ReadPiece may be asked for; 0 means
	// no limit.
	MaxPiece() int64
}

// Budget limits requests in flight across transfers; *semaphore.Weighted
// implements it.
type Budget interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// Progress receives acknowledged bytes: an upload chunk the destination
// accepted, a download chunk written to the file, or chunks found done by
// an earlier run. Calls are serialised by the engine.
type Progress interface {
	Add(n int64)
}

// Settler is a Progress that wants to know which bytes were settled
// without moving: chunks an earlier run did, holes and zero chunks a new
// drive need not receive. Such bytes go to Settled instead of Add, so a
// rate shown from Add counts what travelled (or was read and written),
// not a terabyte of holes settled in a millisecond.
type Settler interface {
	Settled(n int64)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(n int64)

// Add calls f(n).
func (f ProgressFunc) Add(n int64) { f(n) }

// Options configure one transfer. The zero value works: 8 workers, default
// retries, no stall timeout, no bandwidth limit, no hooks.
type Options struct {
	// Concurrency is the number of chunks in flight (default 8), or with
	// AutoConcurrency the most there may be (default autoLimit).
	Concurrency int
	// AutoConcurrency lets the engine find the concurrency that moves the
	// most bytes per second, and follow it as the link changes (see
	// adaptiveGate); OnConcurrency hears each value it takes.
	AutoConcurrency bool
	OnConcurrency   func(n int)
	// AutoStart, with AutoConcurrency, is where the search starts: what an
	// earlier run of the same transfer learnt (zero: from 4).
	// OnBestConcurrency hears, each time it changes, the fewest chunks in
	// flight that reached the best rate so far: what to keep for the next
	// run's AutoStart.
	AutoStart         AutoStart
	OnBestConcurrency func(n int)
	// Retry governs how failed requests are repeated.
	Retry RetryPolicy
	// StallTimeout cancels an attempt that makes no progress for this long
	// and retries it with providers.ErrStalled; 0 disables it.
	StallTimeout time.Duration
	// Limiter, when set, caps bytes per second across all workers.
	Limiter *rate.Limiter
	// Logger, when set, receives one line per retried request.
	Logger *log.Logger
	// OnRetry, when set, is called for each retried request (an event
	// log), concurrently from the workers.
	OnRetry func(RetryEvent)
	// Budget, when set, is shared by several transfers running at once (a
	// backup of several drives): every request in flight holds one unit, so
	// together they stay within one overall concurrency.
	Budget Budget

	// GzipLevel is the gzip level for sinks that take gzip (upload with
	// Gzip set); 0 means chunker.DefaultLevel.
	GzipLevel int
	// Gzip makes Upload send gzip members (API 1.0); otherwise raw bytes.
	Gzip bool
	// SkipZero lets Upload skip all-zero chunks: only when the destination
	// is known to read as zeros (a drive this run created, --assume-zeroed).
	SkipZero bool
	// AskStored makes Upload ask a StoredChecker sink before each chunk.
	AskStored bool

	// Done holds the chunks an earlier run completed. They are not
	// transferred again; their bytes count as progress at once. The engine
	// asks it from one goroutine, before and while it hands out chunks.
	Done DoneSet
	// RecheckDone makes Upload read and hash again the chunks of Done
	// before it trusts them (see Recheck): the image may have changed
	// since the earlier run sent them, with its size, modification time
	// and first and last chunk as they were. A chunk whose bytes differ is
	// sent again, even when it is now zeros that SkipZero would skip, and
	// without asking a StoredChecker (the server holds the old bytes).
	RecheckDone bool
	// OnDoneChanged, with RecheckDone, hears which chunks of Done changed
	// (ascending) out of how many were checked, before any is sent again.
	// An error from it ends Upload with that error before any chunk
	// travels: for a protocol that cannot replace a chunk it holds.
	OnDoneChanged func(changed []int, checked int) error
	// OnChunkDone is called after each acknowledged chunk, from the worker
	// that completed it (concurrently: it must be safe for that). Checkpoints
	// plug in here.
	OnChunkDone func(index int, hash uint64)
	// OnChunkZero, when set, is called instead of OnChunkDone for a chunk
	// whose outcome follows from the plan: a zero chunk Upload skipped
	// (SkipZero) or one Download left as zeros in the file. hash is the
	// hash of zeros. A checkpoint need not persist such chunks one by one;
	// a later run finds them again cheaply. It is called from the
	// dispatching goroutine for holes (no worker is started for them) and
	// from workers otherwise, so it must be safe for concurrent use.
	OnChunkZero func(index int, hash uint64)
	// Progress receives acknowledged bytes.
	Progress Progress
}

// DoneSet tells which chunks an earlier run completed and their hashes. A
// resume.Checkpoint is one (a bitset, compact for any drive size).
type DoneSet interface {
	IsDone(index int) (hash uint64, ok bool)
}

// DoneMap is a DoneSet held in a map (index → xxhash), for small plans and
// tests.
type DoneMap map[int]uint64

// IsDone reports whether index is in m, and its hash.
func (m DoneMap) IsDone(index int) (uint64, bool) {
	h, ok := m[index]
	return h, ok
}

// isDone reports whether chunk index is in d; a nil d holds nothing.
func isDone(d DoneSet, index int) bool {
	if d == nil {
		return false
	}
	_, ok := d.IsDone(index)
	return ok
}

func (o *Options) concurrency() int {
	if o.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return o.Concurrency
}

// AutoLimit is the most chunks AutoConcurrency lets in flight for chunks
// of chunkSize bytes: 32, fewer for big chunks so that buffers stay within
// 512 MiB, never fewer than 4.
func AutoLimit(chunkSize int64) int {
	return int(min(32, max(4, (512<<20)/max(chunkSize, 1))))
}

// gate returns the gate of one run over chunks of up to chunkSize bytes;
// stats counts the retries an adaptive gate reads as refusals.
func (o *Options) gate(chunkSize int64, stats *counters) gate {
	if !o.AutoConcurrency {
		return newFixedGate(o.concurrency())
	}
	return newAdaptiveGateFrom(o.maxConcurrency(chunkSize), o.AutoStart, stats.retries.Load, o.OnConcurrency, o.OnBestConcurrency)
}

// maxConcurrency is the most chunks of chunkSize bytes a run may have in
// flight.
func (o *Options) maxConcurrency(chunkSize int64) int {
	if o.AutoConcurrency && o.Concurrency <= 0 {
		return AutoLimit(chunkSize)
	}
	return o.concurrency()
}

// Summary describes a finished (or failed) transfer.
type Summary struct {
	// LogicalBytes is the image size covered by the transfer.
	LogicalBytes int64 `json:"logical_bytes"`
	// WireBytes is the body bytes sent or received, retries included.
	WireBytes int64 `json:"wire_bytes"`
	// ZeroBytesSkipped is the bytes of zero chunks neither sent nor written.
	ZeroBytesSkipped int64 `json:"zero_bytes_skipped"`
	// Chunks is the number of chunks in the plan.
	Chunks int `json:"chunks"`
	// ChunksSkipped is the chunks an earlier run (Done) or the server already
	// had.
	ChunksSkipped int `json:"chunks_skipped"`
	// Retries is the number of repeated requests.
	Retries int64 `json:"retries"`
	// Seconds is the wall time.
	Seconds float64 `json:"seconds"`
	// MBps is LogicalBytes per second in MB (10^6 bytes).
	MBps float64 `json:"mb_per_s"`
	// WireMBps is WireBytes per second in MB.
	WireMBps float64 `json:"wire_mb_per_s"`
	// Concurrency is the chunks in flight at the end, which AutoConcurrency
	// chose; 0 for a fixed concurrency.
	Concurrency int `json:"concurrency,omitempty"`
}

// minRateSeconds is the shortest run whose rate Summary states.
const minRateSeconds = 0.05

// finish completes s with the run's counters and its rates since start.
// ChunksSkipped adds to what splitDone counted before the run.
func (s *Summary) finish(start time.Time, st *counters) {
	s.WireBytes = st.wire.Load()
	s.Retries = st.retries.Load()
	s.ZeroBytesSkipped = st.zeros.Load()
	s.ChunksSkipped += int(st.skipped.Load())
	s.Seconds = time.Since(start).Seconds()
	// A rate over nothing sent, or over a blink, is noise (a resumed run
	// that found every chunk done once claimed 28480097.9 MB/s): rates stay
	// 0, which the summary lines read as "no rate".
	if s.WireBytes > 0 && s.Seconds >= minRateSeconds {
		s.MBps = float64(s.LogicalBytes) / 1e6 / s.Seconds
		s.WireMBps = float64(s.WireBytes) / 1e6 / s.Seconds
	}
}
