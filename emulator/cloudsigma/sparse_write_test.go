//go:build linux

package cloudsigma

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestZeroWritesStaySparse: zeros written over data read back as zeros and
// leave no blocks behind, so an upload that carries every zero of a sparse
// terabyte does not fill the emulator's disk; data stays data.
func TestZeroWritesStaySparse(t *testing.T) {
	s := newTestStore(t, t.TempDir(), &fakeClock{})
	d, err := s.CreateDrive(wire.Drive{Name: "sparse", Size: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{7}, 8<<20)
	h, err := s.OpenDrive(d.UUID, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, off := range []int64{0, 32 << 20} {
		if _, err := h.WriteFrom(context.Background(), bytes.NewReader(data), off, int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	zeros := make([]byte, len(data))
	if _, err := h.WriteFrom(context.Background(), bytes.NewReader(zeros), 0, int64(len(zeros))); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	for off, want := range map[int64][]byte{0: zeros, 32 << 20: data} {
		if _, err := h.ReadAt(got, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("the drive at %d does not read back what was written", off)
		}
	}
	fi, err := os.Stat(h.File().Name())
	if err != nil {
		t.Fatal(err)
	}
	if used := fi.Sys().(*syscall.Stat_t).Blocks * 512; used > 9<<20 {
		t.Errorf("the drive file uses %d bytes for 8 MiB of data", used)
	}
}
