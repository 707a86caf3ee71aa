package transfer

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
)

// memDrive is an in-memory drive behind fault-injecting Sink and Source
// implementations.
type memDrive struct {
	mu   sync.Mutex
	data []byte
	puts map[int]int // successful puts per piece index

	inFlight, maxInFlight atomic.Int64

	// fault, when set, is asked before every request; a non-nil error
	// fails it. calls counts requests per piece (1-based on first call).
	fault func(ctx context.Context, p chunker.Piece, call int) error
	calls map[int]int
}

func newMemDrive(size int64) *memDrive {
	return &memDrive{data: make([]byte, size), puts: map[int]int{}, calls: map[int]int{}}
}

func (d *memDrive) enter(ctx context.Context, p chunker.Piece) error {
	n := d.inFlight.Add(1)
	for {
		m := d.maxInFlight.Load()
		if n <= m || d.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	d.mu.Lock()
	d.calls[p.Index]++
	call := d.calls[p.Index]
	d.mu.Unlock()
	if d.fault != nil {
		return d.fault(ctx, p, call)
	}
	return nil
}

func (d *memDrive) Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error {
	defer d.inFlight.Add(-1)
	if err := d.enter(ctx, p); err != nil {
		return err
	}
	data := body
	if gzipped {
		buf := make([]byte, p.Length)
		n, err := chunker.Decompress(buf, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%w: %v", providers.ErrInvalid, err)
		}
		data = buf[:n]
	}
	if int64(len(data)) != p.Length {
		return fmt.Errorf("%w: piece %d: %d bytes, want %d", providers.ErrInvalid, p.Index, len(data), p.Length)
	}
	d.mu.Lock()
	copy(d.data[p.Offset:], data)
	d.puts[p.Index]++
	d.mu.Unlock()
	return nil
}

func (d *memDrive) ReadPiece(ctx context.Context, p chunker.Piece, dst []byte) error {
	defer d.inFlight.Add(-1)
	if err := d.enter(ctx, p); err != nil {
		return err
	}
	d.mu.Lock()
	copy(dst, d.data[p.Offset:p.End()])
	d.mu.Unlock()
	return nil
}

func (d *memDrive) MaxPiece() int64 { return 4 << 20 }

// stall blocks until ctx ends, like a request whose peer went silent.
func stall(ctx context.Context) error {
	<-ctx.Done()
	return fmt.Errorf("request: %w", ctx.Err())
}

var errBusy = &providers.APIError{Op: "write", Status: 503, Message: "busy"}

var errBad = &providers.APIError{Op: "write", Status: 400, Message: "bad offset"}

// fastRetry keeps retrying tests quick.
var fastRetry = RetryPolicy{Attempts: 5, Base: time.Millisecond, Max: 5 * time.Millisecond}
