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

// randomBytes is n bytes without a zero chunk, so every piece is read and
// sent.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range b {
		b[i] = byte(r.Uint32() | 1)
	}
	return b
}

// TestUploadReadsNextPieceWhileSending: with one connection, the piece
// after the one being sent is read before that request ends, so the link
// never waits for the disk; and memory stays at one buffer more than the
// pieces in flight.
func TestUploadReadsNextPieceWhileSending(t *testing.T) {
	for _, c := range []int{1, 3} {
		const pieces = 12
		data := randomBytes(pieces * testChunk)
		img := &countingReader{r: bytes.NewReader(data)}
		ps := chunker.Plan(int64(len(data)), testChunk, false)
		d := newMemDrive(int64(len(data)))
		errNoReadAhead := errors.New("the next piece was not read while this one was sent")
		var maxHeld int64 // guarded by d.mu
		d.fault = func(ctx context.Context, p chunker.Piece, _ int) error {
			d.mu.Lock()
			var sent int64
			for _, n := range d.puts {
				sent += int64(n)
			}
			// Pieces read and not yet acknowledged hold a buffer each.
			maxHeld = max(maxHeld, img.reads.Load()-sent)
			d.mu.Unlock()
			if p.Index == pieces-1 {
				return nil
			}
			for deadline := time.Now().Add(2 * time.Second); img.reads.Load() < int64(p.Index)+2; {
				if time.Now().After(deadline) {
					return errNoReadAhead
				}
				time.Sleep(time.Millisecond)
			}
			return nil
		}
		_, err := Upload(context.Background(), img, ps, d, Options{Concurrency: c, Retry: RetryPolicy{Attempts: 1}})
		if err != nil {
			t.Fatalf("-c %d: %v", c, err)
		}
		if !bytes.Equal(d.data, data) {
			t.Fatalf("-c %d: drive differs from the image", c)
		}
		d.mu.Lock()
		held := maxHeld
		d.mu.Unlock()
		if held > int64(c)+1 {
			t.Errorf("-c %d: %d pieces read and unacknowledged at once, want at most %d", c, held, c+1)
		}
	}
}
