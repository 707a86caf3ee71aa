package cloudsigma

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// digestAnswer computes an RFC 2617 Digest Authorization header for a
// challenge's nonce, as the API 2.0 manual's example does.
func digestAnswer(user, password, method, uri, nonce, qop string) string {
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	ha1, ha2 := h(user+":users:"+password), h(method+":"+uri)
	if qop == "" {
		return fmt.Sprintf(`Digest username="%s", realm="users", nonce="%s", uri="%s", response="%s"`,
			user, nonce, uri, h(ha1+":"+nonce+":"+ha2))
	}
	const nc, cnonce = "00000001", "0a4f113b"
	return fmt.Sprintf(`Digest username="%s", realm="users", nonce="%s", uri="%s", qop=%s, nc=%s, cnonce="%s", algorithm="MD5", response="%s"`,
		user, nonce, uri, qop, nc, cnonce, h(ha1+":"+nonce+":"+nc+":"+cnonce+":"+qop+":"+ha2))
}

// challengeNonce reads the nonce of a Digest challenge.
func challengeNonce(t *testing.T, hdrs []string) (nonce string, stale bool) {
	t.Helper()
	for _, h := range hdrs {
		if !strings.HasPrefix(h, "Digest ") {
			continue
		}
		p := parseDigest(h[len("Digest "):])
		if p["realm"] != "users" || p["qop"] != "auth" || p["algorithm"] != "MD5" || p["nonce"] == "" {
			t.Fatalf("Digest challenge %q", h)
		}
		return p["nonce"], p["stale"] == "true"
	}
	t.Fatalf("no Digest challenge in %q", hdrs)
	return "", false
}

// TestV2Authentication: the three documented ways in (Basic, Digest, a
// session from accounts/action/?do=login with its CSRF token) and how each
// is refused.
func TestV2Authentication(t *testing.T) {
	s := startServer(t, Config{})
	base := s.URL() + "api/2.0/"
	const path = "/api/2.0/drives/?limit=0"

	// The challenge offers Basic, then Digest.
	resp, _ := call{method: "GET", url: s.URL() + path[1:], noAuth: true}.do(t)
	hdrs := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != 401 || len(hdrs) != 2 || !strings.HasPrefix(hdrs[0], "Basic ") {
		t.Fatalf("challenge %d %q", resp.StatusCode, hdrs)
	}
	nonce, _ := challengeNonce(t, hdrs)
	oldTS := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	oldNonce := oldTS + ":" + s.nonceSig(oldTS)

	digest := []struct {
		name, method, uri, sentURI, password, nonce, qop string
		status                                           int
		stale                                            bool
	}{
		{"digest qop auth", "GET", path, path, DefaultPassword, nonce, "auth", 200, false},
		{"digest without qop", "GET", path, path, DefaultPassword, nonce, "", 200, false},
		{"digest on a POST", "POST", "/api/2.0/drives/", "/api/2.0/drives/", DefaultPassword, nonce, "auth", 400, false},
		{"digest wrong password", "GET", path, path, "wrong", nonce, "auth", 401, false},
		{"digest for another uri", "GET", path, "/api/2.0/snapshots/", DefaultPassword, nonce, "auth", 401, false},
		{"digest forged nonce", "GET", path, path, DefaultPassword, "1:00000000000000000000000000000000", "auth", 401, false},
		{"digest expired nonce", "GET", path, path, DefaultPassword, oldNonce, "auth", 401, true},
		{"digest unknown qop", "GET", path, path, DefaultPassword, nonce, "auth-int", 401, false},
	}
	for _, tt := range digest {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := call{method: tt.method, url: s.URL() + tt.uri[1:], noAuth: true, body: strings.NewReader("{}"),
				header: map[string]string{"Authorization": digestAnswer(DefaultUser, tt.password, tt.method, tt.sentURI, tt.nonce, tt.qop)}}.do(t)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status == 401 {
				if _, stale := challengeNonce(t, resp.Header.Values("WWW-Authenticate")); stale != tt.stale {
					t.Fatalf("stale=%v, want %v", stale, tt.stale)
				}
			}
		})
	}

	// API 1.0 knows Basic only.
	resp, _ = call{method: "GET", url: s.URL() + "drives/list", noAuth: true,
		header: map[string]string{"Authorization": digestAnswer(DefaultUser, DefaultPassword, "GET", "/drives/list", nonce, "auth")}}.do(t)
	if resp.StatusCode != 401 || len(resp.Header.Values("WWW-Authenticate")) != 1 {
		t.Fatalf("API 1.0 digest: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}

	// Sessions.
	login := func(password string) *http.Response {
		resp, _ := call{method: "POST", url: base + "accounts/action/?do=login", noAuth: true,
			body: strings.NewReader(`{"username": "` + DefaultUser + `", "password": "` + password + `"}`)}.do(t)
		return resp
	}
	if r := login("wrong"); r.StatusCode != 401 || len(r.Cookies()) != 0 {
		t.Fatalf("login with a wrong password: %d %v", r.StatusCode, r.Cookies())
	}
	lr := login(DefaultPassword)
	var sid, csrf string
	for _, c := range lr.Cookies() {
		switch c.Name {
		case "sessionid":
			sid = c.Value
		case "csrftoken":
			csrf = c.Value
		}
	}
	if lr.StatusCode != 200 || sid == "" || csrf == "" {
		t.Fatalf("login: %d %v", lr.StatusCode, lr.Cookies())
	}
	cookie := "sessionid=" + sid + "; csrftoken=" + csrf
	session := []struct {
		name, method, path, cookie, csrf string
		status                           int
	}{
		{"session GET", "GET", "drives/", cookie, "", 200},
		{"session POST without the CSRF token", "POST", "drives/", cookie, "", 403},
		{"session POST with a wrong CSRF token", "POST", "drives/", cookie, "nope", 403},
		{"session POST with the CSRF token", "POST", "drives/", cookie, csrf, 201},
		{"unknown session", "GET", "drives/", "sessionid=nope", "", 401},
		{"logout", "POST", "accounts/action/?do=logout", cookie, csrf, 204},
		{"session GET after logout", "GET", "drives/", cookie, "", 401},
	}
	for _, tt := range session {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Cookie": tt.cookie, "Content-Type": "application/json"}
			if tt.csrf != "" {
				h["X-CSRFToken"] = tt.csrf
			}
			resp, b := call{method: tt.method, url: base + tt.path, noAuth: true, header: h,
				body: strings.NewReader(`{"name": "session drive", "size": 536870912, "media": "disk"}`)}.do(t)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
		})
	}
}
