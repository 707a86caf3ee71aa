package transfer

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

const testChunk = 64 << 10

// mixedImage writes an image of random, text-like and zero regions, with a
// hole, and returns its path and bytes.
func mixedImage(t testing.TB, size int64) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for off := int64(0); off < size; off += testChunk {
		end := min(off+testChunk, size)
		switch (off / testChunk) % 4 {
		case 0:
			for i := off; i < end; i++ {
				data[i] = byte(r.Uint32())
			}
		case 1:
			copy(data[off:end], bytes.Repeat([]byte("the quick brown fox "), testChunk/20+1))
		}
		// cases 2 and 3 stay zero
	}
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func plan(t testing.TB, path string, size int64) (*os.File, []chunker.Piece) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ps, err := chunker.PlanFile(f, size, testChunk, false)
	if err != nil {
		t.Fatal(err)
	}
	return f, ps
}

func TestUploadRoundTripWithRetries(t *testing.T) {
	const size = 40*testChunk + 1234
	path, want := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		if p.Index%3 == 0 && call <= 2 {
			return errBusy // every third chunk fails twice, then succeeds
		}
		return nil
	}
	var acked atomic.Int64
	var done sync.Map
	sum, err := Upload(context.Background(), f, ps, d, Options{
		Concurrency: 4, Retry: fastRetry, Gzip: true, SkipZero: true,
		Progress:    ProgressFunc(func(n int64) { acked.Add(n) }),
		OnChunkDone: func(i int, h uint64) { done.Store(i, h) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.data, want) {
		t.Fatal("drive differs from image")
	}
	if acked.Load() != size {
		t.Errorf("progress %d, want %d", acked.Load(), size)
	}
	for _, p := range ps {
		h, ok := done.Load(p.Index)
		if !ok || h.(uint64) != chunker.Hash(want[p.Offset:p.End()]) {
			t.Errorf("chunk %d: OnChunkDone hash %v, ok %v", p.Index, h, ok)
		}
	}
	if sum.ZeroBytesSkipped == 0 || sum.Retries == 0 || sum.WireBytes >= size {
		t.Errorf("summary %+v: want zero bytes skipped, retries and compression", sum)
	}
	if m := d.maxInFlight.Load(); m > 4 {
		t.Errorf("%d requests in flight, concurrency is 4", m)
	}
}

func TestUploadWritesZeroChunksUnlessSkipZero(t *testing.T) {
	const size = 8 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	for i := range d.data {
		d.data[i] = 0xff // an existing drive with old contents
	}
	if _, err := Upload(context.Background(), f, ps, d, Options{Gzip: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if d.puts[p.Index] != 1 {
			t.Errorf("chunk %d written %d times, want 1", p.Index, d.puts[p.Index])
		}
	}
	if !IsAllZero(d.data[2*testChunk : 4*testChunk]) {
		t.Error("zero chunks were not overwritten")
	}
}

// IsAllZero is a test helper.
func IsAllZero(b []byte) bool { return chunker.IsZero(b) }

func TestUploadSkipsDoneChunks(t *testing.T) {
	const size = 8 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	done := DoneMap{0: 1, 5: 2}
	var acked atomic.Int64
	sum, err := Upload(context.Background(), f, ps, d, Options{Done: done, Progress: ProgressFunc(func(n int64) { acked.Add(n) })})
	if err != nil {
		t.Fatal(err)
	}
	if d.puts[0] != 0 || d.puts[5] != 0 || d.puts[1] != 1 {
		t.Errorf("puts %v: chunks 0 and 5 should be skipped", d.puts)
	}
	if sum.ChunksSkipped != 2 || acked.Load() != size {
		t.Errorf("skipped %d, progress %d", sum.ChunksSkipped, acked.Load())
	}
}

func TestUploadFailsFastOnHardError(t *testing.T) {
	const size = 64 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		if p.Index == 3 {
			return errBad
		}
		time.Sleep(time.Millisecond)
		return nil
	}
	_, err := Upload(context.Background(), f, ps, d, Options{Concurrency: 2, Retry: fastRetry})
	if !errors.Is(err, providers.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if d.calls[3] != 1 {
		t.Errorf("hard error retried: %d calls", d.calls[3])
	}
	if n := len(d.puts); n > 10 {
		t.Errorf("%d chunks sent after the failure: did not stop early", n)
	}
}

func TestRetriesGiveUp(t *testing.T) {
	const size = 4 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	d.fault = func(context.Context, chunker.Piece, int) error { return errBusy }
	_, err := Upload(context.Background(), f, ps, d, Options{Concurrency: 1, Retry: fastRetry})
	if err == nil || !providers.IsRetryable(err) {
		t.Fatalf("err = %v, want the retryable error after giving up", err)
	}
	if d.calls[0] != fastRetry.Attempts {
		t.Errorf("%d attempts, want %d", d.calls[0], fastRetry.Attempts)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	p := RetryPolicy{Base: time.Millisecond, Max: time.Second}
	err := &providers.APIError{Status: 503, RetryAfter: 300 * time.Millisecond}
	if d := p.Backoff(1, err); d != 300*time.Millisecond {
		t.Errorf("backoff %s, want Retry-After's 300ms", d)
	}
	for n := 1; n < 40; n++ {
		if d := p.Backoff(n, errBusy); d < 0 || d > time.Second {
			t.Errorf("backoff(%d) = %s outside [0, Max]", n, d)
		}
	}
}

func TestStallIsRetried(t *testing.T) {
	const size = 4 * testChunk
	path, want := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		if p.Index == 1 && call == 1 {
			return stall(ctx)
		}
		return nil
	}
	start := time.Now()
	sum, err := Upload(context.Background(), f, ps, d, Options{Retry: fastRetry, StallTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.data, want) || sum.Retries != 1 {
		t.Errorf("retries %d; data equal %v", sum.Retries, bytes.Equal(d.data, want))
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("stall took %s to detect", time.Since(start))
	}
}

func TestKeepAliveDefersStall(t *testing.T) {
	c := &caller{retry: RetryPolicy{Attempts: 1}.WithDefaults(), stall: 40 * time.Millisecond, stats: &counters{}}
	err := c.do(context.Background(), "slow", -1, 0, func(ctx context.Context) error {
		for range 6 { // 120 ms in all, never 40 ms without progress
			time.Sleep(20 * time.Millisecond)
			providers.ReportProgress(ctx)
		}
		return ctx.Err()
	})
	if err != nil {
		t.Fatalf("a request that makes progress stalled: %v", err)
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	const size = 64 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error { return stall(ctx) }
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	_, err := Upload(ctx, f, ps, d, Options{Retry: fastRetry})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("cancellation took %s", el)
	}
}

func TestBandwidthLimit(t *testing.T) {
	const size = 16 * testChunk // 1 MiB
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	lim := rate.NewLimiter(4<<20, testChunk) // 4 MiB/s: about 250 ms for 1 MiB
	start := time.Now()
	if _, err := Upload(context.Background(), f, ps, d, Options{Limiter: lim}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("1 MiB at 4 MiB/s took %s", el)
	}
}

func TestDownloadFileSparseAndForce(t *testing.T) {
	const size = 20*testChunk + 77
	_, want := mixedImage(t, size)
	d := newMemDrive(size)
	copy(d.data, want)
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		if p.Index%4 == 1 && call == 1 {
			return errBusy
		}
		return nil
	}
	out := filepath.Join(t.TempDir(), "out.img")
	o := Options{Retry: fastRetry, Concurrency: 3}
	sum, err := DownloadFile(context.Background(), d, size, out, FileOptions{ChunkSize: testChunk}, o)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatal("download differs")
	}
	fi, _ := os.Stat(out)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if sum.ZeroBytesSkipped != 10*testChunk {
		t.Errorf("zero bytes skipped %d", sum.ZeroBytesSkipped)
	}
	if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
		t.Error("FILE.part left behind")
	}
	if _, err := DownloadFile(context.Background(), d, size, out, FileOptions{ChunkSize: testChunk}, o); !errors.Is(err, ErrExists) {
		t.Errorf("overwrite without Force: %v", err)
	}
	if _, err := DownloadFile(context.Background(), d, size, out, FileOptions{ChunkSize: testChunk, Force: true}, o); err != nil {
		t.Errorf("Force: %v", err)
	}
}

