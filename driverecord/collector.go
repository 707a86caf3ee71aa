package driverecord

import (
	"sync"
	"time"

	"github.com/drivecp/drivecp/backupstore"
)

// Collector builds the record of a transfer as its chunks go by: a chunk
// is known once its bytes were seen (Data) or it is known to read as zeros
// (Zero); every other chunk stays pending. It is safe for concurrent use,
// so the transfer's workers can feed it.
type Collector struct {
	mu    sync.Mutex
	r     *Record
	known []bool
}

// NewCollector starts the record of drive, of size bytes in chunks of
// chunkSize, knowing nothing yet.
func NewCollector(cloud, endpoint, drive string, size, chunkSize int64) *Collector {
	r := Blank(cloud, endpoint, drive, size, chunkSize)
	return &Collector{r: r, known: make([]bool, len(r.Chunks))}
}

// Data learns the chunks that data, the image's bytes at off, covers
// whole. A transfer's pieces start on chunk boundaries; a piece longer than
// a chunk (the last piece of a chunked upload carries the remainder) spans
// several.
func (c *Collector) Data(off int64, data []byte) {
	cs := c.r.ChunkSize
	if off%cs != 0 {
		return
	}
	first := int(off / cs)
	var hashes []backupstore.Hash
	for o := int64(0); o < int64(len(data)); o += cs {
		i := first + int(o/cs)
		if i >= len(c.r.Chunks) || int64(len(data))-o < c.r.ChunkLen(i) {
			break
		}
		hashes = append(hashes, backupstore.HashChunk(data[o:o+c.r.ChunkLen(i)]))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, h := range hashes {
		c.r.Chunks[first+k], c.known[first+k] = h, true
	}
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
