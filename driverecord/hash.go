package driverecord

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/chunker"
)

// Kinds of chunk hash a record may hold, in Record.Kind.
const (
	// KindSHA256 is the SHA-256 of each chunk, as a backup store names
	// chunks: records learnt from backups and restores.
	KindSHA256 = "sha256"
	// KindXXH64 is the xxhash64 the transfer engine computes of every
	// chunk anyway (chunker.Hash): records learnt from uploads and
	// downloads cost no extra hashing. It is not collision-resistant
	// against an adversary, which a record need not be (a record only
	// spares sending chunks the user's own image did not change; the
	// checkpoints trust the same hash).
	KindXXH64 = "xxh64"
)

// xxh64Mark fills the bytes of an xxhash64 reference after the hash, so no
// reference of a chunk with data is ZeroChunk.
const xxh64Mark = 0xff

// XXH64 returns the reference of a chunk whose xxhash64 is h; a chunk of
// zeros is ZeroChunk whatever the kind (see Hash).
func XXH64(h uint64) backupstore.Hash {
	var r backupstore.Hash
	binary.BigEndian.PutUint64(r[:8], h)
	for i := 8; i < len(r); i++ {
		r[i] = xxh64Mark
	}
	return r
}

// Hash returns the reference of a chunk's bytes in the given kind:
// ZeroChunk when every byte is zero, else its SHA-256, or its xxhash64
// packed by XXH64.
func Hash(kind string, data []byte) backupstore.Hash {
	if kind == KindXXH64 {
		if chunker.IsZero(data) {
			return backupstore.ZeroChunk
		}
		return XXH64(chunker.Hash(data))
	}
	return backupstore.HashChunk(data)
}

// checkKind refuses a kind this drivecp cannot compute.
func checkKind(kind string) error {
	switch kind {
	case "", KindSHA256, KindXXH64:
		return nil
	}
	return fmt.Errorf("unknown chunk hash kind %q", kind)
}

// HashImage returns the chunk hashes, of the given kind, of the first
// size bytes of img, reading up to concurrency chunks at once (each worker
// holds one chunk buffer).
func HashImage(ctx context.Context, img io.ReaderAt, size, chunkSize int64, kind string, concurrency int) ([]backupstore.Hash, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
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
				hashes[i] = Hash(kind, b)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return hashes, nil
}
