package emulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Cloud is the emulator of one cloud's API, as Serve runs it.
type Cloud interface {
	http.Handler
	// Banner is what `drivecp serve` prints for it: the endpoint and the
	// credentials, one per line, ending with one `export VAR=value ...`
	// line that points a shell at it.
	Banner(url string) string
	// Overloaded answers a request that fault injection refuses, the way
	// the cloud refuses a request it cannot take now (a 5xx a client
	// retries).
	Overloaded(w http.ResponseWriter, r *http.Request)
}

// Options are the shared flags of every emulator.
type Options struct {
	Faults FaultConfig
	// ConnBandwidth limits every connection to this many bytes per second
	// each way; 0 is unlimited.
	ConnBandwidth int64
	// OperationTime is how long asynchronous operations take.
	OperationTime time.Duration
}

// Serve serves c on ln behind the faults and shaping of o until ctx ends,
// then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, c Cloud, o Options) error {
	h := NewFaults(o.Faults).Wrap(c, true, c.Overloaded)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ShapeListener(ln, o.ConnBandwidth)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; err == nil && !errors.Is(e, http.ErrServerClosed) {
		err = e
	}
	return err
}
