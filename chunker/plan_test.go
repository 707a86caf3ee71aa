package chunker

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPlan(t *testing.T) {
	const cs = 10
	type span struct{ off, n int64 }
	tests := []struct {
		name      string
		size      int64
		mergeTail bool
		want      []span
	}{
		{"empty", 0, false, nil},
		{"empty merged", 0, true, nil},
		{"negative", -5, false, nil},
		{"one byte", 1, false, []span{{0, 1}}},
		{"one byte merged", 1, true, []span{{0, 1}}},
		{"below chunk merged", 9, true, []span{{0, 9}}},
		{"exact one", 10, false, []span{{0, 10}}},
		{"exact one merged", 10, true, []span{{0, 10}}},
		{"exact three", 30, false, []span{{0, 10}, {10, 10}, {20, 10}}},
		{"exact three merged", 30, true, []span{{0, 10}, {10, 10}, {20, 10}}},
		{"remainder", 31, false, []span{{0, 10}, {10, 10}, {20, 10}, {30, 1}}},
		{"remainder merged", 31, true, []span{{0, 10}, {10, 10}, {20, 11}}},
		{"largest tail merged", 39, true, []span{{0, 10}, {10, 10}, {20, 19}}},
		{"just over one merged", 19, true, []span{{0, 19}}},
		{"two merged", 20, true, []span{{0, 10}, {10, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(tt.size, cs, tt.mergeTail)
			if got == nil {
				t.Fatal("Plan returned nil, want a non-nil slice")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Plan(%d, %d, %v) has %d pieces, want %d: %+v", tt.size, cs, tt.mergeTail, len(got), len(tt.want), got)
			}
			for i, p := range got {
				w := Piece{Index: i, Offset: tt.want[i].off, Length: tt.want[i].n}
				if p != w {
					t.Errorf("piece %d = %+v, want %+v", i, p, w)
				}
			}
		})
	}
}

// TestPlanCoversSize checks the invariants for many sizes: contiguous,
// complete, indexed, and with the documented piece count.
func TestPlanCoversSize(t *testing.T) {
	for _, cs := range []int64{1, 3, 4096} {
		for size := int64(0); size < 3*cs+3; size++ {
			for _, merge := range []bool{false, true} {
				ps := Plan(size, cs, merge)
				var next int64
				for i, p := range ps {
					if p.Index != i || p.Offset != next || p.Length <= 0 {
						t.Fatalf("cs=%d size=%d merge=%v: bad piece %d %+v", cs, size, merge, i, p)
					}
					if merge && p.Length > 2*cs-1 && !(cs == 1 && p.Length == 1) {
						t.Fatalf("cs=%d size=%d: merged piece of %d bytes", cs, size, p.Length)
					}
					next = p.End()
				}
				if next != max(size, 0) {
					t.Fatalf("cs=%d size=%d merge=%v: plan covers %d bytes", cs, size, merge, next)
				}
				want := (size + cs - 1) / cs
				if merge {
					want = size / cs
					if size > 0 && want == 0 {
						want = 1
					}
				}
				if int64(len(ps)) != want {
					t.Fatalf("cs=%d size=%d merge=%v: %d pieces, want %d", cs, size, merge, len(ps), want)
				}
			}
		}
	}
}

func TestPlanDefaultChunkSize(t *testing.T) {
	ps := Plan(DefaultChunkSize+1, 0, false)
	if len(ps) != 2 || ps[0].Length != DefaultChunkSize || ps[1].Length != 1 {
		t.Fatalf("Plan with chunkSize 0 = %+v, want DefaultChunkSize pieces", ps)
	}
}

// sparseFile makes a file of size bytes whose only data are the given
// 1-byte writes, and reports whether the file system kept the rest as holes.
func sparseFile(t *testing.T, size int64, dataAt ...int64) (*os.File, bool) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "sparse.img"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, off := range dataAt {
		if _, err := f.WriteAt([]byte{0xAB}, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	// Probe: the very last byte is a hole unless data was written there.
	return f, holeSupported(t, f, size)
}

func holeSupported(t *testing.T, f *os.File, size int64) bool {
	t.Helper()
	off, err := f.Seek(0, unix.SEEK_HOLE)
	defer f.Seek(0, 0)
	if err != nil {
		return false
	}
	return off < size
}

func TestPlanFileHoles(t *testing.T) {
	const cs = 64 << 10 // at least a file-system block, so holes can be that fine
	// 16 pieces; data in pieces 1, 5 (at its last byte), 6 (first byte) and 15.
	size := int64(16 * cs)
	f, ok := sparseFile(t, size, 1*cs+100, 6*cs-1, 6*cs, 16*cs-1)
	if !ok {
		t.Skip("file system does not report holes with SEEK_HOLE")
	}
	if _, err := f.Seek(123, 0); err != nil {
		t.Fatal(err)
	}
	ps, err := PlanFile(f, size, cs, false)
	if err != nil {
		t.Fatal(err)
	}
	data := map[int]bool{1: true, 5: true, 6: true, 15: true}
	for _, p := range ps {
		// A file system may allocate more than was written (whole blocks,
		// preallocation), so only a data piece marked as a hole is wrong;
		// but with 64 KiB pieces ext4/xfs/tmpfs report exactly.
		if p.Hole == data[p.Index] {
			t.Errorf("piece %d: Hole=%v, want %v", p.Index, p.Hole, !data[p.Index])
		}
	}
	if pos, _ := f.Seek(0, 1); pos != 123 {
		t.Errorf("PlanFile moved the file offset to %d, want 123", pos)
	}

	// Reading a hole piece gives zeros without touching the file, and the
	// same hash as reading it would.
	buf := make([]byte, cs)
	for i := range buf {
		buf[i] = 0xFF
	}
	hole, err := ReadChunk(f, ps[0], buf)
	if err != nil {
		t.Fatal(err)
	}
	if !hole.Zero || !IsZero(hole.Data) || hole.Hash != ZeroHash(cs) {
		t.Errorf("hole chunk: Zero=%v IsZero=%v hash=%x want %x", hole.Zero, IsZero(hole.Data), hole.Hash, ZeroHash(cs))
	}
	r := NewReader(f)
	for range 2 { // cold and warm zero-hash memo
		c, err := r.ReadChunk(ps[0], buf)
		if err != nil || !c.Zero || c.Hash != hole.Hash || !IsZero(c.Data) {
			t.Fatalf("Reader on a hole: %+v, %v", c.Piece, err)
		}
	}
	read := ps[0]
	read.Hole = false
	c, err := ReadChunk(f, read, buf)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != hole.Hash || !c.Zero {
		t.Errorf("reading the hole: hash %x zero %v, want %x true", c.Hash, c.Zero, hole.Hash)
	}
}

func TestPlanFileMergedAndAllHole(t *testing.T) {
	const cs = 64 << 10
	size := int64(3*cs + 5)
	f, ok := sparseFile(t, size)
	if !ok {
		t.Skip("file system does not report holes with SEEK_HOLE")
	}
	ps, err := PlanFile(f, size, cs, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("%d pieces, want 3", len(ps))
	}
	for _, p := range ps {
		if !p.Hole {
			t.Errorf("piece %d of an empty sparse file not marked as a hole", p.Index)
		}
	}
}

// TestPlanFilePastEOF: a plan larger than the file must not call the missing
// tail a hole, or the short file would go unnoticed.
func TestPlanFilePastEOF(t *testing.T) {
	const cs = 64 << 10
	f, ok := sparseFile(t, 2*cs)
	if !ok {
		t.Skip("file system does not report holes with SEEK_HOLE")
	}
	ps, err := PlanFile(f, 4*cs, cs, false)
	if err != nil {
		t.Fatal(err)
	}
	if !ps[0].Hole || !ps[1].Hole || ps[2].Hole || ps[3].Hole {
		t.Fatalf("holes = %v %v %v %v, want true true false false", ps[0].Hole, ps[1].Hole, ps[2].Hole, ps[3].Hole)
	}
	_, err = ReadChunk(f, ps[2], make([]byte, cs))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading past EOF: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestPlanFileNotSparse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dense.img")
	if err := os.WriteFile(path, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := PlanFile(f, 100, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Hole {
			t.Fatalf("piece %d of a written file marked as a hole", p.Index)
		}
	}
	if ps, err := PlanFile(f, 0, 10, false); err != nil || len(ps) != 0 {
		t.Fatalf("PlanFile size 0 = %v, %v", ps, err)
	}
}
