package cloudsigma

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// Defaults of Config.
const (
	DefaultUser      = "user@example.com"
	DefaultPassword  = "secret"
	DefaultURLExpiry = 10 * time.Minute
	DefaultAddr      = shared.DefaultAddr
)

// Config configures a Server. Every field is a plain value so a command can
// bind flags to it directly; the zero value serves on a random loopback
// port with the default credentials from a temporary folder.
type Config struct {
	// Addr is the API listener's address; "127.0.0.1:0" picks a free port.
	// Empty means 127.0.0.1:0.
	Addr string
	// StorageAddr is the address of the listener serving signed download
	// URLs; empty means a free port on Addr's host.
	StorageAddr string
	// DataDir keeps drives and metadata across restarts; empty means a
	// temporary folder removed by Close.
	DataDir string
	// User and Password are the only accepted Basic credentials (defaults
	// DefaultUser and DefaultPassword).
	User, Password string
	// URLExpiry is how long a signed download URL is valid (default
	// DefaultURLExpiry).
	URLExpiry time.Duration
	// JobDuration is how long clone, snapshot and resize jobs take
	// (default DefaultJobDuration; negative: they finish at once).
	JobDuration time.Duration
	// Transition is how long a drive created through the API stays
	// `creating`, and one an edit resized `resizing` (default
	// DefaultTransition; negative: none).
	Transition time.Duration
	// JobSpeed, when positive, makes jobs take the drive's size divided by
	// this many bytes per second (at least JobDuration if that is set).
	JobSpeed int64
	// MaxDriveSize is the largest drive accepted (and reported by the
	// capabilities); 0 means MaxDriveSize, the manual's 4 TiB.
	MaxDriveSize int64

	// FailRate is the fraction of API requests answered 503 before they
	// touch any state.
	FailRate float64
	// ResetRate is the fraction of requests, on either listener, whose
	// connection is dropped before or in the middle of the response.
	ResetRate float64
	// Latency is added before every request is handled.
	Latency time.Duration
	// ConnBandwidth limits each connection to this many bytes per second,
	// each direction; 0 is unlimited.
	ConnBandwidth int64
	// TotalBandwidth limits all connections of both listeners together
	// (the client's link); 0 is unlimited.
	TotalBandwidth int64
	// MaxConcurrent answers an API request 503, as the API answers
	// concurrent requests it cannot take, while this many of the same
	// client host are in flight; 0 is no limit.
	MaxConcurrent int
	// StorageTypes are the storage types offered, comma-separated (dssd,
	// zadara); empty means DefaultStorageTypes (dssd only).
	StorageTypes string
	// NoRange makes the storage listener ignore Range headers.
	NoRange bool
	// RateLimits, when not zero, limits API 2.0 requests per minute by
	// method as the manual documents (DocumentedRateLimits); over the limit
	// a request is answered 429.
	RateLimits RateLimits
	// RateWindow is the time the limits count over: 0 means the manual's
	// minute; tests shorten it.
	RateWindow time.Duration
	// Seed makes fault injection reproducible.
	Seed int64

	// Logf, when set, receives one line per request.
	Logf func(format string, args ...any)
}

// Server is a running emulator.
type Server struct {
	cfg     Config
	store   *Store
	tempDir string // removed by Close when DataDir was empty
	signKey []byte
	faults  *shared.Faults

	api, storage       *router
	v1                 *router
	apiHandler         http.Handler
	storageHandler     http.Handler
	apiSrv, storageSrv *shared.HTTPServer
	storageBase        string // e.g. http://127.0.0.1:PORT; empty until Start
	storageAuthHeaders atomic.Int64
	closeOnce          sync.Once
	closeErr           error
	bufPool            sync.Pool
	sessMu             sync.Mutex
	sessions           map[string]string // session id → its CSRF token
	offer              storageOffer
	ioMu               sync.Mutex
	io                 map[string]*v1IO // API 1.0 I/O counters by drive
	gzipReaders        sync.Pool        // of *gzip.Reader
	limiter            *rateLimiter     // nil without Config.RateLimits
}

