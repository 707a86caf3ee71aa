package emulator

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Settings are what `drivecp serve` tells the emulator of the chosen cloud.
// Every emulator honours Addr, Shaping, OperationTime and Logf; the other
// fields concern features only some emulators have, and the others ignore
// them.
type Settings struct {
	// Addr is the API listener's address; "127.0.0.1:0" picks a free port.
	Addr string
	// Shaping is the misbehaviour to inject.
	Shaping Shaping
	// OperationTime is how long asynchronous work (jobs, tasks) takes; see
	// Entry.OperationTime for its default.
	OperationTime time.Duration
	// Logf, when set, receives one line per request.
	Logf func(format string, args ...any)

	// DataDir keeps the state of an emulator that stores it on disk
	// across restarts; empty means a temporary folder removed on Shutdown.
	DataDir string
	// User and Password are the credentials of an emulator that accepts
	// a user name and password; empty means its defaults. Emulators of
	// clouds with tokens or keys make their own and print them.
	User, Password string
	// StorageAddr is the listener of an emulator that serves downloads
	// from a second host; empty means a free port on Addr's host.
	StorageAddr string
	// URLExpiry is how long a signed download URL is valid; 0 means the
	// emulator's default.
	URLExpiry time.Duration
	// NoRange makes the download host ignore Range headers.
	NoRange bool
	// TokenTTL is how long a bearer token an emulator hands out stays
	// valid; 0 means the emulator's default.
	TokenTTL time.Duration
	// MaxDriveSize is the largest drive an emulator that limits sizes
	// accepts; 0 means its cloud's documented limit.
	MaxDriveSize int64
	// StorageTypes are the storage types an emulator of a cloud that has
	// them offers, comma-separated (CloudSigma: dssd, zadara); empty
	// means the emulator's default.
	StorageTypes string
	// Transition is how long a resource an emulator that has such states
	// creates or resizes stays in its transitional state (CloudSigma:
	// `creating`, `resizing`); 0 means the emulator's default, negative
	// none.
	Transition time.Duration
	// RateLimits are the request limits of an emulator of a cloud that
	// documents them (CloudSigma API 2.0): "documented", or METHOD=N
	// pairs (requests per minute) replacing the documented ones; empty
	// means none.
	RateLimits string
}

// Running is an emulator serving in the background.
type Running interface {
	// Banner is what `drivecp serve` prints: the endpoint and the
	// credentials, one per line, then ExportLine's line.
	Banner() string
	// Shutdown stops the emulator, waiting for requests in flight until
	// ctx ends.
	Shutdown(ctx context.Context) error
}

// Entry is one cloud's emulator as `drivecp serve --cloud NAME` finds it
// (the list is emulator/all's).
type Entry struct {
	// OperationTime is how long asynchronous work takes when the user
	// does not say.
	OperationTime time.Duration
	// Start starts the emulator. Its error wraps ErrListen when the
	// address cannot be listened on.
	Start func(Settings) (Running, error)
}

// Cloud is the emulator of a cloud whose API is one handler on one
// listener; StartCloud serves it.
type Cloud interface {
	http.Handler
	// Banner is Running.Banner for the emulator served at url.
	Banner(url string) string
	// Overloaded answers a request that fault injection refuses, the way
	// the cloud refuses a request it cannot take now (a 5xx a client
	// retries).
	Overloaded(w http.ResponseWriter, r *http.Request)
}

// StartCloud serves c on s.Addr behind s.Shaping (see Serve).
func StartCloud(c Cloud, s Settings) (Running, error) {
	srv, err := Serve(s.Addr, c, c.Overloaded, s.Shaping, s.Logf)
	if err != nil {
		return nil, err
	}
	return &runningCloud{HTTPServer: srv, banner: c.Banner(srv.URL())}, nil
}

type runningCloud struct {
	*HTTPServer
	banner string
}

func (r *runningCloud) Banner() string { return r.banner }

// Var is one variable of an export line.
type Var struct{ Name, Value string }

// ExportLine returns `export NAME=VALUE ...` and a newline, every value
// quoted for a POSIX shell where it needs it, so that `eval` of the line
// sets exactly these values.
func ExportLine(vars ...Var) string {
	var b strings.Builder
	b.WriteString("export")
	for _, v := range vars {
		b.WriteString(" " + v.Name + "=" + ShellQuote(v.Value))
	}
	b.WriteString("\n")
	return b.String()
}

// ShellQuote quotes s for a POSIX shell when it holds anything but
// characters no shell treats specially.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
