package centurylink

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config sets up an emulated account.
type Config struct {
	Username, Password string
	// Alias is the account alias the login returns (default "ALIAS").
	Alias string
	// Location is the account's data center (default "WA1").
	Location string
	// TokenTTL is how long a bearer token is accepted; 0: forever.
	TokenTTL time.Duration
	// OperationTime is how long every operation takes to succeed; 0: it
	// has succeeded when it is first read.
	OperationTime time.Duration
	// Servers are made at start, already built and running, in the root
	// group from the RHEL template: "web" becomes WA1ALIASWEB01.
	Servers []string
	// Now replaces the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Emulator is the emulated API, an http.Handler.
type Emulator struct {
	cfg Config
	mux *http.ServeMux

	mu        sync.Mutex
	tokens    map[string]time.Time // token -> expiry (zero: never)
	groups    map[string]*group
	rootGroup string
	servers   []*server // in creation order
	ops       []*operation
	opSeq     int
	snapSeq   int
}

// New returns an emulator for cfg.
func New(cfg Config) *Emulator {
	if cfg.Alias == "" {
		cfg.Alias = "ALIAS"
	}
	if cfg.Location == "" {
		cfg.Location = "WA1"
	}
	cfg.Location = strings.ToUpper(cfg.Location)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Emulator{cfg: cfg, tokens: map[string]time.Time{}, groups: map[string]*group{}, opSeq: 123455}
	e.seedGroups()
	for _, name := range cfg.Servers {
		s, err := e.newServer(serverRequest{Name: name, GroupID: e.rootGroup, SourceServerID: templates[0].Name,
			CPU: 2, MemoryGB: 4, Type: "standard", StorageType: "standard"})
		if err != nil {
			panic(fmt.Sprintf("centurylink emulator: server %q: %v", name, err)) // a fixed configuration error
		}
		e.build(s)
	}
	e.routes()
	return e
}

// Config returns the configuration with defaults filled in.
func (e *Emulator) Config() Config { return e.cfg }

func (e *Emulator) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v2/authentication/login", e.login)
	m.HandleFunc("GET /v2/datacenters/{alias}/{dc}", e.auth(e.getDataCenter))
	m.HandleFunc("GET /v2/datacenters/{alias}/{dc}/deploymentCapabilities", e.auth(e.getCapabilities))
	m.HandleFunc("GET /v2/groups/{alias}/{id}", e.auth(e.getGroup))
	m.HandleFunc("POST /v2/servers/{alias}", e.auth(e.createServer))
	m.HandleFunc("GET /v2/servers/{alias}/{id}", e.auth(e.getServer))
	m.HandleFunc("PATCH /v2/servers/{alias}/{id}", e.auth(e.patchServer))
	m.HandleFunc("DELETE /v2/servers/{alias}/{id}/snapshots/{snap}", e.auth(e.deleteSnapshot))
	m.HandleFunc("POST /v2/servers/{alias}/{id}/snapshots/{snap}/restore", e.auth(e.restoreSnapshot))
	m.HandleFunc("GET /v2/operations/{alias}/status/{id}", e.auth(e.getOperation))
	m.HandleFunc("POST /v2/operations/{alias}/servers/{action}", e.auth(e.serverOperation))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
	})
	e.mux = m
}

// ServeHTTP answers one request.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	UserName      string   `json:"userName"`
	AccountAlias  string   `json:"accountAlias"`
	LocationAlias string   `json:"locationAlias"`
	Roles         []string `json:"roles"`
	BearerToken   string   `json:"bearerToken"`
}

func (e *Emulator) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Username == "" || req.Username != e.cfg.Username || req.Password != e.cfg.Password {
		writeError(w, http.StatusBadRequest, "We didn't recognize the username or password you entered. Please try again.")
		return
	}
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	e.mu.Lock()
	var exp time.Time
	if e.cfg.TokenTTL > 0 {
		exp = e.cfg.Now().Add(e.cfg.TokenTTL)
	}
	e.tokens[token] = exp
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, loginResponse{UserName: req.Username, AccountAlias: e.cfg.Alias,
		LocationAlias: e.cfg.Location, Roles: []string{"AccountAdmin"}, BearerToken: token})
}

// auth checks the bearer token and the account alias, brings operations up
// to date and runs h under the lock.
func (e *Emulator) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		e.mu.Lock()
		defer e.mu.Unlock()
		exp, known := e.tokens[token]
		if !ok || !known || (!exp.IsZero() && e.cfg.Now().After(exp)) {
			writeError(w, http.StatusUnauthorized, "Authorization has been denied for this request.")
			return
		}
		if !strings.EqualFold(r.PathValue("alias"), e.cfg.Alias) {
			writeError(w, http.StatusForbidden, "You do not have access to account "+r.PathValue("alias")+".")
			return
		}
		e.advance()
		h(w, r)
	}
}

// apiError is the API's error body.
type apiError struct {
	Message    string              `json:"message"`
	ModelState map[string][]string `json:"modelState,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Message: msg})
}

func writeInvalid(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, apiError{Message: "The request is invalid.",
		ModelState: map[string][]string{field: {msg}}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes the body into v or answers 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "The request is invalid: "+err.Error())
		return false
	}
	return true
}
