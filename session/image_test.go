package session

import (
	"testing"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/imagefmt"
)

func TestMarkOutside(t *testing.T) {
	// 10 pieces of 10 bytes; data in [15,25) and [60,61) and [99,100).
	ps := chunker.Plan(100, 10, false)
	markOutside(ps, []imagefmt.Extent{{Off: 15, Len: 10}, {Off: 60, Len: 1}, {Off: 99, Len: 1}})
	want := []bool{true, false, false, true, true, true, false, true, true, false}
	for i, p := range ps {
		if p.Hole != want[i] {
			t.Errorf("piece %d [%d,%d): hole %v, want %v", i, p.Offset, p.End(), p.Hole, want[i])
		}
	}
	ps = chunker.Plan(100, 10, false)
	markOutside(ps, []imagefmt.Extent{})
	for _, p := range ps {
		if !p.Hole {
			t.Errorf("an image without extents must read as zeros: piece %d not a hole", p.Index)
		}
	}
}
