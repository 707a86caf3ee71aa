package driverecord

import (
	"context"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/backupstore"
)

// HashImage returns the chunk hashes of the first size bytes of img, as a
// record holds them, reading up to concurrency chunks at once (each
// worker holds one chunk buffer).
func HashImage(ctx context.Context, img io.ReaderAt, size, chunkSize int64, concurrency int) ([]backupstore.Hash, error) {
	n := ChunkCount(size, chunkSize)
	hashes := make([]backupstore.Hash, n)
	next := make(chan int)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range max(1, concurrency) {
		g.Go(func() error {
			buf := make([]byte, chunkSize)
			for i := range next {
				off := int64(i) * chunkSize
				b := buf[:min(chunkSize, size-off)]
				if k, err := img.ReadAt(b, off); k < len(b) {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return err
				}
				hashes[i] = backupstore.HashChunk(b)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return hashes, nil
}
