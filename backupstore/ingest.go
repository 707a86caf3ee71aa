package backupstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Source describes the image a backup ingests.
type Source struct {
	Drive    string    // drive UUID (required)
	Name     string    // drive name
	Snapshot string    // snapshot the image was taken from, if any
	Time     time.Time // when it was taken (required)
	// Size is the image's length; the reader must hold exactly that many
	// bytes.
	Size int64
}

// Backup reads an image from r chunk by chunk, stores the chunks the store
// does not hold yet (hashing and compressing on several cores) and then
// writes the manifest, which it returns. The backup's ID is NewID of the
// drive and time; a rerun of the same backup (same drive, time and image)
// returns the manifest written before, while a different image under the
// same ID gets a counter appended.
func (s *Store) Backup(ctx context.Context, r io.Reader, src Source) (*Manifest, error) {
	if src.Drive == "" || src.Time.IsZero() || src.Size < 0 {
		return nil, errors.New("backup source needs a drive, a time and a size")
	}
	m := &Manifest{Format: ManifestFormat, Drive: src.Drive, Name: src.Name, Snapshot: src.Snapshot,
		Time: src.Time.UTC(), Size: src.Size, ChunkSize: s.chunkSize,
		Chunks: make([]Hash, chunkCount(src.Size, s.chunkSize))}

	workers := max(1, runtime.GOMAXPROCS(0))
	type job struct {
		i   int
		buf []byte
	}
	jobs := make(chan job)
	free := make(chan []byte, workers+1) // bounds the memory: workers+1 chunks
	for range workers + 1 {
		free <- make([]byte, s.chunkSize)
	}
	var added atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				h, n, err := s.PutChunk(j.buf)
				if err != nil {
					return err
				}
				m.Chunks[j.i] = h // each index written by one worker, once
				added.Add(n)
				free <- j.buf[:cap(j.buf)]
			}
			return nil
		})
	}
	whole := sha256.New()
	g.Go(func() error {
		defer close(jobs)
		for i := range m.Chunks {
			var buf []byte
			select {
			case buf = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			buf = buf[:m.ChunkLen(i)]
			if _, err := io.ReadFull(r, buf); err != nil {
				return fmt.Errorf("read the image at chunk %d: %w", i, err)
			}
			whole.Write(buf)
			select {
			case jobs <- job{i, buf}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		var one [1]byte
		if n, _ := r.Read(one[:]); n > 0 {
			return fmt.Errorf("the image is longer than %d bytes", src.Size)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	m.SHA256 = hex.EncodeToString(whole.Sum(nil))
	m.Added = added.Load()
	base := NewID(src.Drive, src.Time)
	m.ID = base
	for n := 2; ; n++ {
		err := s.WriteManifest(m)
		if !errors.Is(err, ErrExists) {
			if err != nil {
				return nil, err
			}
			break
		}
		m.ID = base + "_" + strconv.Itoa(n)
	}
	// A rerun finds the manifest of the first run: report that one.
	return s.Load(m.ID)
}