// New builds a server and opens its store; Start makes it listen.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.URLExpiry <= 0 {
		cfg.URLExpiry = DefaultURLExpiry
	}
	if err := cfg.shaping().Validate(); err != nil {
		return nil, err
	}
	offer, err := parseStorageTypes(cfg.StorageTypes)
	if err != nil {
		return nil, err
	}
	if cfg.MaxDriveSize > 0 {
		// What capabilities promise is what the store accepts.
		for typ, r := range offer {
			r.Max = cfg.MaxDriveSize
			offer[typ] = r
		}
	}
	s := &Server{cfg: cfg, signKey: make([]byte, 32), sessions: map[string]string{}, offer: offer, io: map[string]*v1IO{}}
	_, _ = rand.Read(s.signKey)
	dir := cfg.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "drivecp-emulator-")
		if err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		s.tempDir, dir = tmp, tmp
	}
	st, err := OpenStore(StoreOptions{Dir: dir, JobDuration: cfg.JobDuration, JobSpeed: cfg.JobSpeed, MaxDriveSize: cfg.MaxDriveSize,
		Transition: cfg.Transition})
	if err != nil {
		s.removeTemp()
		return nil, err
	}
	s.store = st
	s.faults = shared.NewFaults(cfg.shaping())
	if cfg.RateLimits != (RateLimits{}) {
		s.limiter = newRateLimiter(cfg.RateLimits, cfg.RateWindow, nil)
	}
	s.bufPool.New = func() any { b := make([]byte, copyBufSize); return &b }
	s.routes()
	return s, nil
}

// shaping is the misbehaviour of cfg in the terms every emulator shares.
func (cfg Config) shaping() shared.Shaping {
	return shared.Shaping{FailRate: cfg.FailRate, ResetRate: cfg.ResetRate, Latency: cfg.Latency,
		ConnBandwidth: cfg.ConnBandwidth, TotalBandwidth: cfg.TotalBandwidth, MaxConcurrent: cfg.MaxConcurrent, Seed: cfg.Seed}
}

// copyBufSize is the buffer of body copies: big enough that a 4 MiB chunk is
// a handful of system calls.
const copyBufSize = 1 << 20

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// Store returns the server's state, for tests and in-process tools.
func (s *Server) Store() *Store { return s.store }

