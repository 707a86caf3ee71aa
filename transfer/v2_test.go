package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
)

// fakeV2 is an API 2.0 drive: chunked upload, direct upload and signed-URL
// downloads with the faults a real storage host shows: URLs that expire,
// Range ignored, connections reset in the middle of a body.
type fakeV2 struct {
	mu     sync.Mutex
	data   []byte
	chunks map[int]bool // chunk numbers stored
	puts   map[int]int  // PutChunk calls per chunk number

	// Download URLs: only generation urlGen is valid; after expireAt uses
	// (0: never) it expires too.
	urlGen    int
	urlUses   int
	expireAt  int
	never     bool // no URL is ever valid
	refreshes atomic.Int64
	urlDelay  time.Duration // DownloadURL takes this long

	noRange   bool    // answer every request with the whole image
	resetRate float64 // fraction of bodies cut short with ECONNRESET
	resetN    int64   // the first resetN bodies are cut after a third
	rng       *rand.Rand
	opens     atomic.Int64
	ranged    atomic.Int64 // requests that asked for a range

	// Direct upload: attempts that fail with a reset after reading half
	// the body before one succeeds.
	directFailures int
	directCalls    int
}

func newFakeV2(data []byte) *fakeV2 {
	return &fakeV2{data: data, chunks: map[int]bool{}, puts: map[int]int{}, rng: rand.New(rand.NewPCG(3, 4))}
}

func (f *fakeV2) InitUpload(context.Context, string, int64) (providers.Drive, error) {
	return providers.Drive{UUID: "d", Status: "uploading"}, nil
}

func (f *fakeV2) ChunkStored(_ context.Context, _ string, c providers.UploadChunk) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chunks[c.Number], nil
}

func (f *fakeV2) PutChunk(_ context.Context, _ string, c providers.UploadChunk, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := int64(len(f.data)) / c.ChunkSize
	want := c.ChunkSize
	if int64(c.Number) == max(n, 1) {
		want = int64(len(f.data)) - int64(c.Number-1)*c.ChunkSize
	}
	if int64(len(data)) != want || c.TotalSize != int64(len(f.data)) || c.Identifier == "" {
		return fmt.Errorf("%w: chunk %d of %d bytes, want %d", providers.ErrInvalid, c.Number, len(data), want)
	}
	copy(f.data[int64(c.Number-1)*c.ChunkSize:], data)
	f.chunks[c.Number] = true
	f.puts[c.Number]++
	return nil
}

func (f *fakeV2) UploadDirect(ctx context.Context, _ string, body io.Reader, size int64) (string, error) {
	f.mu.Lock()
	f.directCalls++
	fail := f.directCalls <= f.directFailures
	f.mu.Unlock()
	buf := make([]byte, size)
	if fail {
		_, _ = io.ReadFull(body, buf[:size/2])
		return "", fmt.Errorf("direct upload: %w", syscall.ECONNRESET)
	}
	if _, err := io.ReadFull(body, buf); err != nil {
		return "", err
	}
	if n, _ := body.Read(make([]byte, 1)); n != 0 {
		return "", errors.New("body longer than its size")
	}
	f.mu.Lock()
	f.data = buf
	f.mu.Unlock()
	return "new-drive", nil
}

