package cloudsigma

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// digestRealm is the realm of API 2.0's Digest challenge, as the API 2.0
// manual's example gives it.
const digestRealm = "users"

// nonceLifetime is how long a Digest nonce is taken; an older one is
// answered with a fresh challenge marked stale, so clients retry without
// asking the user again.
const nonceLifetime = 5 * time.Minute

// Session cookies of API 2.0's cookie-based login.
const (
	sessionCookie = "sessionid"
	csrfCookie    = "csrftoken"
	csrfHeader    = "X-CSRFToken"
)

// authResult is what a request's credentials amount to.
type authResult int

const (
	authNone      authResult = iota // missing or wrong: 401 with a challenge
	authOK                          // Basic, Digest or a session
	authStale                       // a Digest answer to an expired nonce: 401, stale=true
	authForbidden                   // a session request without its CSRF token: 403
)

// authenticate checks a request's credentials: HTTP Basic on both APIs;
// on API 2.0 also Digest (MD5, qop auth, or no qop as RFC 2069 has it) and
// the session cookie of `accounts/action/?do=login`, which needs the CSRF
// token in X-CSRFToken on every method but GET, HEAD and OPTIONS.
func (s *Server) authenticate(r *http.Request, v2 bool) authResult {
	if u, p, ok := r.BasicAuth(); ok {
		return boolAuth(s.credentialsMatch(u, p))
	}
	if !v2 {
		return authNone
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Digest ") {
		return s.checkDigest(r, h[7:])
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessMu.Lock()
		csrf, ok := s.sessions[c.Value]
		s.sessMu.Unlock()
		if !ok {
			return authNone
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return authOK
		}
		if got := r.Header.Get(csrfHeader); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
			return authForbidden
		}
		return authOK
	}
	return authNone
}

func boolAuth(ok bool) authResult {
	if ok {
		return authOK
	}
	return authNone
}

// credentialsMatch compares a user and password with the configured ones
// in constant time.
func (s *Server) credentialsMatch(u, p string) bool {
	uok := subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.User))
	pok := subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password))
	return uok&pok == 1
}

// challenge sets the 401 challenges: Basic, and on API 2.0 Digest with a
// fresh nonce (stale when the client's nonce had expired).
func (s *Server) challenge(w http.ResponseWriter, v2, stale bool) {
	w.Header().Add("WWW-Authenticate", `Basic realm="cloudsigma"`)
	if !v2 {
		return
	}
	d := fmt.Sprintf(`Digest realm="%s", qop="auth", algorithm="MD5", nonce="%s"`, digestRealm, s.newNonce())
	if stale {
		d += `, stale=true`
	}
	w.Header().Add("WWW-Authenticate", d)
}

// newNonce is `<unix time>:<signature>`: the server keeps no nonces, it
// checks their signature and age.
func (s *Server) newNonce() string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return ts + ":" + s.nonceSig(ts)
}

func (s *Server) nonceSig(ts string) string {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte("digest-nonce\n" + ts))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// parseDigest splits `k="v", k2=v2` into its parameters; commas inside
// quotes do not split.
func parseDigest(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest = strings.TrimLeft(rest, " \t")
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				break
			}
			v, s = rest[1:1+end], rest[2+end:]
		} else {
			v, s, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		out[k] = v
	}
	return out
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checkDigest verifies a Digest answer: HA1 = MD5(user:realm:password),
// HA2 = MD5(method:uri), response = MD5(HA1:nonce:nc:cnonce:qop:HA2) (or
// MD5(HA1:nonce:HA2) without qop). The uri must be the request's. nc is
// not tracked, so a replay within the nonce's lifetime is taken, which a
// test double can afford.
func (s *Server) checkDigest(r *http.Request, params string) authResult {
	p := parseDigest(params)
	if p["realm"] != digestRealm || p["uri"] != r.URL.RequestURI() || p["response"] == "" {
		return authNone
	}
	if alg := p["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		return authNone
	}
	if subtle.ConstantTimeCompare([]byte(p["username"]), []byte(s.cfg.User)) != 1 {
		return authNone
	}
	ts, sig, ok := strings.Cut(p["nonce"], ":")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.nonceSig(ts))) {
		return authNone
	}
	ha1 := md5hex(s.cfg.User + ":" + digestRealm + ":" + s.cfg.Password)
	ha2 := md5hex(r.Method + ":" + p["uri"])
	var want string
	switch p["qop"] {
	case "auth":
		want = md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	case "":
		want = md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
	default:
		return authNone
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(p["response"])), []byte(want)) != 1 {
		return authNone
	}
	issued, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(issued, 0)) > nonceLifetime {
		return authStale
	}
	return authOK
}

// isAccountsAction tells `POST /api/2.0/accounts/action/`, whose login
// needs no credentials.
func isAccountsAction(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/2.0/"), "/") == "accounts/action"
}

// serveAccountsAction runs `accounts/action/?do=login|logout`. Login takes
// `{"username": ..., "password": ...}`, sets the sessionid and csrftoken
// cookies and answers the user's UUID; logout ends the session of the
// request's cookie (204).
func (s *Server) serveAccountsAction(w http.ResponseWriter, r *http.Request) {
	switch actionOf(r) {
	case "login":
		var in struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := readJSON(w, r, &in); err != nil {
			writeV2StoreError(w, err)
			return
		}
		if !s.credentialsMatch(in.Username, in.Password) {
			writeV2Error(w, http.StatusUnauthorized, wire.NewError(wire.ErrTypePermission, "", "wrong username or password"))
			return
		}
		sid, csrf := randomToken(), randomToken()
		s.sessMu.Lock()
		s.sessions[sid] = csrf
		s.sessMu.Unlock()
		exp := time.Now().Add(14 * 24 * time.Hour)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/", Expires: exp})
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", Expires: exp, HttpOnly: true})
		writeJSON(w, http.StatusOK, map[string]string{"uuid": OwnerUUID})
	case "logout":
		if c, err := r.Cookie(sessionCookie); err == nil {
			s.sessMu.Lock()
			delete(s.sessions, c.Value)
			s.sessMu.Unlock()
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: "", Path: "/", MaxAge: -1})
		writeNoContent(w)
	default:
		writeUnknownAction(w, r, "login", "logout")
	}
}

// randomToken is 32 hexadecimal digits from crypto/rand.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
