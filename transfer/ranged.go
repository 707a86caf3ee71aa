package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
)

// ErrRangeIgnored is returned by RangedSource when the server answered a
// ranged request with the whole image (200 instead of 206): parallel ranges
// are impossible there and the caller falls back to one stream (StreamFile).
// It is not retryable: asking again gets the same answer.
var ErrRangeIgnored = errors.New("the download server ignores Range requests")

// maxURLRefreshes bounds how often one request asks for a fresh transfer
// URL in a row. A URL that expires again as soon as it was fetched (a clock
// far off, a server refusing every signature) would otherwise loop forever.
const maxURLRefreshes = 3

// RangedSource reads a drive through API 2.0's download: the API redirects
// to a signed, expiring URL on a storage host, which serves byte ranges.
// The URL is asked for once and shared by all workers. When the storage
// host refuses it (providers.ErrExpired), the first worker to notice asks
// the API for a fresh one while the others wait for that same answer (a
// single flight), and every failed request is repeated with the new URL.
//
// Credentials never go to the storage host: the Downloader only sends them
// to the API's own hosts. A RangedSource is safe for concurrent use.
type RangedSource struct {
	d     providers.Downloader
	drive string

	mu      sync.Mutex
	url     string
	gen     uint64   // bumped on every new URL, so a stale failure refreshes once
	pending *urlCall // the refresh in flight, if any
}

// urlCall is one request for a fresh URL that several workers wait for.
type urlCall struct {
	done chan struct{}
	url  string
	gen  uint64
	err  error
}

var _ Source = (*RangedSource)(nil)

// NewRangedSource returns a source reading drive through d.
func NewRangedSource(d providers.Downloader, drive string) *RangedSource {
	return &RangedSource{d: d, drive: drive}
}

// Drive returns the UUID of the drive the source reads.
func (s *RangedSource) Drive() string { return s.drive }

// currentURL returns the shared URL and its generation, fetching the first
// one if there is none yet.
func (s *RangedSource) currentURL(ctx context.Context) (string, uint64, error) {
	s.mu.Lock()
	u, gen := s.url, s.gen
	s.mu.Unlock()
	if u != "" {
		return u, gen, nil
	}
	return s.refresh(ctx, gen)
}

// refresh replaces the URL of generation stale with a fresh one. If another
// worker already replaced it, its URL is returned at once; if a refresh is
// in flight, the caller waits for it instead of sending its own.
func (s *RangedSource) refresh(ctx context.Context, stale uint64) (string, uint64, error) {
	for {
		s.mu.Lock()
		if s.url != "" && s.gen != stale {
			u, gen := s.url, s.gen
			s.mu.Unlock()
			return u, gen, nil
		}
		if call := s.pending; call != nil {
			s.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return "", 0, context.Cause(ctx)
			}
			if call.err != nil && ctx.Err() == nil && isContextError(call.err) {
				// The worker that asked gave up (its own attempt was
				// cancelled or stalled); this one still wants a URL.
				continue
			}
			return call.url, call.gen, call.err
		}
		call := &urlCall{done: make(chan struct{})}
		s.pending = call
		s.mu.Unlock()

		u, err := s.d.DownloadURL(ctx, s.drive)

		s.mu.Lock()
		if err == nil {
			s.url = u
			s.gen++
		}
		call.url, call.gen, call.err = s.url, s.gen, err
		s.pending = nil
		s.mu.Unlock()
		close(call.done)
		return call.url, call.gen, call.err
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, providers.ErrStalled)
}

// Open requests length bytes at off (length < 0: to the end) through the
// shared URL, asking for a fresh URL when the storage host refuses it. The
// caller closes the body. Whether the server honoured the range is for the
// caller to check (RangeReader.Offset and Length).
func (s *RangedSource) Open(ctx context.Context, off, length int64) (*providers.RangeReader, error) {
	u, gen, err := s.currentURL(ctx)
	if err != nil {
		return nil, err
	}
	for refreshes := 0; ; refreshes++ {
		rr, err := s.d.OpenRange(ctx, u, off, length)
		if err == nil {
			return rr, nil
		}
		if !errors.Is(err, providers.ErrExpired) || refreshes == maxURLRefreshes {
			return nil, err
		}
		if u, gen, err = s.refresh(ctx, gen); err != nil {
			return nil, err
		}
	}
}

// RangeInfo is what Probe learns about a download.
type RangeInfo struct {
	// Ranges is true when the storage host answers ranges with 206.
	Ranges bool
	// Total is the image size the server reported, -1 when unknown.
	Total int64
	// Name is the file name of Content-Disposition, unsanitised (pass it
	// through api2.SafeFileName before using it), "" when there is none.
	Name string
}

// Probe asks for the first byte of the image to learn whether the storage
// host honours Range, the image's size and the file name it suggests. A
// server that ignores Range starts sending the whole image; the connection
// is closed after the headers.
func (s *RangedSource) Probe(ctx context.Context) (RangeInfo, error) {
	rr, err := s.Open(ctx, 0, 1)
	if err != nil {
		return RangeInfo{}, err
	}
	defer rr.Body.Close()
	return RangeInfo{Ranges: rr.Offset == 0 && rr.Length == 1, Total: rr.Total, Name: rr.Name}, nil
}

// ReadPiece fetches the piece's range into dst. A 200 answer with the whole
// image fails with ErrRangeIgnored; a body shorter than the range fails with
// io.ErrUnexpectedEOF, which the retry wrapper repeats.
func (s *RangedSource) ReadPiece(ctx context.Context, p chunker.Piece, dst []byte) error {
	rr, err := s.Open(ctx, p.Offset, p.Length)
	if err != nil {
		return err
	}
	defer rr.Body.Close()
	switch {
	case rr.Offset != p.Offset || rr.Length > p.Length:
		return fmt.Errorf("range at %d: %w", p.Offset, ErrRangeIgnored)
	case rr.Length >= 0 && rr.Length < p.Length:
		// The drive is shorter than planned: repeating will not help.
		return fmt.Errorf("range at %d: the server sent %d bytes of the %d asked for", p.Offset, rr.Length, p.Length)
	}
	if _, err := io.ReadFull(providers.ProgressReader(ctx, rr.Body), dst[:p.Length]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("range at %d: %w", p.Offset, err)
	}
	return nil
}

// MaxPiece is unlimited: a range may be any length.
func (s *RangedSource) MaxPiece() int64 { return 0 }