func (f *fakeV2) DownloadURL(context.Context, string) (string, error) {
	time.Sleep(f.urlDelay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urlGen++
	f.urlUses = 0
	f.refreshes.Add(1)
	return fmt.Sprintf("https://storage.example/u%d", f.urlGen), nil
}

// expireNow invalidates the current URL at once.
func (f *fakeV2) expireNow() {
	f.mu.Lock()
	f.urlGen += 1000
	f.mu.Unlock()
}

var errExpired = fmt.Errorf("%w: %w", providers.ErrExpired, &providers.APIError{Op: "download range", Status: 403})

func (f *fakeV2) OpenRange(_ context.Context, u string, off, length int64) (*providers.RangeReader, error) {
	nth := f.opens.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if u != fmt.Sprintf("https://storage.example/u%d", f.urlGen) {
		return nil, errExpired
	}
	f.urlUses++
	if f.never || (f.expireAt > 0 && f.urlUses > f.expireAt) {
		return nil, errExpired
	}
	size := int64(len(f.data))
	if length < 0 {
		length = size - off
	}
	if off > 0 || length != size {
		f.ranged.Add(1)
	}
	if f.noRange {
		off, length = 0, size
	}
	b := bytes.Clone(f.data[off : off+length])
	var r io.Reader = bytes.NewReader(b)
	if nth <= f.resetN {
		r = io.MultiReader(bytes.NewReader(b[:length/3]), errReader{syscall.ECONNRESET})
	} else if f.resetRate > 0 && f.rng.Float64() < f.resetRate {
		r = io.MultiReader(bytes.NewReader(b[:f.rng.Int64N(length)]), errReader{syscall.ECONNRESET})
	}
	return &providers.RangeReader{Body: io.NopCloser(r), Offset: off, Length: length, Total: size, Name: "../../etc/passwd"}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestResumableSinkRoundTrip(t *testing.T) {
	const size = 10*testChunk + 999 // the last chunk carries the remainder
	path, want := mixedImage(t, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pieces, err := PlanResumable(f, size, testChunk)
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 10 || pieces[9].Length != testChunk+999 {
		t.Fatalf("plan: %d pieces, last %d bytes", len(pieces), pieces[len(pieces)-1].Length)
	}
	id, err := ResumableIdentifier(f, size, testChunk)
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeV2(make([]byte, size))
	fake.chunks[3] = true // an earlier run stored chunk 3
	copy(fake.data[2*testChunk:3*testChunk], want[2*testChunk:3*testChunk])
	sink := ResumableSink{U: fake, Drive: "d", ChunkSize: testChunk, TotalSize: size, Identifier: id, Filename: "img"}
	// Gzip and SkipZero are forced off: the protocol needs every chunk raw.
	sum, err := UploadResumable(context.Background(), f, pieces, sink, Options{AskStored: true, Concurrency: 4, Gzip: true, SkipZero: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ChunksSkipped != 1 || sum.ZeroBytesSkipped != 0 {
		t.Errorf("summary %+v: want chunk 3 skipped as stored, no zero chunk skipped", sum)
	}
	if !bytes.Equal(fake.data, want) {
		t.Fatal("drive differs")
	}
	for k := 1; k <= 10; k++ {
		if want := map[bool]int{true: 0, false: 1}[k == 3]; fake.puts[k] != want {
			t.Errorf("chunk %d sent %d times, want %d", k, fake.puts[k], want)
		}
	}
}

func TestResumableSinkRefusesGzip(t *testing.T) {
	err := ResumableSink{U: newFakeV2(nil)}.Put(context.Background(), chunker.Piece{}, nil, true)
	if !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("err = %v", err)
	}
}

func TestResumableIdentifierStable(t *testing.T) {
	const size = 5*testChunk + 7
	path, data := mixedImage(t, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ResumableIdentifier(f, size, testChunk)
	if err != nil {
		t.Fatal(err)
	}
	// Touching or renaming the file keeps the identifier.
	if err := os.Chtimes(path, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b, _ := ResumableIdentifier(f, size, testChunk)
	if a != b {
		t.Errorf("identifier changed after touch: %s, %s", a, b)
	}
	// Another content in the last chunk, or another chunk size, changes it.
	other := bytes.Clone(data)
	other[size-1] ^= 1
	c, _ := ResumableIdentifier(bytes.NewReader(other), size, testChunk)
	d, _ := ResumableIdentifier(f, size, 2*testChunk)
	if c == a || d == a {
		t.Errorf("identifiers %s %s %s should differ", a, c, d)
	}
	if _, err := ResumableIdentifier(f, 0, testChunk); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("empty image: %v", err)
	}
}

func TestRangedSourceRefreshesExpiredURLs(t *testing.T) {
	const size = 40*testChunk + 999
	_, want := mixedImage(t, size)
	fake := newFakeV2(want)
	fake.expireAt = 5 // every URL is good for five requests
	src := NewRangedSource(fake, "d")
	out := filepath.Join(t.TempDir(), "out")
	if _, err := DownloadFile(context.Background(), src, size, out, FileOptions{ChunkSize: testChunk}, Options{Concurrency: 8}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatal("download differs")
	}
	// 41 ranges at 5 per URL need at least 9 URLs; refreshing once per
	// failed request would need up to 8 more per expiry.
	if n := fake.refreshes.Load(); n < 9 || n > 20 {
		t.Errorf("%d URL refreshes for 41 ranges expiring every 5 uses", n)
	}
}

// blockingDownloader holds every OpenRange until the URL is replaced, so all
// workers fail with an expired URL at the same moment.
func TestRangedSourceSingleFlightRefresh(t *testing.T) {
	fake := newFakeV2(bytes.Repeat([]byte{1}, 8*testChunk))
	fake.urlDelay = 20 * time.Millisecond
	src := NewRangedSource(fake, "d")
	if _, err := src.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.expireNow()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := chunker.Piece{Index: i, Offset: int64(i) * testChunk, Length: testChunk}
			errs <- src.ReadPiece(context.Background(), p, make([]byte, testChunk))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.refreshes.Load(); n != 2 {
		t.Errorf("%d DownloadURL calls, want 2 (the first and one shared refresh)", n)
	}
}

func TestRangedSourceGivesUpOnURLsThatAlwaysExpire(t *testing.T) {
	fake := newFakeV2(make([]byte, testChunk))
	fake.never = true
	src := NewRangedSource(fake, "d")
	err := src.ReadPiece(context.Background(), chunker.Piece{Length: testChunk}, make([]byte, testChunk))
	if !errors.Is(err, providers.ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired", err)
	}
	if n := fake.refreshes.Load(); n != 1+maxURLRefreshes {
		t.Errorf("%d refreshes, want %d", n, 1+maxURLRefreshes)
	}
}

func TestRangedSourceRangeIgnored(t *testing.T) {
	const size = 8 * testChunk
	_, want := mixedImage(t, size)
	fake := newFakeV2(want)
	fake.noRange = true
	src := NewRangedSource(fake, "d")
	info, err := src.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Ranges || info.Total != size || info.Name != "../../etc/passwd" {
		t.Errorf("probe %+v: want no ranges, total %d and the server's name", info, size)
	}
	out := filepath.Join(t.TempDir(), "out")
	_, err = DownloadFile(context.Background(), src, size, out, FileOptions{ChunkSize: testChunk}, Options{Concurrency: 4, Retry: fastRetry})
	if !errors.Is(err, ErrRangeIgnored) {
		t.Fatalf("err = %v, want ErrRangeIgnored", err)
	}
	if providers.IsRetryable(err) {
		t.Error("ErrRangeIgnored must not be retried")
	}
}

func TestStreamFileWithResetsAndExpiry(t *testing.T) {
	const size = 30*testChunk + 4321
	_, want := mixedImage(t, size)
	for _, tc := range []struct {
		name    string
		noRange bool
	}{{"ranges", false}, {"no ranges", true}} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeV2(want)
			fake.noRange = tc.noRange
			fake.resetN = 5
			fake.expireAt = 2 // the URL expires during the stream
			src := NewRangedSource(fake, "d")
			out := filepath.Join(t.TempDir(), "out")
			var acked atomic.Int64
			var done sync.Map
			sum, err := StreamFile(context.Background(), src, size, out, FileOptions{ChunkSize: testChunk},
				Options{Retry: RetryPolicy{Attempts: 20, Base: time.Millisecond, Max: 2 * time.Millisecond},
					Progress:    ProgressFunc(func(n int64) { acked.Add(n) }),
					OnChunkDone: func(i int, h uint64) { done.Store(i, h) }})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(out)
			if !bytes.Equal(got, want) {
				t.Fatal("stream differs")
			}
			if _, err := os.Stat(out + ".part"); !errors.Is(err, os.ErrNotExist) {
				t.Error(".part left behind")
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
			if acked.Load() != size || sum.Retries == 0 || fake.refreshes.Load() < 2 {
				t.Errorf("progress %d, summary %+v, %d refreshes: want all bytes, retries and refreshes",
					acked.Load(), sum, fake.refreshes.Load())
			}
			if sum.ZeroBytesSkipped == 0 {
				t.Error("no zero chunk left as a hole")
			}
			for i, p := range chunker.Plan(size, testChunk, false) {
				if h, ok := done.Load(i); !ok || h.(uint64) != chunker.Hash(want[p.Offset:p.End()]) {
					t.Errorf("chunk %d: hash %v, ok %v", i, h, ok)
				}
			}
			if tc.noRange {
				if sum.WireBytes <= size {
					t.Errorf("wire %d: restarts without Range re-read the start", sum.WireBytes)
				}
			} else if fake.ranged.Load() == 0 {
				t.Error("no Range request after a reset")
			}
		})
	}
}

func TestStreamFileResumesAfterDonePrefix(t *testing.T) {
	const size = 10 * testChunk
	_, want := mixedImage(t, size)
	out := filepath.Join(t.TempDir(), "out")
	// An earlier run wrote the first four chunks.
	if err := os.WriteFile(out+".part", want[:4*testChunk], 0o600); err != nil {
		t.Fatal(err)
	}
	fake := newFakeV2(want)
	done := DoneMap{0: 0, 1: 0, 2: 0, 3: 0, 7: 0}
	sum, err := StreamFile(context.Background(), NewRangedSource(fake, "d"), size, out,
		FileOptions{ChunkSize: testChunk, Resume: true}, Options{Done: done})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatal("resumed stream differs")
	}
	if sum.ChunksSkipped != 4 || sum.WireBytes != 6*testChunk {
		t.Errorf("summary %+v: want 4 chunks skipped and 6 chunks read", sum)
	}
}

func TestStreamFileRefusesExistingFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(out, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := StreamFile(context.Background(), NewRangedSource(newFakeV2(make([]byte, 10)), "d"), 10, out, FileOptions{}, Options{})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamGivesUpWithoutProgress(t *testing.T) {
	fake := newFakeV2(make([]byte, 4*testChunk))
	fake.resetRate = 1
	fake.data[0] = 1
	// Bodies are cut at a random point, often 0: with two attempts and
	// no progress allowed between them the stream must fail, not spin.
	fake.rng = rand.New(rand.NewPCG(0, 0))
	out := filepath.Join(t.TempDir(), "out")
	_, err := StreamFile(context.Background(), NewRangedSource(fake, "d"), 4*testChunk, out, FileOptions{ChunkSize: testChunk},
		Options{Retry: RetryPolicy{Attempts: 1}})
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want the reset", err)
	}
}

func TestVerifyStream(t *testing.T) {
	const size = 9*testChunk + 11
	path, want := mixedImage(t, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fake := newFakeV2(bytes.Clone(want))
	fake.noRange = true
	if _, err := VerifyStream(context.Background(), f, NewRangedSource(fake, "d"), size, testChunk, Options{}); err != nil {
		t.Fatalf("identical: %v", err)
	}
	fake.data[5*testChunk+3] ^= 0xff
	_, err = VerifyStream(context.Background(), f, NewRangedSource(fake, "d"), size, testChunk, Options{})
	var mm *MismatchError
	if !errors.As(err, &mm) || len(mm.Offsets) != 1 || mm.Offsets[0] != 5*testChunk {
		t.Fatalf("err = %v, want a mismatch at %d", err, 5*testChunk)
	}
}

func TestUploadDirectRetriesFromTheStart(t *testing.T) {
	const size = 20*testChunk + 5
	path, want := mixedImage(t, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fake := newFakeV2(nil)
	fake.directFailures = 2
	var acked atomic.Int64
	var backwards atomic.Bool
	id, sum, err := UploadDirect(context.Background(), fake, "img", f, size, Options{Retry: fastRetry,
		Progress: ProgressFunc(func(n int64) {
			if n <= 0 {
				backwards.Store(true)
			}
			acked.Add(n)
		})})
	if err != nil {
		t.Fatal(err)
	}
	if id != "new-drive" || !bytes.Equal(fake.data, want) {
		t.Fatalf("id %q, data equal %v", id, bytes.Equal(fake.data, want))
	}
	if sum.Retries != 2 || sum.WireBytes != size+2*(size/2) || acked.Load() != size || backwards.Load() {
		t.Errorf("summary %+v, progress %d: want 2 retries, two half bodies and one whole on the wire", sum, acked.Load())
	}
}

func TestDownloadSegments(t *testing.T) {
	const size = 50*testChunk + 77
	_, want := mixedImage(t, size)
	fake := newFakeV2(want)
	fake.resetN = 6
	fake.expireAt = 7
	out := filepath.Join(t.TempDir(), "out")
	var acked atomic.Int64
	var done sync.Map
	sum, err := DownloadSegments(context.Background(), NewRangedSource(fake, "d"), size, out, FileOptions{ChunkSize: testChunk},
		Options{Concurrency: 4, Retry: fastRetry,
			Progress:    ProgressFunc(func(n int64) { acked.Add(n) }),
			OnChunkDone: func(i int, h uint64) { done.Store(i, h) }})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatal("segmented download differs")
	}
	if acked.Load() != size || sum.Retries == 0 || fake.refreshes.Load() < 2 {
		t.Errorf("progress %d, summary %+v, %d refreshes", acked.Load(), sum, fake.refreshes.Load())
	}
	for i, p := range chunker.Plan(size, testChunk, false) {
		if h, ok := done.Load(i); !ok || h.(uint64) != chunker.Hash(want[p.Offset:p.End()]) {
			t.Errorf("chunk %d: hash %v, ok %v", i, h, ok)
		}
	}
	// 51 chunks over 4 workers: segments of 13, so a handful of requests
	// (plus the resets) rather than one per chunk.
	if n := fake.opens.Load(); n > 4+6+4 {
		t.Errorf("%d requests for 51 chunks", n)
	}
}

func TestDownloadSegmentsResumesAroundDoneChunks(t *testing.T) {
	const size = 20 * testChunk
	_, want := mixedImage(t, size)
	out := filepath.Join(t.TempDir(), "out")
	// An earlier run left chunks 2, 3 and 10 in the part file, and garbage
	// where chunk 5 (a zero chunk) goes.
	part := make([]byte, size)
	copy(part[2*testChunk:4*testChunk], want[2*testChunk:4*testChunk])
	copy(part[10*testChunk:11*testChunk], want[10*testChunk:11*testChunk])
	for i := 5 * testChunk; i < 6*testChunk; i++ {
		part[i] = 0xee
	}
	if err := os.WriteFile(out+".part", part, 0o600); err != nil {
		t.Fatal(err)
	}
	fake := newFakeV2(want)
	sum, err := DownloadSegments(context.Background(), NewRangedSource(fake, "d"), size, out,
		FileOptions{ChunkSize: testChunk, Resume: true}, Options{Concurrency: 3, Done: DoneMap{2: 0, 3: 0, 10: 0}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatal("resumed segmented download differs")
	}
	if sum.ChunksSkipped != 3 || sum.WireBytes != 17*testChunk {
		t.Errorf("summary %+v: want 3 chunks skipped, 17 read", sum)
	}
}

func TestDownloadSegmentsRangeIgnored(t *testing.T) {
	const size = 12 * testChunk
	_, want := mixedImage(t, size)
	fake := newFakeV2(want)
	fake.noRange = true
	_, err := DownloadSegments(context.Background(), NewRangedSource(fake, "d"), size, filepath.Join(t.TempDir(), "out"),
		FileOptions{ChunkSize: testChunk}, Options{Concurrency: 4, Retry: fastRetry})
	if !errors.Is(err, ErrRangeIgnored) {
		t.Fatalf("err = %v, want ErrRangeIgnored", err)
	}
}

func TestSegments(t *testing.T) {
	ps := chunker.Plan(100*testChunk, testChunk, false)
	segs := segments(ps, DoneMap{0: 0, 50: 0}, 8)
	n := 0
	for _, sg := range segs {
		if sg[1]-sg[0] > segmentChunks || sg[0] >= sg[1] || (sg[0] <= 50 && 50 < sg[1]) {
			t.Errorf("bad segment %v", sg)
		}
		n += sg[1] - sg[0]
	}
	if n != 98 || len(segs) < 8 {
		t.Errorf("%d chunks in %d segments", n, len(segs))
	}
	if segs := segments(ps[:3], nil, 8); len(segs) != 3 {
		t.Errorf("3 chunks for 8 workers: %v", segs)
	}
}

// refusingUploader refuses every chunk as the API refuses one sent after
// the upload completed, and reports chunks stored as told.
type refusingUploader struct {
	stored    bool
	storedErr error
}

func (refusingUploader) InitUpload(context.Context, string, int64) (providers.Drive, error) {
	return providers.Drive{}, nil
}

func (u refusingUploader) ChunkStored(context.Context, string, providers.UploadChunk) (bool, error) {
	return u.stored, u.storedErr
}

func (refusingUploader) PutChunk(context.Context, string, providers.UploadChunk, []byte) error {
	return &providers.APIError{Op: "upload chunk", Status: 400, Message: "drive is not being uploaded in chunks"}
}

func TestResumableSinkRefusedButStored(t *testing.T) {
	ctx := context.Background()
	put := func(u refusingUploader) error {
		return ResumableSink{U: u, Drive: "d", ChunkSize: 4, TotalSize: 8}.Put(ctx, chunker.Piece{Index: 1, Offset: 4, Length: 4}, []byte("abcd"), false)
	}
	if err := put(refusingUploader{stored: true}); err != nil {
		t.Errorf("refused but stored: %v, want done", err)
	}
	for _, u := range []refusingUploader{{}, {stored: true, storedErr: errors.New("unreachable")}} {
		if err := put(u); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%+v: %v, want the refusal", u, err)
		}
	}
}