// Config returns the configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) routes() {
	s.v1 = &router{prefix: "/", notFound: func(w http.ResponseWriter, r *http.Request) {
		writeV1Error(w, http.StatusNotFound, "path", "no such command: "+r.URL.Path)
	}, notAllowed: func(w http.ResponseWriter, r *http.Request) {
		writeV1Error(w, http.StatusMethodNotAllowed, "method", r.Method+" is not allowed here")
	}}
	s.api = &router{prefix: "/api/2.0/", notFound: func(w http.ResponseWriter, r *http.Request) {
		writeV2Error(w, http.StatusNotFound, wire.NewError(wire.ErrTypeNotExist, "", "no such resource: %s", r.URL.Path))
	}, notAllowed: func(w http.ResponseWriter, r *http.Request) {
		writeV2Error(w, http.StatusMethodNotAllowed, wire.NewError(wire.ErrTypeValidation, "", "method %s is not allowed here", r.Method))
	}}
	s.storage = &router{prefix: "/", notFound: func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	}, notAllowed: func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}}
	s.registerV1()
	s.registerTransfers()
	s.registerV2Resources()
	s.registerSchemas()
	s.storage.handle("dl/{uuid}", map[string]http.HandlerFunc{http.MethodGet: s.serveDownload})

	v2Handler := negotiated(s.api)
	accounts := negotiated(http.HandlerFunc(s.serveAccountsAction))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v2 := isV2(r)
		if v2 && isAccountsAction(r) {
			// Login is how a session gets credentials: it needs none.
			accounts.ServeHTTP(w, r)
			return
		}
		if l, ok := isChunkLink(r); v2 && ok {
			// A chunk link is signed instead.
			s.serveChunkLink(w, r, l)
			return
		}
		switch auth := s.authenticate(r, v2); auth {
		case authOK:
		case authForbidden:
			writeV2Error(w, http.StatusForbidden, wire.NewError(wire.ErrTypePermission, csrfHeader,
				"a session request other than GET needs the csrftoken cookie's value in the X-CSRFToken header"))
			return
		case authStale, authNone:
			s.challenge(w, v2, auth == authStale)
			if v2 {
				writeV2Error(w, http.StatusUnauthorized, wire.NewError(wire.ErrTypePermission, "", "authentication required"))
			} else {
				writeV1Error(w, http.StatusUnauthorized, "auth", "HTTP Basic authentication missing or incorrect")
			}
			return
		}
		if v2 {
			if s.limiter != nil {
				if wait, ok := s.limiter.admit(r.Method); !ok {
					s.limiter.refuse(w, r.Method, wait)
					return
				}
			}
			v2Handler.ServeHTTP(w, r)
			return
		}
		s.v1.ServeHTTP(w, r)
	})
	top := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Without a storage listener (Handler used alone, e.g. under
		// httptest) downloads are served here, still without auth.
		if s.storageBase == "" && strings.HasPrefix(r.URL.Path, "/dl/") {
			s.storageHandler.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
	s.apiHandler = shared.Logged("api", s.faults.Wrap(top, true, func(w http.ResponseWriter, r *http.Request) {
		if isV2(r) {
			writeV2Error(w, http.StatusServiceUnavailable, wire.NewError(wire.ErrTypeConcurrency, "", "injected failure: please retry"))
		} else {
			writeV1Error(w, http.StatusServiceUnavailable, "service", "injected failure: please retry")
		}
	}), s.cfg.Logf)
	storage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			s.storageAuthHeaders.Add(1)
		}
		s.storage.ServeHTTP(w, r)
	})
	s.storageHandler = shared.Logged("storage", s.faults.Wrap(storage, false, nil), s.cfg.Logf)
}

func isV2(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/2.0/") || r.URL.Path == "/api/2.0"
}

// Handler returns the API handler (API 1.0 at `/`, API 2.0 at `/api/2.0/`),
// with fault injection but without bandwidth shaping, which lives in the
// listener. Used alone, downloads redirect to `/dl/` on the same host.
func (s *Server) Handler() http.Handler { return s.apiHandler }

// StorageHandler returns the handler of the signed download URLs.
func (s *Server) StorageHandler() http.Handler { return s.storageHandler }

// Start listens on the API and storage addresses and serves in the
// background until Close or Shutdown.
func (s *Server) Start() error {
	link := shared.NewLink(s.cfg.shaping()) // one link for both listeners
	apiLn, err := shared.Listen(s.cfg.Addr, link)
	if err != nil {
		return err
	}
	saddr := s.cfg.StorageAddr
	if saddr == "" {
		host, _, _ := net.SplitHostPort(apiLn.Addr().String())
		saddr = net.JoinHostPort(host, "0")
	}
	stLn, err := shared.Listen(saddr, link)
	if err != nil {
		apiLn.Close()
		return fmt.Errorf("storage host: %w", err)
	}
	s.storageBase = "http://" + stLn.Addr().String()
	s.apiSrv = shared.StartHTTP(apiLn, s.apiHandler, s.cfg.Logf)
	s.storageSrv = shared.StartHTTP(stLn, s.storageHandler, s.cfg.Logf)
	return nil
}

// URL is the API base, e.g. http://127.0.0.1:PORT/ (API 2.0 is under
// api/2.0/ of it). Empty before Start.
func (s *Server) URL() string {
	if s.apiSrv == nil {
		return ""
	}
	return s.apiSrv.URL() + "/"
}

// StorageURL is the base of the download listener, e.g.
// http://127.0.0.1:PORT/. Empty before Start.
func (s *Server) StorageURL() string {
	if s.storageBase == "" {
		return ""
	}
	return s.storageBase + "/"
}

// StorageAuthHeaders counts the requests to the storage listener that
// carried an Authorization header: a client following the download redirect
// must never send credentials there, so tests assert zero.
func (s *Server) StorageAuthHeaders() int64 { return s.storageAuthHeaders.Load() }

