package chunker

import "sync"

// BufferPool hands out byte slices of one fixed size and takes them back for
// reuse, so a transfer allocates about as many chunk buffers as it has chunks
// in flight. It does not cap how many buffers exist: the caller bounds memory
// by bounding concurrency. It is safe for concurrent use.
type BufferPool struct {
	size int
	pool sync.Pool // of *[]byte, so Put does not box a slice header per call
}

// NewBufferPool returns a pool of size-byte buffers. A size below 1 is
// treated as 1.
func NewBufferPool(size int) *BufferPool {
	p := &BufferPool{size: max(size, 1)}
	p.pool.New = func() any {
		b := make([]byte, p.size)
		return &b
	}
	return p
}

// Size is the length of the buffers Get returns.
func (p *BufferPool) Size() int { return p.size }

// Get returns a buffer of length Size. Its contents are whatever the
// previous user left there.
func (p *BufferPool) Get() []byte {
	bp := p.pool.Get().(*[]byte)
	return (*bp)[:p.size]
}

// Put returns b to the pool. Slices of another capacity (not from this pool)
// are dropped, so a stray Put cannot make a later Get return a short buffer.
// b must not be used after Put.
func (p *BufferPool) Put(b []byte) {
	if cap(b) != p.size {
		return
	}
	b = b[:p.size]
	p.pool.Put(&b)
}
