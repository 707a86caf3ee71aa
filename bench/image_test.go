package bench

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func realistic(t *testing.T) Mix {
	t.Helper()
	m, err := ParseMix("realistic")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLayout(t *testing.T) {
	spec := ImageSpec{Size: 256<<20 + 12345, Mix: realistic(t), Seed: 7}
	regions := Layout(spec)
	if again := Layout(spec); !slices.Equal(regions, again) {
		t.Fatal("the same spec gave two layouts")
	}
	other := spec
	other.Seed = 8
	if slices.Equal(regions, Layout(other)) {
		t.Error("another seed gave the same layout")
	}
	var got [numKinds]int64
	var off int64
	for i, r := range regions {
		if r.Offset != off || r.Length <= 0 {
			t.Fatalf("region %d %+v does not follow offset %d", i, r, off)
		}
		if r.Offset%regionUnit != 0 {
			t.Errorf("region %d at %d is not %d-aligned", i, r.Offset, regionUnit)
		}
		if i > 0 && regions[i-1].Kind == r.Kind {
			t.Errorf("regions %d and %d are both %v: not merged", i-1, i, r.Kind)
		}
		got[r.Kind] += r.Length
		off += r.Length
	}
	if off != spec.Size {
		t.Fatalf("regions cover %d bytes, want %d", off, spec.Size)
	}
	// One region (at most 4 MiB here) of slack on each share.
	for k := range numKinds {
		share := float64(got[k]) / float64(spec.Size)
		if math.Abs(share-spec.Mix.Share[k]) > 0.02 {
			t.Errorf("%v: %.3f of the image, want %.2f", k, share, spec.Mix.Share[k])
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, name := range MixNames() {
		m, err := ParseMix(name)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, s := range m.Share {
			sum += s
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("mix %s: shares add up to %v", name, sum)
		}
	}
	if _, err := ParseMix("lumpy"); err == nil {
		t.Error("unknown mix accepted")
	}
}

func TestWriteImage(t *testing.T) {
	dir := t.TempDir()
	spec := ImageSpec{Size: 16 << 20, Mix: realistic(t), Seed: 3}
	a, b := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	regions, err := WriteImage(context.Background(), a, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteImage(context.Background(), b, spec); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if int64(len(da)) != spec.Size || !bytes.Equal(da, db) {
		t.Fatalf("two images of one spec differ (sizes %d, %d)", len(da), len(db))
	}
	fi, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("image mode %v, want 0600", fi.Mode().Perm())
	}
	var holes int64
	for _, r := range regions {
		data := da[r.Offset:r.End()]
		switch r.Kind {
		case KindZero, KindHole:
			if !allZero(data) {
				t.Errorf("%v region at %d is not zero", r.Kind, r.Offset)
			}
			if r.Kind == KindHole {
				holes += r.Length
			}
		case KindRandom:
			if ratio := gzipRatio(t, data); ratio < 0.99 {
				t.Errorf("random region at %d gzips to %.2f", r.Offset, ratio)
			}
		case KindText:
			if ratio := gzipRatio(t, data); ratio > 0.7 || ratio < 0.3 {
				t.Errorf("text region at %d gzips to %.2f, want text-like 0.3-0.7", r.Offset, ratio)
			}
			if bytes.IndexByte(data, 0) >= 0 {
				t.Errorf("text region at %d holds a NUL", r.Offset)
			}
		}
	}
	if holes == 0 {
		t.Fatal("realistic layout without holes")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no block counts on this platform")
	}
	if allocated := st.Blocks * 512; allocated > spec.Size-holes+1<<20 {
		t.Errorf("%d bytes allocated for %d bytes of data: the holes were written", allocated, spec.Size-holes)
	}
}

func TestWriteImageCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(t.TempDir(), "x.img")
	if _, err := WriteImage(ctx, path, ImageSpec{Size: 4 << 20, Mix: realistic(t), Seed: 1}); err == nil {
		t.Fatal("cancelled WriteImage succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("cancelled WriteImage left %s behind", path)
	}
}

func TestChunkerRate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.img")
	m, _ := ParseMix("text")
	if _, err := WriteImage(context.Background(), path, ImageSpec{Size: 8 << 20, Mix: m, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := ChunkerRate(context.Background(), path, 1<<20, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.MBps <= 0 || res.Workers != 2 || res.GzipBytes <= 0 || res.GzipBytes >= 8<<20 {
		t.Errorf("ChunkerRate = %+v", res)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func gzipRatio(t *testing.T, b []byte) float64 {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, 1)
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return float64(buf.Len()) / float64(len(b))
}

// TestHashSparse checks that the fingerprint sees every byte but no hole: a
// 1 TiB sparse file hashes in well under a second (it reads only its data),
// the same bytes stored densely give the same fingerprint, and a change of
// one byte, of the size, or of where the data sits gives another.
func TestHashSparse(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*(64<<10)+100)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	write := func(name string, size int64, at int64, dense bool) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if dense {
			if _, err := f.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		} else if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(data, at); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hash := func(p string) uint64 {
		h, err := HashFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	start := time.Now()
	big := hash(write("big", 1<<40, 1<<39+12345, false))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("hashing a 1 TiB sparse file took %v: it reads holes", d)
	}
	if big == hash(write("big2", 1<<40, 1<<39+12346, false)) {
		t.Error("data moved by one byte, same fingerprint")
	}
	sparse := hash(write("sparse", 4<<20, 1<<20+3, false))
	if dense := hash(write("dense", 4<<20, 1<<20+3, true)); dense != sparse {
		t.Errorf("dense %x, sparse %x: the same bytes differ", dense, sparse)
	}
	if hash(write("longer", 4<<20+1, 1<<20+3, false)) == sparse {
		t.Error("one more zero byte, same fingerprint")
	}
	data[len(data)/2] ^= 1
	if hash(write("flipped", 4<<20, 1<<20+3, false)) == sparse {
		t.Error("one bit flipped, same fingerprint")
	}
}