// Shutdown stops accepting requests and waits for those in flight until ctx
// ends, then releases the store's temporary folder.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, srv := range []*shared.HTTPServer{s.apiSrv, s.storageSrv} {
			if srv != nil {
				errs = append(errs, srv.Shutdown(ctx))
			}
		}
		s.removeTemp()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Close stops the server, giving requests in flight a few seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// signedURL returns the storage listener's URL for downloading a drive,
// valid until now+URLExpiry.
func (s *Server) signedURL(uuid string) string {
	exp := time.Now().Add(s.cfg.URLExpiry).Unix()
	base := s.storageBase
	q := "?expires=" + strconv.FormatInt(exp, 10) + "&sig=" + s.sign(uuid, exp)
	return base + "/dl/" + uuid + q
}

func (s *Server) sign(uuid string, exp int64) string {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(uuid + "\n" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSignature validates a download URL's expiry and signature.
func (s *Server) checkSignature(uuid, expires, sig string) bool {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || time.Now().Unix() > exp {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.sign(uuid, exp)))
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(wire.NewError(wire.ErrTypeBackend, "", "encode response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if jw, ok := w.(*jsonWriter); ok && jw.gzip {
		if z, err := gzipBody(b); err == nil {
			w.Header().Set("Content-Encoding", "gzip")
			b = z
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeV2Error answers an API 2.0 error list.
func writeV2Error(w http.ResponseWriter, status int, list wire.ErrorList) {
	writeJSON(w, status, list)
}

// writeV2StoreError maps a Store error to the API 2.0 status and error
// type: not found 404 notexist, invalid 400 validation (with the field as
// error_point), busy 503 concurrency (retry), anything else 500 backend.
func writeV2StoreError(w http.ResponseWriter, err error) {
	field, msg := FieldOf(err), MessageOf(err)
	switch {
	case errors.Is(err, ErrNotFound):
		writeV2Error(w, http.StatusNotFound, wire.NewError(wire.ErrTypeNotExist, field, "%s", msg))
	case errors.Is(err, ErrInvalid):
		writeV2Error(w, http.StatusBadRequest, wire.NewError(wire.ErrTypeValidation, field, "%s", msg))
	case errors.Is(err, ErrBusy):
		writeV2Error(w, http.StatusServiceUnavailable, wire.NewError(wire.ErrTypeConcurrency, field, "%s", msg))
	case errors.Is(err, context.Canceled):
		// The client is gone; nobody reads the answer.
		writeV2Error(w, http.StatusServiceUnavailable, wire.NewError(wire.ErrTypeBackend, "", "request cancelled"))
	default:
		writeV2Error(w, http.StatusInternalServerError, wire.NewError(wire.ErrTypeBackend, field, "%s", msg))
	}
}

// writeV1Error answers an API 1.0 error: `errors:FIELD message`.
func writeV1Error(w http.ResponseWriter, status int, field, msg string) {
	msg = strings.ReplaceAll(msg, "\n", " ")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%s:%s %s\n", wire.V1ErrorKey, field, msg)
}

// writeV1StoreError maps a Store error to API 1.0: not found 404, invalid
// 400, busy 409, anything else 500.
func writeV1StoreError(w http.ResponseWriter, err error) {
	field := FieldOf(err)
	if field == "" || field == "uuid" {
		field = "drive"
	}
	switch {
	case errors.Is(err, ErrNotFound):
		writeV1Error(w, http.StatusNotFound, field, MessageOf(err))
	case errors.Is(err, ErrInvalid):
		writeV1Error(w, http.StatusBadRequest, field, MessageOf(err))
	case errors.Is(err, ErrBusy):
		writeV1Error(w, http.StatusConflict, field, MessageOf(err))
	default:
		writeV1Error(w, http.StatusInternalServerError, field, MessageOf(err))
	}
}

func (s *Server) getBuf() *[]byte  { return s.bufPool.Get().(*[]byte) }
func (s *Server) putBuf(b *[]byte) { s.bufPool.Put(b) }
