package emulator

import (
	"context"
	"net"

	"golang.org/x/time/rate"
)

// ShapeListener limits every accepted connection to bw bytes per second in
// each direction; bw <= 0 returns ln unchanged.
func ShapeListener(ln net.Listener, bw int64) net.Listener {
	if bw <= 0 {
		return ln
	}
	return &shapedListener{Listener: ln, bw: bw}
}

type shapedListener struct {
	net.Listener
	bw int64
}

func (l *shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newShapedConn(c, l.bw), nil
}

// shapedConn throttles a connection with one token bucket per direction.
// The burst is a twentieth of a second's worth (at least 4 KiB), so the rate
// is smooth at the scale of a chunk.
type shapedConn struct {
	net.Conn
	rd, wr *rate.Limiter
	burst  int
	ctx    context.Context
	cancel context.CancelFunc
}

func newShapedConn(c net.Conn, bw int64) *shapedConn {
	burst := int(max(bw/20, 4<<10))
	ctx, cancel := context.WithCancel(context.Background())
	return &shapedConn{
		Conn:   c,
		rd:     rate.NewLimiter(rate.Limit(bw), burst),
		wr:     rate.NewLimiter(rate.Limit(bw), burst),
		burst:  burst,
		ctx:    ctx,
		cancel: cancel,
	}
}

func (c *shapedConn) Read(p []byte) (int, error) {
	if len(p) > c.burst {
		p = p[:c.burst]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if werr := c.rd.WaitN(c.ctx, n); werr != nil && err == nil {
			err = net.ErrClosed
		}
	}
	return n, err
}

func (c *shapedConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), c.burst)
		if err := c.wr.WaitN(c.ctx, n); err != nil {
			return written, net.ErrClosed
		}
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (c *shapedConn) Close() error {
	c.cancel()
	return c.Conn.Close()
}
