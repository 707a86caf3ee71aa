package onlinelabs

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/drivecp/drivecp/emulator"
)

// Config configures an emulator.
type Config struct {
	// Token is the X-Auth-Token the emulator accepts; empty generates one.
	Token string
	// Organization is the account's organization ID; empty generates one.
	Organization string
	// OperationTime is how long asynchronous work takes (server power,
	// snapshots, tasks); 0 finishes it by the next request.
	OperationTime time.Duration
	// PageSize is the default number of objects per page of a list; 0
	// means 50.
	PageSize int
	// Now returns the current time; nil means time.Now. Tests set it to
	// step through asynchronous work.
	Now func() time.Time
}

// maxPerPage is the largest page a client may ask for.
const maxPerPage = 100

// Server is the emulator: an http.Handler over in-memory state.
type Server struct {
	cfg Config
	mu  sync.Mutex
	st  *store
}

// New returns an emulator holding the public image of the Online Labs API guide and
// nothing else.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = emulator.NewUUID()
	}
	if cfg.Organization == "" {
		cfg.Organization = emulator.NewUUID()
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, st: newStore(cfg.Now())}
}

// Config returns the emulator's configuration, with the generated token
// and organization filled in.
func (s *Server) Config() Config { return s.cfg }

// ServeHTTP authenticates the request and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("X-Auth-Token")
	switch {
	case tok == "":
		writeError(w, http.StatusUnauthorized, "invalid_auth", "The header 'X-Auth-Token' is missing", nil)
		return
	case subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.Token)) != 1:
		// The real API echoes the refused token; the emulator does not,
		// so that no trace or log of it ever shows a credential.
		writeError(w, http.StatusUnauthorized, "invalid_auth", "Invalid authentication token", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.st.advance(now, s.cfg.OperationTime)
	req := &request{w: w, r: r, now: now, segs: splitPath(r.URL.Path)}
	s.route(req)
}

// request is one API call being answered.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	now  time.Time
	segs []string
}

func splitPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

func (s *Server) route(q *request) {
	if len(q.segs) == 0 {
		notFound(q.w, "resource")
		return
	}
	type handler func(*request)
	var h map[string]handler
	id := ""
	if len(q.segs) > 1 {
		id = q.segs[1]
	}
	switch {
	case len(q.segs) == 1:
		h = map[string]handler{
			"GET /images": s.listImages, "POST /images": s.createImage,
			"GET /servers": s.listServers, "POST /servers": s.createServer,
			"GET /volumes": s.listVolumes, "POST /volumes": s.createVolume,
			"GET /snapshots": s.listSnapshots, "POST /snapshots": s.createSnapshot,
			"GET /tasks": s.listTasks,
		}
	case len(q.segs) == 2:
		h = map[string]handler{
			"GET /images":       func(q *request) { s.getImage(q, id) },
			"DELETE /images":    func(q *request) { s.deleteImage(q, id) },
			"GET /servers":      func(q *request) { s.getServer(q, id) },
			"PUT /servers":      func(q *request) { s.putServer(q, id) },
			"GET /volumes":      func(q *request) { s.getVolume(q, id) },
			"PUT /volumes":      func(q *request) { s.putVolume(q, id) },
			"DELETE /volumes":   func(q *request) { s.deleteVolume(q, id) },
			"GET /snapshots":    func(q *request) { s.getSnapshot(q, id) },
			"PUT /snapshots":    func(q *request) { s.putSnapshot(q, id) },
			"DELETE /snapshots": func(q *request) { s.deleteSnapshot(q, id) },
			"GET /tasks":        func(q *request) { s.getTask(q, id) },
		}
	case len(q.segs) == 3 && q.segs[0] == "servers" && q.segs[2] == "action":
		h = map[string]handler{
			"GET /servers":  func(q *request) { s.listActions(q, id) },
			"POST /servers": func(q *request) { s.runAction(q, id) },
		}
	}
	key := q.r.Method + " /" + q.segs[0]
	if fn, ok := h[key]; ok {
		fn(q)
		return
	}
	for k := range h {
		if strings.HasSuffix(k, " /"+q.segs[0]) {
			writeError(q.w, http.StatusMethodNotAllowed, "invalid_request_error",
				fmt.Sprintf("Method %s is not allowed on %s", q.r.Method, q.r.URL.Path), nil)
			return
		}
	}
	notFound(q.w, "resource")
}

// apiError is the API's documented error body.
type apiError struct {
	Fields  map[string][]string `json:"fields,omitempty"`
	Message string              `json:"message"`
	Type    string              `json:"type"`
}

func writeError(w http.ResponseWriter, status int, typ, msg string, fields map[string][]string) {
	writeJSON(w, status, apiError{Fields: fields, Message: msg, Type: typ})
}

// invalid answers 400 with the fields at fault, as the API's validation
// errors do.
func invalid(w http.ResponseWriter, fields map[string][]string) {
	writeError(w, http.StatusBadRequest, "invalid_request_error", "Validation Error", fields)
}

// refused answers 400 for a request that is well formed but not possible
// in the current state of the objects.
func refused(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "invalid_request_error", msg, nil)
}

func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, "unknown_resource", strings.ToUpper(what[:1])+what[1:]+" not found", nil)
}

func forbidden(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "authorization_required", "The token provided doesn't have the requested permission.", nil)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decode reads the JSON body into v; a body that is not JSON is answered
// with 400 and false.
func decode(q *request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(q.w, q.r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeError(q.w, http.StatusBadRequest, "invalid_request_error", "Invalid JSON body: "+err.Error(), nil)
		return false
	}
	return true
}

// checkOrganization answers for a body's organization: missing is a
// validation error, another organization than the token's is forbidden.
func (s *Server) checkOrganization(q *request, org string) bool {
	switch org {
	case "":
		invalid(q.w, map[string][]string{"organization": {"required key not provided"}})
		return false
	case s.cfg.Organization:
		return true
	}
	forbidden(q.w)
	return false
}

// Overloaded answers a request refused by fault injection: 503 in the
// API's error format, which clients retry.
func (s *Server) Overloaded(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusServiceUnavailable, "service_unavailable", "the service is overloaded, try again", nil)
}
