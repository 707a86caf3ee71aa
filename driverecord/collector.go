package driverecord

import (
	"sync"
	"time"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/chunker"
)

// Collector builds an xxhash64 record (KindXXH64) from the hashes a
// transfer engine reports as it acknowledges chunks: a chunk is known once
// learnt, every other chunk stays pending. It is safe for concurrent use,
// so the engine's workers can feed it.
type Collector struct {
	mu    sync.Mutex
	r     *Record
	known []bool
	zero  map[int64]uint64 // xxhash64 of n zero bytes, by n
}

// NewCollector starts the record of drive, of size bytes in chunks of
// chunkSize, knowing nothing yet.
func NewCollector(cloud, endpoint, drive string, size, chunkSize int64) *Collector {
	r := Blank(cloud, endpoint, drive, size, chunkSize)
	r.Kind = KindXXH64
	return &Collector{r: r, known: make([]bool, len(r.Chunks)), zero: map[int64]uint64{}}
}

// Learn records that chunk i has xxhash64 h (chunker.Hash of its bytes).
// A chunk the engine hashed although it is zeros becomes ZeroChunk, as
// Hash would make it.
func (c *Collector) Learn(i int, h uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.r.Chunks) {
		return
	}
	n := c.r.ChunkLen(i)
	z, ok := c.zero[n]
	if !ok {
		z = chunker.ZeroHash(n)
		c.zero[n] = z
	}
	ref := XXH64(h)
	if h == z {
		ref = backupstore.ZeroChunk
	}
	c.r.Chunks[i], c.known[i] = ref, true
}

// Zero learns that the chunks wholly inside [off, off+n) read as zeros.
func (c *Collector) Zero(off, n int64) {
	cs := c.r.ChunkSize
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := int((off + cs - 1) / cs); i < len(c.r.Chunks) && int64(i)*cs+c.r.ChunkLen(i) <= off+n; i++ {
		c.r.Chunks[i], c.known[i] = backupstore.ZeroChunk, true
	}
}

// Known returns how many chunks the collector knows.
func (c *Collector) Known() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.known {
		if k {
			n++
		}
	}
	return n
}

// Record returns the record so far, made at t by source: chunks not
// learnt are pending.
func (c *Collector) Record(source string, t time.Time) *Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := *c.r
	r.Chunks = append([]backupstore.Hash(nil), c.r.Chunks...)
	r.Pending = nil
	for i, k := range c.known {
		if !k {
			r.Pending = append(r.Pending, i)
		}
	}
	r.Source, r.Time = source, t.UTC()
	return &r
}
