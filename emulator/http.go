package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where `drivecp serve` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8421"

// ErrListen marks an address an emulator cannot listen on (taken, or not
// a local address), for which a caller can suggest another.
var ErrListen = errors.New("emulator: listen")

// ErrSetting marks a setting an emulator cannot take (an unknown storage
// type, say): the user's mistake, which `drivecp serve` reports as a usage
// error.
var ErrSetting = errors.New("emulator: setting")

// Listen listens on the TCP address addr ("127.0.0.1:0" picks a free port)
// and shapes every accepted connection by link (nil: not at all). Its
// errors wrap ErrListen.
func Listen(addr string, link *Link) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrListen, err)
	}
	return link.Shape(ln), nil
}

// Logged reports one line per request to logf, prefixed by name; a nil
// logf returns h unchanged.
func Logged(name string, h http.Handler, logf func(format string, args ...any)) http.Handler {
	if logf == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		logf("%s %s %s %d %s", name, r.Method, r.URL.Path, sw.status, time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController access to the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HTTPServer serves one handler on one listener in the background.
type HTTPServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returned
}

// StartHTTP serves h on ln until Shutdown. An error of the server other
// than its shutdown goes to logf, when set.
func StartHTTP(ln net.Listener, h http.Handler, logf func(format string, args ...any)) *HTTPServer {
	s := &HTTPServer{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && logf != nil {
			logf("emulator: serve: %v", err)
		}
	}()
	return s
}

// Addr is the listener's address.
func (s *HTTPServer) Addr() net.Addr { return s.ln.Addr() }

// URL is the server's base URL without a trailing slash, e.g.
// http://127.0.0.1:PORT.
func (s *HTTPServer) URL() string { return "http://" + s.ln.Addr().String() }

// Shutdown stops accepting requests and waits for those in flight until
// ctx ends; then it closes the connections still open.
func (s *HTTPServer) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return err
}

// Serve serves h on addr behind the faults and shaping of o, in the
// background: every request first waits o.Latency, then may be refused
// (answered by overloaded, which should answer as the cloud answers a
// request it cannot take now; nil: no request is refused) or have its
// connection reset before or part-way through the answer; connections are
// limited to o.ConnBandwidth each and o.TotalBandwidth together. logf, when
// set, gets one line per request.
// This is all an emulator with one listener needs of this package.
func Serve(addr string, h http.Handler, overloaded http.HandlerFunc, o Shaping,
	logf func(format string, args ...any)) (*HTTPServer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ln, err := Listen(addr, NewLink(o))
	if err != nil {
		return nil, err
	}
	return StartHTTP(ln, Logged("api", NewFaults(o).Wrap(h, overloaded != nil, overloaded), logf), logf), nil
}
