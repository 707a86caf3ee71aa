package qcow2write

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/drivecp/drivecp/imagefmt"
)

// guest is a virtual image of size bytes, zero except for its segments.
type guest struct {
	size int64
	segs []segment
}

type segment struct {
	off  int64
	data []byte
}

// fill writes the guest bytes at off into b.
func (g guest) fill(b []byte, off int64) {
	clear(b)
	for _, s := range g.segs {
		lo, hi := max(off, s.off), min(off+int64(len(b)), s.off+int64(len(s.data)))
		if lo < hi {
			copy(b[lo-off:hi-off], s.data[lo-s.off:hi-s.off])
		}
	}
}

// write streams the guest into path in pieces of step bytes.
func (g guest) write(t *testing.T, path string, step int) {
	t.Helper()
	f, err := Create(path, g.size)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, step)
	for off := int64(0); off < g.size; off += int64(step) {
		b := buf[:min(int64(step), g.size-off)]
		g.fill(b, off)
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
}

// allocated reports whether the guest has a non-zero byte in cluster c.
func (g guest) allocated(c int64) bool {
	off, end := c*ClusterSize, min((c+1)*ClusterSize, g.size)
	for _, s := range g.segs {
		lo, hi := max(off, s.off), min(end, s.off+int64(len(s.data)))
		for i := lo; i < hi; i++ {
			if s.data[i-s.off] != 0 {
				return true
			}
		}
	}
	return false
}

