package emulator

import (
	"context"
	"net"

	"golang.org/x/time/rate"
)

// Link is the network between the clients and one emulator: each
// connection limited to a bandwidth of its own, and all of them, on every
// listener of the emulator, to a total (a client's link). The zero limits
// are unlimited; a nil *Link shapes nothing.
type Link struct {
	perConn int64
	// rd and wr are shared by every connection; nil when there is no
	// total.
	rd, wr *rate.Limiter
	burst  int
}

// NewLink returns the link of o's ConnBandwidth and TotalBandwidth, nil
// when neither is set.
func NewLink(o Shaping) *Link {
	if o.ConnBandwidth <= 0 && o.TotalBandwidth <= 0 {
		return nil
	}
	l := &Link{perConn: o.ConnBandwidth}
	if o.TotalBandwidth > 0 {
		l.burst = burstOf(o.TotalBandwidth)
		l.rd = rate.NewLimiter(rate.Limit(o.TotalBandwidth), l.burst)
		l.wr = rate.NewLimiter(rate.Limit(o.TotalBandwidth), l.burst)
	}
	return l
}

// burstOf is a twentieth of a second's worth of bw (at least 4 KiB), so the
// rate is smooth at the scale of a chunk.
func burstOf(bw int64) int { return int(max(bw/20, 4<<10)) }

// Shape limits every connection ln accepts as l says; a nil l returns ln
// unchanged.
func (l *Link) Shape(ln net.Listener) net.Listener {
	if l == nil {
		return ln
	}
	return &shapedListener{Listener: ln, link: l}
}

// ShapeListener limits every accepted connection to bw bytes per second in
// each direction; bw <= 0 returns ln unchanged.
func ShapeListener(ln net.Listener, bw int64) net.Listener {
	return NewLink(Shaping{ConnBandwidth: bw}).Shape(ln)
}

type shapedListener struct {
	net.Listener
	link *Link
}

func (l *shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newShapedConn(c, l.link), nil
}

// shapedConn throttles a connection with its own token bucket per direction
// and the link's shared ones.
type shapedConn struct {
	net.Conn
	rd, wr []*rate.Limiter
	burst  int
	ctx    context.Context
	cancel context.CancelFunc
}

func newShapedConn(c net.Conn, l *Link) *shapedConn {
	ctx, cancel := context.WithCancel(context.Background())
	sc := &shapedConn{Conn: c, ctx: ctx, cancel: cancel, burst: 1 << 30}
	if l.perConn > 0 {
		sc.burst = burstOf(l.perConn)
		sc.rd = append(sc.rd, rate.NewLimiter(rate.Limit(l.perConn), sc.burst))
		sc.wr = append(sc.wr, rate.NewLimiter(rate.Limit(l.perConn), sc.burst))
	}
	if l.rd != nil {
		sc.burst = min(sc.burst, l.burst)
		sc.rd = append(sc.rd, l.rd)
		sc.wr = append(sc.wr, l.wr)
	}
	return sc
}

// wait takes n bytes from every limiter of one direction.
func (c *shapedConn) wait(ls []*rate.Limiter, n int) error {
	for _, l := range ls {
		if err := l.WaitN(c.ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (c *shapedConn) Read(p []byte) (int, error) {
	if len(p) > c.burst {
		p = p[:c.burst]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if werr := c.wait(c.rd, n); werr != nil && err == nil {
			err = net.ErrClosed
		}
	}
	return n, err
}

func (c *shapedConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), c.burst)
		if err := c.wait(c.wr, n); err != nil {
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