// TestDownloadFileRefusesNonRegular: Force replaces a file, never a FIFO
// or device node at the target or at FILE.part.
func TestDownloadFileRefusesNonRegular(t *testing.T) {
	d := newMemDrive(testChunk)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "out.img.part"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{Retry: fastRetry}
	for _, out := range []string{fifo, filepath.Join(dir, "out.img")} {
		_, err := DownloadFile(context.Background(), d, testChunk, out, FileOptions{ChunkSize: testChunk, Force: true}, o)
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: %v, want ErrNotRegular", out, err)
		}
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("the FIFO was replaced: %v %v", fi, err)
	}
}

func TestDownloadResumeClearsZeroChunks(t *testing.T) {
	const size = 8 * testChunk
	d := newMemDrive(size) // all zeros
	dst := filepath.Join(t.TempDir(), "part")
	if err := os.WriteFile(dst, bytes.Repeat([]byte{0xaa}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Download(context.Background(), d, chunker.Plan(size, testChunk, false), f, false, Options{}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if !chunker.IsZero(got) {
		t.Error("stale bytes survived in zero chunks of a reused file")
	}
}

func TestVerifyNamesOffsets(t *testing.T) {
	const size = 10 * testChunk
	path, want := mixedImage(t, size)
	d := newMemDrive(size)
	copy(d.data, want)
	f, _ := plan(t, path, size)
	if _, err := Verify(context.Background(), f, d, size, testChunk, Options{}); err != nil {
		t.Fatalf("identical: %v", err)
	}
	d.data[3*testChunk+5] ^= 1
	d.data[7*testChunk] ^= 1
	_, err := Verify(context.Background(), f, d, size, testChunk, Options{})
	var me *MismatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want a MismatchError", err)
	}
	if len(me.Offsets) != 2 || me.Offsets[0] != 3*testChunk || me.Offsets[1] != 7*testChunk {
		t.Errorf("offsets %v", me.Offsets)
	}
}

func TestDoRetriesOneOffRequests(t *testing.T) {
	var n int
	err := Do(context.Background(), Options{Retry: fastRetry}, "create", 0, func(context.Context) error {
		n++
		if n < 3 {
			return errBusy
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Errorf("err %v after %d calls", err, n)
	}
}

func TestBudgetIsSharedAcrossTransfers(t *testing.T) {
	// Two downloads with 4 workers each share a budget of 3: together they
	// must never have more than 3 requests in flight.
	const size = 24 << 20
	shared := newMemDrive(size)
	var inFlight, peak atomic.Int64
	shared.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		return nil
	}
	budget := semaphore.NewWeighted(3)
	pieces := chunker.Plan(size, 1<<20, false)
	var g errgroup.Group
	for range 2 {
		g.Go(func() error {
			dst := make([]byte, size)
			_, err := Download(context.Background(), shared, pieces, sliceWriterAt(dst), true,
				Options{Concurrency: 4, Budget: budget})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got > 3 || got < 2 {
		t.Fatalf("peak requests in flight = %d, want between 2 and the budget of 3", got)
	}
}

// sliceWriterAt writes into a byte slice.
type sliceWriterAt []byte

func (s sliceWriterAt) WriteAt(p []byte, off int64) (int, error) { return copy(s[off:], p), nil }

// encodingSink records whether each piece travelled gzipped.
type encodingSink struct {
	*memDrive
	mu      sync.Mutex
	gzipped map[int]bool
}

func (s *encodingSink) Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error {
	s.mu.Lock()
	s.gzipped[p.Index] = gzipped
	s.mu.Unlock()
	return s.memDrive.Put(ctx, p, body, gzipped)
}

func TestUploadSendsIncompressibleChunksRaw(t *testing.T) {
	const size = 8 * testChunk
	path, data := mixedImage(t, size)
	f, ps := plan(t, path, size)
	s := &encodingSink{memDrive: newMemDrive(size), gzipped: map[int]bool{}}
	if _, err := Upload(context.Background(), f, ps, s, Options{Gzip: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.data, data) {
		t.Fatal("drive differs from the image")
	}
	for _, p := range ps {
		random := p.Index%4 == 0 // mixedImage's random regions
		if s.gzipped[p.Index] == random {
			t.Errorf("chunk %d (random: %v) sent gzipped=%v", p.Index, random, s.gzipped[p.Index])
		}
	}
}
