package driverecord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/chunker"
)

func hashOf(b byte) backupstore.Hash {
	if b == 0 {
		return backupstore.ZeroChunk
	}
	return backupstore.HashChunk([]byte{b})
}

func testRecord(chunks ...byte) *Record {
	r := &Record{Format: Format, Cloud: "cloudsigma", Endpoint: "127.0.0.1:1", Drive: "d1",
		Size: int64(len(chunks)) * 4, ChunkSize: 4, Source: FromUpload, Time: time.Unix(1, 0).UTC()}
	for _, b := range chunks {
		r.Chunks = append(r.Chunks, hashOf(b))
	}
	return r
}

func TestChangedSendsDifferingAndPendingChunks(t *testing.T) {
	r := testRecord(1, 2, 0, 4, 5)
	want := []backupstore.Hash{hashOf(1), hashOf(9), hashOf(0), hashOf(4), hashOf(0)}
	got, err := r.Changed(want)
	if err != nil || !slices.Equal(got, []int{1, 4}) {
		t.Fatalf("Changed = %v, %v; want [1 4]", got, err)
	}
	p := r.WithPending([]int{3, 1})
	if !slices.Equal(r.Pending, nil) {
		t.Fatalf("WithPending changed the original: %v", r.Pending)
	}
	if got, _ := p.Changed(want); !slices.Equal(got, []int{1, 3, 4}) {
		t.Fatalf("with 1 and 3 pending, Changed = %v; want [1 3 4]", got)
	}
	if _, err := r.Changed(want[:4]); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Changed with another chunk count: %v, want ErrMismatch", err)
	}
}

func TestSampleSkipsPendingAndPrefersEndsAndData(t *testing.T) {
	r := testRecord(1, 0, 0, 0, 2, 0, 3, 0).WithPending([]int{7})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		s := r.Sample(3, rng)
		if len(s) != 3 || s[0] != 0 || slices.Contains(s, 7) {
			t.Fatalf("Sample(3) = %v: want chunk 0, not the pending 7, 3 chunks", s)
		}
		if !slices.Contains(s, 4) && !slices.Contains(s, 6) {
			t.Fatalf("Sample(3) = %v took zeros before data chunks 4 and 6", s)
		}
	}
	if s := r.Sample(100, rng); len(s) != 7 {
		t.Fatalf("Sample(100) = %v: want the 7 known chunks", s)
	}
}

func TestStoreSaveLoadRemove(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	r := testRecord(1, 0, 2)
	if _, err := st.Load(r.Cloud, r.Endpoint, r.Drive); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load before Save: %v, want ErrNotFound", err)
	}
	if err := st.Save(r); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(r.Cloud, r.Endpoint, r.Drive)
	if err != nil || !slices.Equal(got.Chunks, r.Chunks) || got.Size != r.Size {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	files, _ := filepath.Glob(filepath.Join(st.Dir, recordsDir, "*"))
	if len(files) != 1 {
		t.Fatalf("files %v, want one record and no temporaries", files)
	}
	fi, _ := os.Stat(files[0])
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("record mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := st.Load(r.Cloud, "other:1", r.Drive); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another endpoint's drive: %v, want ErrNotFound", err)
	}
	if err := st.Remove(r.Cloud, r.Endpoint, r.Drive); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(r.Cloud, r.Endpoint, r.Drive); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Remove: %v", err)
	}
	bad := testRecord(1)
	bad.Endpoint = "user:pw@host"
	if err := st.Save(bad); err == nil {
		t.Fatal("a record with credentials in its endpoint was saved")
	}
	bad = testRecord(1, 2)
	bad.Chunks = bad.Chunks[:1]
	if err := st.Save(bad); err == nil {
		t.Fatal("an inconsistent record was saved")
	}
}

func TestReadBaseTakesRecordsAndBackupManifests(t *testing.T) {
	dir := t.TempDir()
	r := testRecord(1, 0)
	data, _ := json.Marshal(r)
	rp := filepath.Join(dir, "r.json")
	os.WriteFile(rp, data, 0o600)
	got, err := ReadBase(rp)
	if err != nil || !slices.Equal(got.Chunks, r.Chunks) {
		t.Fatalf("ReadBase(record) = %+v, %v", got, err)
	}
	m := backupstore.Manifest{Format: backupstore.ManifestFormat, ID: "20260101T000000Z-d1", Drive: "d1",
		Size: 8, ChunkSize: 4, SHA256: string(bytes.Repeat([]byte("a"), 64)), Chunks: r.Chunks}
	data, _ = json.Marshal(m)
	mp := filepath.Join(dir, "m.json")
	os.WriteFile(mp, data, 0o600)
	got, err = ReadBase(mp)
	if err != nil || got.Drive != "d1" || !slices.Equal(got.Chunks, r.Chunks) || got.Source != FromBackup {
		t.Fatalf("ReadBase(manifest) = %+v, %v", got, err)
	}
	os.WriteFile(mp, []byte(`{"format":1,"drive":"d1","size":8,"chunk_size":4,"chunks":["zero"]}`), 0o600)
	if _, err := ReadBase(mp); err == nil {
		t.Fatal("ReadBase accepted a record listing 1 chunk of an 8-byte image in 4-byte chunks")
	}
	os.WriteFile(mp, []byte("not json"), 0o600)
	if _, err := ReadBase(mp); err == nil {
		t.Fatal("ReadBase accepted garbage")
	}
}

