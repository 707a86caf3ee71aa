package transfer

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/drivecp/drivecp/chunker"
)

func TestDownloadOrderedWritesInOrder(t *testing.T) {
	img := streamImage(1<<20 + 777)
	d := newMemDrive(int64(len(img)))
	copy(d.data, img)
	r := rand.New(rand.NewPCG(3, 4))
	delays := make([]time.Duration, 64)
	for i := range delays {
		delays[i] = time.Duration(r.IntN(3)) * time.Millisecond
	}
	// Reads finish out of order; the output must not.
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		time.Sleep(delays[p.Index%len(delays)])
		return nil
	}
	var out bytes.Buffer
	sum, err := DownloadOrdered(context.Background(), d, chunker.Plan(int64(len(img)), 64<<10, false), &out, Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), img) {
		t.Fatal("output differs from the drive")
	}
	if sum.LogicalBytes != int64(len(img)) {
		t.Errorf("logical bytes %d", sum.LogicalBytes)
	}
	if m := d.maxInFlight.Load(); m > 4 {
		t.Errorf("%d reads in flight, want at most 4", m)
	}
}

type failWriter struct{ n int }

var errFull = errors.New("pipe closed")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errFull
	}
	w.n--
	return len(p), nil
}

func TestDownloadOrderedStopsOnWriteError(t *testing.T) {
	img := streamImage(2 << 20)
	d := newMemDrive(int64(len(img)))
	_, err := DownloadOrdered(context.Background(), d, chunker.Plan(int64(len(img)), 64<<10, false), &failWriter{n: 3}, Options{Concurrency: 3})
	if !errors.Is(err, errFull) {
		t.Fatalf("err %v, want the writer's", err)
	}
	d.mu.Lock()
	calls := len(d.calls)
	d.mu.Unlock()
	if calls > 3+3+1 {
		t.Errorf("%d pieces read after the output failed at the fourth", calls)
	}
}

func TestDownloadOrderedFromHostIgnoringRange(t *testing.T) {
	const size = 20*testChunk + 999
	_, want := mixedImage(t, size)
	fake := newFakeV2(want)
	fake.noRange = true
	var out bytes.Buffer
	_, err := DownloadOrdered(context.Background(), NewRangedSource(fake, "d"), chunker.Plan(size, testChunk, false), &out, Options{Concurrency: 4})
	if !errors.Is(err, ErrRangeIgnored) || out.Len() != 0 {
		t.Fatalf("ranged: %v after %d bytes; want ErrRangeIgnored before any", err, out.Len())
	}
	// The stream cut by resets starts again from the top each time and
	// skips what the writer has: every byte once, in order.
	fake = newFakeV2(want)
	fake.noRange = true
	fake.resetN = 4
	sum, err := StreamOrdered(context.Background(), NewRangedSource(fake, "d"), size, testChunk, &out,
		Options{Retry: RetryPolicy{Attempts: 10, Base: time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("stream wrote %d bytes that differ from the %d of the image", out.Len(), len(want))
	}
	if sum.Retries != 4 || sum.LogicalBytes != size {
		t.Errorf("summary %+v: want 4 retries of a %d-byte image", sum, int64(size))
	}
}
