package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// countingReader counts the reads of an image.
type countingReader struct {
	r     io.ReaderAt
	reads atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	return c.r.ReadAt(p, off)
}

// acks counts what the engine reports: acknowledged and zero chunks, and
// progress.
type acks struct{ done, zero, progress atomic.Int64 }

func (a *acks) options(o Options) Options {
	o.OnChunkDone = func(int, uint64) { a.done.Add(1) }
	o.OnChunkZero = func(int, uint64) { a.zero.Add(1) }
	o.Progress = progressFunc(func(n int64) { a.progress.Add(n) })
	return o
}

func (a *acks) any() bool { return a.done.Load()+a.zero.Load()+a.progress.Load() > 0 }

type progressFunc func(n int64)

func (f progressFunc) Add(n int64) { f(n) }

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestUploadReadsBeforePendingSinkIsReady: the first pieces are read while
// the destination is still being created, and nothing is sent or
// acknowledged before it exists.
func TestUploadReadsBeforePendingSinkIsReady(t *testing.T) {
	const size = 8 * testChunk
	path, data := mixedImage(t, size)
	f, ps := plan(t, path, size)
	img := &countingReader{r: f}
	d := newMemDrive(size)
	pending := NewPendingSink()
	var a acks
	result := make(chan error, 1)
	go func() {
		_, err := Upload(context.Background(), img, ps, pending, a.options(Options{Concurrency: 4, SkipZero: true, Gzip: true}))
		result <- err
	}()
	waitFor(t, "the first five pieces to be read", func() bool { return img.reads.Load() >= 5 })
	time.Sleep(20 * time.Millisecond) // room for a wrong ack or put to happen
	d.mu.Lock()
	puts := len(d.puts) + len(d.calls)
	d.mu.Unlock()
	if a.any() || puts != 0 {
		t.Fatalf("before the sink was ready: done %d zero %d progress %d, puts %v", a.done.Load(), a.zero.Load(), a.progress.Load(), d.puts)
	}
	if n := img.reads.Load(); n != 5 {
		t.Errorf("%d pieces read before the sink was ready, want the 4 in flight and 1 read ahead", n)
	}
	pending.Resolve(d)
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.data, data) {
		t.Error("drive differs from the image")
	}
	if got := a.done.Load() + a.zero.Load(); got != int64(len(ps)) {
		t.Errorf("%d chunks acknowledged, want %d", got, len(ps))
	}
}

// TestUploadFailsWithPendingSink: a destination that cannot be made ends
// the upload with its error, with nothing sent or acknowledged.
func TestUploadFailsWithPendingSink(t *testing.T) {
	const size = 8 * testChunk
	path, _ := mixedImage(t, size)
	f, ps := plan(t, path, size)
	d := newMemDrive(size)
	pending := NewPendingSink()
	errCreate := errors.New("drive creation refused")
	pending.Fail(errCreate)
	var a acks
	_, err := Upload(context.Background(), f, ps, pending, a.options(Options{Concurrency: 2, SkipZero: true}))
	if !errors.Is(err, errCreate) {
		t.Fatalf("got %v, want the creation's error", err)
	}
	if a.any() || len(d.puts) != 0 {
		t.Errorf("done %d zero %d progress %d puts %v after a failed creation", a.done.Load(), a.zero.Load(), a.progress.Load(), d.puts)
	}
}

// TestUploadSettlesHolesOnlyOnceReady: holes a new drive need not receive
// are not reported as done before the drive exists.
func TestUploadSettlesHolesOnlyOnceReady(t *testing.T) {
	const size = 6 * testChunk
	path := filepath.Join(t.TempDir(), "sparse")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	f, ps := plan(t, path, size)
	holes := 0
	for _, p := range ps {
		if p.Hole {
			holes++
		}
	}
	if holes == 0 {
		t.Skip("the file system reports no holes")
	}
	pending := NewPendingSink()
	var a acks
	result := make(chan error, 1)
	go func() {
		_, err := Upload(context.Background(), f, ps, pending, a.options(Options{Concurrency: 2, SkipZero: true}))
		result <- err
	}()
	time.Sleep(30 * time.Millisecond)
	if a.any() {
		t.Fatalf("holes settled before the sink was ready: zero %d progress %d", a.zero.Load(), a.progress.Load())
	}
	select {
	case err := <-result:
		t.Fatalf("upload ended before the sink was ready: %v", err)
	default:
	}
	pending.Resolve(newMemDrive(size))
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if a.zero.Load() != int64(len(ps)) {
		t.Errorf("%d zero chunks reported, want %d", a.zero.Load(), len(ps))
	}
}