// check reads path back through imagefmt (go-qcow2reader), as `drivecp
// upload` does: the format, the size, every byte, and extents that cover
// exactly the clusters with data.
func (g guest) check(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := imagefmt.Open(f)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	defer src.Close()
	if src.Format != imagefmt.Qcow2 || src.Size != g.size {
		t.Fatalf("read back as %s of %d bytes, want qcow2 of %d", src.Format, src.Size, g.size)
	}
	got, want := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); off < g.size; off += int64(len(got)) {
		n := min(int64(len(got)), g.size-off)
		if _, err := src.ReaderAt.ReadAt(got[:n], off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read at %d: %v", off, err)
		}
		g.fill(want[:n], off)
		if !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("bytes at %d..%d differ from the guest's", off, off+n)
		}
	}
	// Extents: exactly the clusters with data, nothing else.
	var wantExt []imagefmt.Extent
	for c := int64(0); c*ClusterSize < g.size; c++ {
		if !g.allocated(c) {
			continue
		}
		off, n := c*ClusterSize, min(ClusterSize, g.size-c*ClusterSize)
		if k := len(wantExt) - 1; k >= 0 && wantExt[k].Off+wantExt[k].Len == off {
			wantExt[k].Len += n
		} else {
			wantExt = append(wantExt, imagefmt.Extent{Off: off, Len: n})
		}
	}
	var mapped, wantMapped int64
	for _, e := range src.Extents {
		mapped += e.Len
	}
	for _, e := range wantExt {
		wantMapped += e.Len
	}
	if src.Extents == nil || mapped != wantMapped {
		t.Errorf("extents %v map %d bytes, want %v (%d bytes)", src.Extents, mapped, wantExt, wantMapped)
	}
	if qemu, err := exec.LookPath("qemu-img"); err == nil {
		if out, err := exec.Command(qemu, "check", path).CombinedOutput(); err != nil {
			t.Errorf("qemu-img check: %v\n%s", err, out)
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestRoundTrip writes a guest whose data spans three L2 ranges (the
// middle one empty, so it has no L2 table), with zero clusters between
// data, a cluster with one non-zero byte, and a size that ends mid-cluster;
// then a smaller one in pieces of several sizes, not cluster-aligned and
// whole clusters, which must all make the same file.
func TestRoundTrip(t *testing.T) {
	const l2Range = l2Entries * ClusterSize // 512 MiB
	size := int64(2*l2Range + 5*ClusterSize + 777)
	g := guest{size: size, segs: []segment{
		{0, randomBytes(1, ClusterSize+100)},
		{3*ClusterSize - 1, []byte{7}},
		{5*ClusterSize + 10, bytes.Repeat([]byte("drivecp text "), 1000)},
		{l2Range - 50, randomBytes(2, 100)}, // across the end of range 0
		{2*l2Range + ClusterSize, randomBytes(3, 2*ClusterSize)},
		{size - 500, randomBytes(4, 500)}, // the last, short cluster
	}}
	if !raceEnabled {
		// Under the race detector 1 GiB takes seconds to compare, and
		// the writer runs on one goroutine: the small guest below will do.
		path := filepath.Join(t.TempDir(), "drive.qcow2")
		g.write(t, path, 100003)
		g.check(t, path)
		checkFile(t, path)
	}

	small := guest{size: 9*ClusterSize + 777, segs: []segment{
		{0, randomBytes(1, ClusterSize+100)},
		{3*ClusterSize - 1, []byte{7}},
		{5*ClusterSize + 10, bytes.Repeat([]byte("drivecp text "), 1000)},
		{9*ClusterSize + 700, randomBytes(4, 77)},
	}}
	var first []byte
	for _, step := range []int{100003, 4096, 4 << 20} {
		path := filepath.Join(t.TempDir(), "small.qcow2")
		small.write(t, path, step)
		small.check(t, path)
		checkFile(t, path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Errorf("writing in pieces of %d bytes made a different file", step)
		}
	}
}

// checkFile: the committed file is 0600 and no FILE.part is left.
func checkFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
		t.Errorf("%s.part left behind: %v", path, err)
	}
}

// TestSmallSizes covers sizes around one cluster, full of data and empty.
func TestSmallSizes(t *testing.T) {
	for _, size := range []int64{0, 1, 512, ClusterSize - 1, ClusterSize, ClusterSize + 1, 3*ClusterSize + 4096} {
		for _, full := range []bool{true, false} {
			g := guest{size: size}
			if full {
				g.segs = []segment{{0, randomBytes(uint64(size), int(size))}}
			}
			path := filepath.Join(t.TempDir(), "small.qcow2")
			g.write(t, path, 4096)
			if size == 0 {
				// imagefmt refuses empty images; qemu-img reads them.
				if qemu, err := exec.LookPath("qemu-img"); err == nil {
					if out, err := exec.Command(qemu, "check", path).CombinedOutput(); err != nil {
						t.Errorf("qemu-img check of an empty image: %v\n%s", err, out)
					}
				}
				continue
			}
			g.check(t, path)
		}
	}
}

// TestLargeEmptyDrive: a 64 GiB drive with a little data becomes a file of
// a few clusters, quickly, and reads back.
func TestLargeEmptyDrive(t *testing.T) {
	size := int64(64 << 30)
	if raceEnabled {
		// The race detector checks every byte compared against zeros,
		// which takes 8 times as long as the comparison.
		size = 8 << 30
	}
	g := guest{size: size, segs: []segment{{size * 5 / 8, randomBytes(5, 3000)}}}
	path := filepath.Join(t.TempDir(), "big.qcow2")
	start := time.Now()
	f, err := Create(path, size)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if off <= size*5/8 && size*5/8 < off+int64(len(buf)) {
			g.fill(buf, off)
		} else {
			clear(buf[:ClusterSize]) // fill's scratch; the rest stays zero
		}
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// header, L1, one data cluster, its L2 table, refcount block and table
	if fi.Size() != 6*ClusterSize {
		t.Errorf("file of %d bytes, want %d", fi.Size(), 6*ClusterSize)
	}
	if took > 20*time.Second {
		t.Errorf("writing %d GiB of mostly zeros took %v", size>>30, took)
	}
	t.Logf("%d GiB written in %v", size>>30, took)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := imagefmt.Open(fh)
	if err != nil {
		fh.Close()
		t.Fatal(err)
	}
	defer src.Close()
	want := make([]byte, 2*ClusterSize)
	got := make([]byte, len(want))
	for _, off := range []int64{0, size*5/8 - ClusterSize, size * 5 / 8, size - int64(len(got))} {
		g.fill(want, off)
		if _, err := src.ReaderAt.ReadAt(got, off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("bytes at %d differ", off)
		}
	}
	if len(src.Extents) != 1 || src.Extents[0] != (imagefmt.Extent{Off: size * 5 / 8, Len: ClusterSize}) {
		t.Errorf("extents %v, want the one cluster at 5/8 of the drive", src.Extents)
	}
}

// TestIncompleteLeavesNothing: a stream shorter or longer than the size
// fails, and neither FILE nor FILE.part is left; an existing FILE.part
// (a raw download to resume) is never overwritten.
func TestIncompleteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.qcow2")
	f, err := Create(path, 3*ClusterSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(randomBytes(6, ClusterSize+5)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 3*ClusterSize)); !errors.Is(err, ErrSize) {
		t.Errorf("writing past the size: %v, want ErrSize", err)
	}
	if err := f.Commit(); !errors.Is(err, ErrSize) {
		t.Errorf("commit of a short stream: %v, want ErrSize", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}

	f, err = Create(path, ClusterSize)
	if err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("abort left %v", entries)
	}

	if err := os.WriteFile(path+".part", []byte("raw download"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, ClusterSize); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing .part: %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(path + ".part"); string(b) != "raw download" {
		t.Errorf(".part now holds %q", b)
	}
}

func TestCommitCheckedRemovesAFileThatFailsItsCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.qcow2")
	f, err := Create(path, ClusterSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte{7}, ClusterSize)); err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("differs")
	var seen int64
	err = f.CommitChecked(func(part string) error {
		fi, err := os.Stat(part)
		if err != nil {
			return err
		}
		seen = fi.Size()
		return errBad
	})
	if !errors.Is(err, errBad) {
		t.Fatalf("CommitChecked: %v, want the check's error", err)
	}
	if seen < 2*ClusterSize {
		t.Errorf("the check saw a %d-byte file, not the finished one", seen)
	}
	for _, p := range []string{path, path + ".part"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after a failed check (%v)", filepath.Base(p), err)
		}
	}
}
