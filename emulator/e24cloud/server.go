// Package e24cloud emulates e24cloud's API v2 in memory for drivecp's
// tests and `drivecp serve`: the virtual-machine requests of the e24cloud API reference to
// the letter (the {"success":true,...} envelopes, field names and types,
// GET /v2/virtual-machines/ID answering "virtual_machine" as an array),
// plus storage volumes and disk images, with every request's signature
// checked as e24cloud's client makes it (see providers/e24cloud).
//
// Assumed where the seed is silent (state kept in memory only):
//   - errors are {"success":false,"error":{"code":N,"message":"..."}}: 401
//     for a missing or wrong signature or an X-Date more than MaxSkew
//     away, 404 for an unknown ID or path, 400 for invalid input, 405 for a
//     wrong method;
//   - PUT /v2/storage-volumes {"create_storage_volume":{"name","size","type"}}
//     answers {"success":true,"storage_volume":{"id":"N"}}; GET lists
//     "storage_volumes" and one "storage_volume" with id, name, size (GiB),
//     type, system_disk, state, virtual_machines [{id,label}];
//     POST .../ID/resize {"size":N} grows it; DELETE removes a detached one;
//   - PUT /v2/disk-images {"create_disk_image":{"name","storage_volume_id"}}
//     answers {"success":true,"disk_image":{"id":"N"}}; images have id,
//     name, size, state, storage_volume_id, public;
//   - tasks (create, resize, shutdown, reboot, reset, delete) take
//     OperationTime, passing through creating/resizing/installing/
//     shutting-down/rebooting/deleting states.
package e24cloud

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drivecp/drivecp/providers/e24cloud"
)

// Config configures an emulator.
type Config struct {
	// Key and Secret are the API credentials accepted; empty generates them.
	Key, Secret string
	// OperationTime is how long a task takes; 0 finishes it by the next
	// request.
	OperationTime time.Duration
	// MaxSkew is how far X-Date may be from the emulator's clock; 0 means
	// 15 minutes.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Server is the emulator: an http.Handler over in-memory state.
type Server struct {
	cfg    Config
	mu     sync.Mutex
	nextID int
	vms    map[string]*vm
	vols   map[string]*volume
	imgs   map[string]*image
	order  []string // IDs in creation order, for stable lists
}

// New returns an emulator holding one running machine with a system volume
// and a data volume, as the seed's lists show.
func New(cfg Config) *Server {
	if cfg.Key == "" {
		cfg.Key = randHex(8)
	}
	if cfg.Secret == "" {
		cfg.Secret = randHex(20)
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, nextID: 1000, vms: map[string]*vm{}, vols: map[string]*volume{}, imgs: map[string]*image{}}
	m := s.newVM("seed-vm", 1, 1024, "online")
	s.attach(m, s.newVolume("seed-vm-system", 10, "ssd", true, e24cloud.VolumeAttached))
	s.attach(m, s.newVolume("seed-vm-data", 20, "ssd", false, e24cloud.VolumeAttached))
	return s
}

// Config returns the configuration with the generated credentials.
func (s *Server) Config() Config { return s.cfg }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) id() string {
	s.nextID++
	id := strconv.Itoa(s.nextID)
	s.order = append(s.order, id)
	return id
}

// ServeHTTP checks the signature, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if msg := s.checkAuth(r, body); msg != "" {
		fail(w, http.StatusUnauthorized, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v2"), "/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/v2/") || len(parts) == 0 {
		fail(w, http.StatusNotFound, "no such endpoint")
		return
	}
	switch parts[0] {
	case "virtual-machines":
		s.routeVMs(w, r.Method, parts[1:], body)
	case "storage-volumes":
		s.routeVolumes(w, r.Method, parts[1:], body)
	case "disk-images":
		s.routeImages(w, r.Method, parts[1:], body)
	default:
		fail(w, http.StatusNotFound, "no such endpoint")
	}
}

// checkAuth returns why the request's signature is refused, or "".
func (s *Server) checkAuth(r *http.Request, body []byte) string {
	key, sig, ok := strings.Cut(r.Header.Get("Authorization"), ":")
	if !ok || key == "" || sig == "" {
		return "missing Authorization KEY:SIGNATURE"
	}
	date := r.Header.Get(e24cloud.DateHeader)
	t, err := http.ParseTime(date)
	if err != nil {
		return "missing or malformed X-Date"
	}
	if d := s.cfg.Now().Sub(t); d > s.cfg.MaxSkew || d < -s.cfg.MaxSkew {
		return "request date too far from the server's time"
	}
	want := e24cloud.Signature(s.cfg.Secret, r.Method, r.Host, date, r.URL.EscapedPath(), body)
	if key != s.cfg.Key || !hmac.Equal([]byte(sig), []byte(want)) {
		return "invalid signature"
	}
	return ""
}

// fail answers an error in the assumed envelope.
func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]any{"success": false, "error": map[string]any{"code": status, "message": msg}})
}

func reply(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func ok(w http.ResponseWriter, extra map[string]any) {
	m := map[string]any{"success": true}
	for k, v := range extra {
		m[k] = v
	}
	reply(w, http.StatusOK, m)
}

// decode reads a JSON body into v; false (answered 400) when it is not.
func decode(w http.ResponseWriter, body []byte, v any) bool {
	if err := json.Unmarshal(body, v); err != nil {
		fail(w, http.StatusBadRequest, "body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

// task is a state that turns into next at until ("" next: the object
// disappears).
type task struct {
	until time.Time
	next  string
	done  func()
}

func (s *Server) after(next string, done func()) *task {
	return &task{until: s.cfg.Now().Add(s.cfg.OperationTime), next: next, done: done}
}

// settle finishes every task whose time has come.
func (s *Server) settle() {
	now := s.cfg.Now()
	for _, id := range append([]string(nil), s.order...) {
		var t **task
		var state *string
		if m := s.vms[id]; m != nil {
			t, state = &m.task, &m.State
		} else if v := s.vols[id]; v != nil {
			t, state = &v.task, &v.State
		} else if i := s.imgs[id]; i != nil {
			t, state = &i.task, &i.State
		} else {
			continue
		}
		if *t != nil && !now.Before((*t).until) {
			done := (*t).done
			*state = (*t).next
			*t = nil
			if done != nil {
				done()
			}
		}
	}
}

func (s *Server) forget(id string) {
	delete(s.vms, id)
	delete(s.vols, id)
	delete(s.imgs, id)
	for i, x := range s.order {
		if x == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// Overloaded answers a request refused by fault injection: 503 in the
// API's error envelope, which clients retry.
func (s *Server) Overloaded(w http.ResponseWriter, _ *http.Request) {
	fail(w, http.StatusServiceUnavailable, "the service is overloaded, try again")
}
