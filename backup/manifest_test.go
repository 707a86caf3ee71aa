package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeImage writes content(seed, size) to dir/name and returns the path.
func writeImage(t testing.TB, dir, name string, seed uint64, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content(seed, size), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const size = 1<<20 + 777
	img := writeImage(t, dir, "a.img", 42, size)
	meta := ManifestMeta{Drive: DriveInfo{UUID: "u", Name: "n", Size: size, Tags: []string{"t"}, Meta: map[string]string{"k": "v"}},
		Snapshot: "s", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))}
	m, err := BuildManifest(context.Background(), img, 256<<10, meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Chunks) != 5 || m.Size != size || m.Image != "a.img" || m.Created.Location() != time.UTC {
		t.Fatalf("manifest %+v", m)
	}
	sum := sha256.Sum256(content(42, size))
	if m.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 %s", m.SHA256)
	}
	// content makes every third 64 KiB block zero: no 256 KiB chunk is zero,
	// so make a zero one to check the mark.
	zimg := filepath.Join(dir, "z.img")
	if err := os.WriteFile(zimg, make([]byte, 300<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	zm, err := BuildManifest(context.Background(), zimg, 256<<10, ManifestMeta{})
	if err != nil || !zm.Chunks[0].Zero || !zm.Chunks[1].Zero {
		t.Fatalf("zero chunks not marked: %+v %v", zm, err)
	}

	if err := WriteManifest(img, m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(ManifestPath(img))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest mode: %v %v", fi, err)
	}
	// Overwriting replaces it whole and leaves no temporary file.
	if err := WriteManifest(img, m); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		for _, e := range entries {
			t.Log(e.Name())
		}
		t.Errorf("%d files in the folder, want 3 (two images, one manifest)", len(entries))
	}
	got, err := ReadManifest(ManifestPath(img))
	if err != nil {
		t.Fatal(err)
	}
	if got.XXH64 != m.XXH64 || got.Drive.Meta["k"] != "v" || !got.Created.Equal(m.Created) {
		t.Errorf("read back %+v", got)
	}
}

func TestReadManifestRejects(t *testing.T) {
	dir := t.TempDir()
	img := writeImage(t, dir, "a.img", 1, 100<<10)
	m, err := BuildManifest(context.Background(), img, 64<<10, ManifestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(m *Manifest){
		"format":     func(m *Manifest) { m.Format = 99 },
		"chunks":     func(m *Manifest) { m.Chunks = m.Chunks[:1] },
		"hash":       func(m *Manifest) { m.Chunks[0].XXH64 = "zz" },
		"chunk size": func(m *Manifest) { m.ChunkSize = 0 },
	} {
		bad := *m
		bad.Chunks = append([]ChunkSum(nil), m.Chunks...)
		mutate(&bad)
		if err := WriteManifest(img, &bad); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(ManifestPath(img)); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := os.WriteFile(ManifestPath(img), []byte(`{"format":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifest(ManifestPath(img)); !errors.Is(err, ErrManifest) {
		t.Errorf("truncated: %v", err)
	}
	if _, err := ReadManifest(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestVerifyCatchesDamage(t *testing.T) {
	dir := t.TempDir()
	const size, chunk = 1 << 20, 128 << 10
	img := writeImage(t, dir, "a.img", 5, size)
	m, err := BuildManifest(context.Background(), img, chunk, ManifestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), img, m)
	if err != nil || !rep.OK || rep.XXH64 != m.XXH64 {
		t.Fatalf("intact image: %+v %v", rep, err)
	}

	// A flipped byte names its chunk.
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(3*chunk + 1000)
	b := []byte{0}
	f.ReadAt(b, off)
	b[0] ^= 0x01
	f.WriteAt(b, off)
	rep, err = Verify(context.Background(), img, m)
	if err != nil || rep.OK || len(rep.Bad) != 1 || rep.Bad[0].Index != 3 || rep.Bad[0].Offset != 3*chunk || rep.SizeMismatch() {
		t.Fatalf("flipped byte: %+v %v", rep, err)
	}
	b[0] ^= 0x01
	f.WriteAt(b, off)

	// Truncation: size mismatch, the cut and the missing chunks named.
	if err := f.Truncate(size - chunk - 10); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(context.Background(), img, m)
	if err != nil || rep.OK || !rep.SizeMismatch() || len(rep.Bad) != 2 || !rep.Bad[0].Missing || rep.Bad[0].Index != 6 {
		t.Fatalf("truncated: %+v %v", rep, err)
	}

	// Extension: every chunk matches but the size does not.
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.WriteAt(content(5, size)[size-chunk-10:], size-chunk-10)
	f.WriteAt([]byte("extra"), size)
	f.Close()
	rep, err = Verify(context.Background(), img, m)
	if err != nil || rep.OK || !rep.SizeMismatch() || len(rep.Bad) != 0 {
		t.Fatalf("extended: %+v %v", rep, err)
	}
}

// BenchmarkBuildManifest measures the manifest of a 1 GiB image (page
// cache warm): read, per-chunk and whole xxhash64, SHA-256.
func BenchmarkBuildManifest(b *testing.B) {
	dir := b.TempDir()
	const size = 1 << 30
	f, err := os.Create(filepath.Join(dir, "big.img"))
	if err != nil {
		b.Fatal(err)
	}
	block := content(1, 4<<20)
	for off := int64(0); off < size; off += int64(len(block)) {
		f.Write(block)
	}
	f.Close()
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if _, err := BuildManifest(context.Background(), f.Name(), 0, ManifestMeta{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures Verify on the same kind of image.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	const size = 1 << 30
	f, err := os.Create(filepath.Join(dir, "big.img"))
	if err != nil {
		b.Fatal(err)
	}
	block := content(1, 4<<20)
	for off := int64(0); off < size; off += int64(len(block)) {
		f.Write(block)
	}
	f.Close()
	m, err := BuildManifest(context.Background(), f.Name(), 0, ManifestMeta{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if _, err := Verify(context.Background(), f.Name(), m); err != nil {
			b.Fatal(err)
		}
	}
}
