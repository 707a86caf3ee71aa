package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/drivecp/drivecp/chunker"
)

// streamImage is size bytes of random chunks and zero chunks of 64 KiB.
func streamImage(size int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for off := 0; off < size; off += 64 << 10 {
		if (off/(64<<10))%3 == 1 {
			continue
		}
		for i := off; i < min(off+64<<10, size); i++ {
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

// onlyReader hides any other interface of a reader, as a pipe would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestUploadStreamRoundTripSkipsZeros(t *testing.T) {
	img := streamImage(1<<20 + 5000)
	pieces := chunker.Plan(int64(len(img)), 64<<10, false)
	d := newMemDrive(int64(len(img)))
	sum, res, err := UploadStream(context.Background(), onlyReader{bytes.NewReader(img)}, int64(len(img)), pieces, d,
		Options{Concurrency: 3, Gzip: true, SkipZero: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.data, img) {
		t.Fatal("drive differs from the stream")
	}
	if res.Read != int64(len(img)) || sum.ZeroBytesSkipped == 0 || res.DataBytes+sum.ZeroBytesSkipped != int64(len(img)) {
		t.Errorf("result %+v, summary %+v", res, sum)
	}
	if m := d.maxInFlight.Load(); m > 3 {
		t.Errorf("%d requests in flight, want at most 3", m)
	}
}

func TestUploadStreamShorterReadsAsZeros(t *testing.T) {
	img := streamImage(300 << 10)
	size := int64(1 << 20)
	d := newMemDrive(size)
	for i := range d.data {
		d.data[i] = 0xff // a drive that does not read as zeros: every chunk is sent
	}
	if _, _, err := UploadStream(context.Background(), bytes.NewReader(img), 0, chunker.Plan(size, 64<<10, true), d, Options{}); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, img...), make([]byte, size-int64(len(img)))...)
	if !bytes.Equal(d.data, want) {
		t.Fatal("the drive past the stream's end is not zeros")
	}
	_, _, err := UploadStream(context.Background(), bytes.NewReader(img), size, chunker.Plan(size, 64<<10, true), newMemDrive(size), Options{})
	if !errors.Is(err, ErrStreamTooShort) {
		t.Errorf("stream shorter than its recorded size: %v, want ErrStreamTooShort", err)
	}
}

func TestUploadStreamTooLongNeverOverfills(t *testing.T) {
	img := streamImage(1<<20 + 1)
	size := int64(1 << 20)
	d := newMemDrive(size)
	_, _, err := UploadStream(context.Background(), bytes.NewReader(img), 0, chunker.Plan(size, 64<<10, false), d, Options{})
	if !errors.Is(err, ErrStreamTooLong) {
		t.Fatalf("err %v, want ErrStreamTooLong", err)
	}
	if !bytes.Equal(d.data, img[:size]) {
		t.Error("the drive does not hold the stream's first bytes")
	}
}

func TestUploadStreamResumeSendsOnlyMissing(t *testing.T) {
	img := streamImage(1 << 20)
	pieces := chunker.Plan(int64(len(img)), 64<<10, false)
	done := DoneMap{}
	for _, p := range pieces[:8] {
		done[p.Index] = chunker.Hash(img[p.Offset:p.End()])
	}
	d := newMemDrive(int64(len(img)))
	copy(d.data, img[:pieces[8].Offset])
	var acked atomic.Int64
	o := Options{Done: done, OnChunkDone: func(int, uint64) { acked.Add(1) }}
	if _, _, err := UploadStream(context.Background(), bytes.NewReader(img), 0, pieces, d, o); err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces[:8] {
		if d.puts[p.Index] != 0 {
			t.Errorf("done chunk %d sent again", p.Index)
		}
	}
	if !bytes.Equal(d.data, img) || acked.Load() != int64(len(pieces)-8) {
		t.Errorf("drive differs, or %d chunks acknowledged of %d", acked.Load(), len(pieces)-8)
	}

	changed := append([]byte{}, img...)
	changed[3] ^= 1
	d2 := newMemDrive(int64(len(img)))
	_, _, err := UploadStream(context.Background(), bytes.NewReader(changed), 0, pieces, d2, Options{Done: done})
	if !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("changed stream: %v, want ErrSourceChanged", err)
	}
	if len(d2.puts) != 0 {
		t.Errorf("a changed stream sent %d chunks", len(d2.puts))
	}
}

func TestUploadStreamSinkFailureStops(t *testing.T) {
	img := streamImage(2 << 20)
	d := newMemDrive(int64(len(img)))
	d.fault = func(ctx context.Context, p chunker.Piece, call int) error {
		if p.Index == 5 {
			return errBad
		}
		return nil
	}
	_, _, err := UploadStream(context.Background(), bytes.NewReader(img), 0, chunker.Plan(int64(len(img)), 64<<10, false), d,
		Options{Concurrency: 2, Retry: fastRetry})
	if !errors.Is(err, errBad) {
		t.Fatalf("err %v, want the sink's", err)
	}
}