func TestHashImage(t *testing.T) {
	img := append(bytes.Repeat([]byte{7}, 10), make([]byte, 10)...)
	img = append(img, 1, 2, 3)
	got, err := HashImage(context.Background(), bytes.NewReader(img), int64(len(img)), 10, KindSHA256, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []backupstore.Hash{backupstore.HashChunk(img[:10]), backupstore.ZeroChunk, backupstore.HashChunk(img[20:])}
	if !slices.Equal(got, want) {
		t.Fatalf("HashImage = %v, want %v", got, want)
	}
	got, err = HashImage(context.Background(), bytes.NewReader(img), int64(len(img)), 10, KindXXH64, 3)
	want = []backupstore.Hash{XXH64(chunker.Hash(img[:10])), backupstore.ZeroChunk, XXH64(chunker.Hash(img[20:]))}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("HashImage(xxh64) = %v, %v; want %v", got, err, want)
	}
	if _, err := HashImage(context.Background(), bytes.NewReader(img), int64(len(img)), 10, "md5", 1); err == nil {
		t.Fatal("HashImage took an unknown kind")
	}
	if _, err := HashImage(context.Background(), bytes.NewReader(img[:15]), int64(len(img)), 10, KindXXH64, 2); err == nil {
		t.Fatal("HashImage of an image shorter than its size succeeded")
	}
}

func TestBlankKnowsNothing(t *testing.T) {
	r := Blank("c", "h:1", "d", 10, 4)
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	got, _ := r.Changed([]backupstore.Hash{hashOf(0), hashOf(0), hashOf(1)})
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("Blank's Changed = %v, want every chunk", got)
	}
	if s := r.Sample(8, rand.New(rand.NewPCG(1, 1))); len(s) != 0 {
		t.Fatalf("Blank's Sample = %v, want none", s)
	}
}

func TestCollectorLearnsEngineHashes(t *testing.T) {
	c := NewCollector("c", "h:1", "d", 10, 4) // chunks [0,4) [4,8) [8,10)
	c.Learn(0, chunker.Hash([]byte{1, 2, 3, 4}))
	c.Learn(1, chunker.ZeroHash(4)) // zeros the engine hashed: ZeroChunk, as Hash makes them
	c.Learn(7, 1)                   // outside: ignored
	r := c.Record(FromUpload, time.Unix(5, 0))
	if r.Kind != KindXXH64 || !slices.Equal(r.Pending, []int{2}) || r.Source != FromUpload ||
		r.Chunks[0] != Hash(KindXXH64, []byte{1, 2, 3, 4}) || r.Chunks[1] != Hash(KindXXH64, make([]byte, 4)) {
		t.Fatalf("record %+v", r)
	}
	if got, _ := r.Changed([]backupstore.Hash{Hash(KindXXH64, []byte{1, 2, 3, 4}), backupstore.ZeroChunk, backupstore.ZeroChunk}); !slices.Equal(got, []int{2}) {
		t.Fatalf("Changed = %v, want only the unknown chunk 2", got)
	}
	if XXH64(0) == backupstore.ZeroChunk {
		t.Fatal("an xxhash64 reference equals ZeroChunk")
	}
	z := NewCollector("c", "h:1", "d", 10, 4)
	z.Zero(1, 8) // covers only chunk 1 whole
	if r := z.Record(FromDownload, time.Unix(5, 0)); !slices.Equal(r.Pending, []int{0, 2}) || z.Known() != 1 {
		t.Fatalf("Zero(1, 8): %+v", r)
	}
	z.Zero(8, 2)
	if z.Known() != 2 {
		t.Fatal("Zero(8, 2) did not learn the short last chunk")
	}
	if err := z.Record(FromDownload, time.Now()).Check(); err != nil {
		t.Fatal(err)
	}
}
