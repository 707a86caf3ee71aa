package backupstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

const testChunk = 64 << 10

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := create(context.Background(), filepath.Join(t.TempDir(), "store"), testChunk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// image returns n chunks of random data with some chunks of zeros, a chunk
// repeated, and a short tail.
func image(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	img := make([]byte, n*testChunk+testChunk/3)
	for i := range img {
		img[i] = byte(r.Uint32())
	}
	clear(img[2*testChunk : 4*testChunk])               // two zero chunks
	copy(img[5*testChunk:6*testChunk], img[:testChunk]) // a chunk stored once
	return img
}

func src(drive string, t time.Time, img []byte) Source {
	return Source{Drive: drive, Name: "web", Time: t, Size: int64(len(img))}
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func restore(t *testing.T, s *Store, m *Manifest) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Restore(context.Background(), m, f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutChunkWritesOnceAndSkipsZeros(t *testing.T) {
	s := newStore(t)
	data := bytes.Repeat([]byte("drivecp "), 1000)
	h, n, err := s.PutChunk(data)
	if err != nil || n == 0 {
		t.Fatalf("first put: %d bytes, %v", n, err)
	}
	if h != sha256.Sum256(data) {
		t.Fatal("the chunk is not named by its SHA-256")
	}
	if n >= int64(len(data)) {
		t.Errorf("stored %d bytes for %d compressible ones", n, len(data))
	}
	before, _ := os.Stat(s.ChunkPath(h))
	if _, n, err := s.PutChunk(data); err != nil || n != 0 {
		t.Fatalf("second put wrote %d bytes (%v), want none", n, err)
	}
	after, _ := os.Stat(s.ChunkPath(h))
	if !os.SameFile(before, after) {
		t.Error("the chunk file was replaced")
	}
	if ok, _ := s.HasChunk(h); !ok {
		t.Error("HasChunk false after put")
	}
	got, err := s.GetChunk(h, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
	z, n, err := s.PutChunk(make([]byte, testChunk))
	if err != nil || n != 0 || !z.IsZeroChunk() {
		t.Fatalf("zero chunk: %v stored %d bytes, %v", z, n, err)
	}
	if u, _ := s.Usage(context.Background()); u.Chunks != 1 {
		t.Errorf("%d chunk files, want 1 (zeros are not stored)", u.Chunks)
	}
	if _, _, err := s.PutChunk(make([]byte, testChunk+1)); err == nil {
		t.Error("a chunk larger than the chunk size was accepted")
	}
}

func TestGetChunkNamesMissingAndCorruptChunks(t *testing.T) {
	s := newStore(t)
	data := []byte("some chunk")
	h, _, _ := s.PutChunk(data)
	other := sha256.Sum256([]byte("never stored"))
	_, err := s.GetChunk(other, nil)
	var ce *ChunkError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ce) || ce.Path != s.ChunkPath(other) {
		t.Fatalf("missing chunk: %v", err)
	}

	// Valid zstd of other bytes: decodes, but to the wrong content.
	enc, _ := zstd.NewWriter(nil)
	if err := os.WriteFile(s.ChunkPath(h), enc.EncodeAll([]byte("other bytes"), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetChunk(h, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("swapped content: %v, want ErrCorrupt", err)
	}
	// Garbage: does not decode.
	if err := os.WriteFile(s.ChunkPath(h), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetChunk(h, nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s.ChunkPath(h)) {
		t.Fatalf("garbage: %v, want ErrCorrupt naming the file", err)
	}
}

func TestBackupRestoreAndDedup(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	img := image(1, 20)
	t0 := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	m1, err := s.Backup(ctx, bytes.NewReader(img), src("d1", t0, img))
	if err != nil {
		t.Fatal(err)
	}
	if m1.SHA256 != sum(img) || m1.Size != int64(len(img)) || len(m1.Chunks) != 21 {
		t.Fatalf("manifest: size %d, %d chunks", m1.Size, len(m1.Chunks))
	}
	if !m1.Chunks[2].IsZeroChunk() || !m1.Chunks[3].IsZeroChunk() || m1.Chunks[5] != m1.Chunks[0] {
		t.Error("zero or repeated chunks not marked")
	}
	u1, _ := s.Usage(ctx)
	if u1.Chunks != 18 || u1.Bytes != m1.Added {
		t.Errorf("after one backup: %d chunk files (%d bytes), want 18 (%d bytes added)", u1.Chunks, u1.Bytes, m1.Added)
	}
	if got := restore(t, s, m1); !bytes.Equal(got, img) {
		t.Fatal("restore differs")
	}

	// Night two: one chunk rewritten.
	img2 := bytes.Clone(img)
	img2[7*testChunk+5] ^= 0xff
	m2, err := s.Backup(ctx, bytes.NewReader(img2), src("d1", t0.Add(24*time.Hour), img2))
	if err != nil {
		t.Fatal(err)
	}
	u2, _ := s.Usage(ctx)
	if u2.Chunks != 19 || m2.Added != u2.Bytes-u1.Bytes {
		t.Errorf("after the second backup: %d chunks, added %d (%d on disk), want 19", u2.Chunks, m2.Added, u2.Bytes-u1.Bytes)
	}
	if got := restore(t, s, m2); !bytes.Equal(got, img2) {
		t.Fatal("restore of the second backup differs")
	}
	if got := restore(t, s, m1); !bytes.Equal(got, img) {
		t.Fatal("restore of the first backup differs after the second")
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].ID != m1.ID || list[1].ID != m2.ID {
		t.Fatalf("list: %v", err)
	}
}

func TestRestoreLeavesHoles(t *testing.T) {
	s := newStore(t)
	img := make([]byte, 64*testChunk)
	copy(img, "start")
	copy(img[len(img)-10:], "end")
	m, err := s.Backup(context.Background(), bytes.NewReader(img), src("d1", time.Now(), img))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sparse.img")
	f, _ := os.Create(path)
	defer f.Close()
	if err := s.Restore(context.Background(), m, f); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if used := st.Blocks * 512; used > 8*testChunk {
		t.Errorf("restored file uses %d bytes for a %d-byte image of two data chunks: not sparse", used, len(img))
	}
}

func TestBackupRerunIsIdempotentAndCollisionGetsCounter(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	img := image(2, 6)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	m1, err := s.Backup(ctx, bytes.NewReader(img), src("0123456789ab", at, img))
	if err != nil {
		t.Fatal(err)
	}
	m1b, err := s.Backup(ctx, bytes.NewReader(img), src("0123456789ab", at, img))
	if err != nil || m1b.ID != m1.ID {
		t.Fatalf("rerun: %v, ID %s want %s", err, m1b.ID, m1.ID)
	}
	other := image(3, 6)
	m2, err := s.Backup(ctx, bytes.NewReader(other), src("0123456789ab", at, other))
	if err != nil || m2.ID != m1.ID+"_2" {
		t.Fatalf("same second, other image: %v, ID %q", err, m2.ID)
	}
	if list, _ := s.List(); len(list) != 2 {
		t.Errorf("%d backups, want 2", len(list))
	}
	if _, err := s.Backup(ctx, bytes.NewReader(img[:10]), src("x", at, img)); err == nil {
		t.Error("a short image was accepted")
	}
	if _, err := s.Backup(ctx, bytes.NewReader(append(img, 1)), src("y", at, img)); err == nil {
		t.Error("a long image was accepted")
	}
	if _, err := s.Load("../x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load of a path: %v", err)
	}
}

func TestCrashedBackupLeavesNoBackupAndPruneCleansUp(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	img := image(4, 8)
	kept, err := s.Backup(ctx, bytes.NewReader(img), src("d1", time.Now(), img))
	if err != nil {
		t.Fatal(err)
	}
	// A crashed backup: chunks written, a half-written chunk and a
	// half-written manifest left as temporaries, no manifest.
	for i := range 5 {
		if _, _, err := s.PutChunk(bytes.Repeat([]byte{byte(i + 1)}, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	h, _, _ := s.PutChunk([]byte("x"))
	os.WriteFile(filepath.Join(filepath.Dir(s.ChunkPath(h)), tempPrefix+"123"), []byte("torn"), 0o600)
	os.WriteFile(filepath.Join(s.Dir(), backupsDir, tempPrefix+"20260101T000000Z-d1-99"), []byte("{"), 0o600)
	if list, _ := s.List(); len(list) != 1 {
		t.Fatalf("%d backups listed, want only the complete one", len(list))
	}
	before, _ := s.Usage(ctx)

	dry, err := s.Prune(ctx, PruneOptions{DryRun: true})
	if err != nil || dry.Removed != 6 || dry.Temps != 2 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if u, _ := s.Usage(ctx); u != before {
		t.Fatal("a dry run removed chunks")
	}
	rep, err := s.Prune(ctx, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 6 || rep.Temps != 2 || rep.Kept != 6 || rep.Backups != 1 {
		t.Errorf("prune: %+v, want 6 removed, 2 temporaries, 6 kept", rep)
	}
	if got := restore(t, s, kept); !bytes.Equal(got, img) {
		t.Fatal("the kept backup no longer restores")
	}
	if r, err := s.Verify(ctx, kept); err != nil || !r.OK() {
		t.Fatalf("verify after prune: %+v %v", r, err)
	}
	// A dry run of forgetting it counts its chunks; forgetting it removes them.
	if rep, _ := s.Prune(ctx, PruneOptions{DryRun: true, Without: []string{kept.ID}}); rep.Removed != 6 || rep.Backups != 0 {
		t.Errorf("dry run without the backup: %+v", rep)
	}
	if err := s.Remove(kept.ID); err != nil {
		t.Fatal(err)
	}
	if rep, _ := s.Prune(ctx, PruneOptions{}); rep.Removed != 6 || rep.Kept != 0 {
		t.Errorf("prune after forget: %+v", rep)
	}
}

func TestPruneRefusesUnreadableManifest(t *testing.T) {
	s := newStore(t)
	h, _, _ := s.PutChunk([]byte("orphan"))
	os.WriteFile(filepath.Join(s.Dir(), backupsDir, "20260101T000000Z-bad.json"), []byte("{not json"), 0o600)
	if _, err := s.Prune(context.Background(), PruneOptions{}); err == nil {
		t.Fatal("prune ran beside an unreadable manifest")
	}
	if ok, _ := s.HasChunk(h); !ok {
		t.Error("prune removed a chunk although a manifest could not be read")
	}
}

func TestPruneNeedsTheStoreToItself(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	other, err := Open(ctx, s.Dir()) // a backup running beside
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, _ := s.PutChunk([]byte("orphan"))
	if _, err := s.Prune(ctx, PruneOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("prune beside an open store: %v, want ErrBusy", err)
	}
	if ok, _ := s.HasChunk(orphan); !ok {
		t.Fatal("a busy prune removed a chunk")
	}
	other.Close()
	if _, err := s.Prune(ctx, PruneOptions{}); err != nil {
		t.Fatalf("prune alone: %v", err)
	}
	// After the prune the store is shared again: another Open succeeds.
	o2, err := Open(ctx, s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	o2.Close()
}

func TestOpenWaitsForPrune(t *testing.T) {
	s := newStore(t)
	dir := s.Dir()
	s.Close()
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil { // a prune running
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Open(ctx, dir); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("open during a prune: %v, want to wait until the deadline", err)
	}
	time.AfterFunc(100*time.Millisecond, func() { f.Close() })
	o, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open after the prune: %v", err)
	}
	o.Close()
}

func TestOpenRefusesWhatIsNotAStore(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(context.Background(), dir); !errors.Is(err, ErrNotStore) {
		t.Errorf("open of an empty folder: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "photo.jpg"), []byte("x"), 0o600)
	if _, err := Create(context.Background(), dir); !errors.Is(err, ErrNotStore) {
		t.Errorf("create in a folder of other files: %v", err)
	}
}

func TestVerifyNamesBadChunks(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	img := image(5, 10)
	m, err := s.Backup(ctx, bytes.NewReader(img), src("d1", time.Now(), img))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Verify(ctx, m); err != nil || !r.OK() || r.Chunks != 8 {
		t.Fatalf("clean store: %+v %v", r, err)
	}
	bad := s.ChunkPath(m.Chunks[7])
	b, _ := os.ReadFile(bad)
	b[len(b)/2] ^= 0x55
	os.WriteFile(bad, b, 0o600)
	os.Remove(s.ChunkPath(m.Chunks[9]))
	r, err := s.Verify(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || len(r.Bad) != 2 || r.Bad[0].Path != bad || r.Bad[0].Index != 7 ||
		!errors.Is(r.Bad[0].Err, ErrCorrupt) || !errors.Is(r.Bad[1].Err, ErrNotFound) || r.Bad[1].Index != 9 {
		t.Fatalf("verify: %+v", r)
	}
	f, _ := os.Create(filepath.Join(t.TempDir(), "x"))
	defer f.Close()
	if err := s.Restore(ctx, m, f); !errors.Is(err, ErrCorrupt) {
		t.Errorf("restore of a damaged backup: %v, want ErrCorrupt", err)
	}
}

// TestImageReader: any range of a backup read through ImageReader is the
// image's, across chunk boundaries, zero chunks and the end; zero chunks
// are reported as such.
func TestImageReader(t *testing.T) {
	s := newStore(t)
	img := image(9, 10) // zeros in chunks 2 and 3, a short tail
	clear(img[4*testChunk : 5*testChunk])
	m, err := s.Backup(context.Background(), bytes.NewReader(img), src("d1", time.Now(), img))
	if err != nil {
		t.Fatal(err)
	}
	r := s.ImageReader(m)
	if !r.Zero(2) || !r.Zero(4) || r.Zero(1) || r.Zero(5) {
		t.Errorf("zero chunks: 1 %v, 2 %v, 4 %v, 5 %v", r.Zero(1), r.Zero(2), r.Zero(4), r.Zero(5))
	}
	for _, c := range []struct{ off, n int }{{0, 10}, {testChunk - 5, 10}, {3*testChunk - 7, 2*testChunk + 20},
		{0, len(img)}, {len(img) - 50, 50}} {
		got := make([]byte, c.n)
		if _, err := r.ReadAt(got, int64(c.off)); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if !bytes.Equal(got, img[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d bytes at %d) differs from the image", c.n, c.off)
		}
	}
	if n, err := r.ReadAt(make([]byte, 100), int64(len(img)-50)); n != 50 || !errors.Is(err, io.EOF) {
		t.Errorf("read past the end: %d, %v", n, err)
	}
}
