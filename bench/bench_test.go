package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkWriteImage measures the image generator (64 MiB realistic).
func BenchmarkWriteImage(b *testing.B) {
	path := filepath.Join(b.TempDir(), "img")
	spec := ImageSpec{Size: 64 << 20, Mix: mixes[0], Seed: 1}
	b.SetBytes(spec.Size)
	for b.Loop() {
		if _, err := WriteImage(context.Background(), path, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkerRate measures the chunker-only pipeline on a 64 MiB
// realistic image with one and two workers.
func BenchmarkChunkerRate(b *testing.B) {
	path := filepath.Join(b.TempDir(), "img")
	spec := ImageSpec{Size: 64 << 20, Mix: mixes[0], Seed: 1}
	if _, err := WriteImage(context.Background(), path, spec); err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(spec.Size)
			for b.Loop() {
				if _, err := ChunkerRate(context.Background(), path, 4<<20, 1, workers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
