package cloudsigma

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	shared "github.com/drivecp/drivecp/emulator"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

func TestParseRateLimits(t *testing.T) {
	if l, err := ParseRateLimits("documented"); err != nil || l != DocumentedRateLimits() {
		t.Errorf("documented: %+v %v", l, err)
	}
	l, err := ParseRateLimits("get=600, DELETE=60")
	want := DocumentedRateLimits()
	want.Get, want.Delete = 600, 60
	if err != nil || l != want {
		t.Errorf("get=600, DELETE=60: %+v %v, want %+v", l, err, want)
	}
	for _, bad := range []string{"", "GET", "GET=0", "GET=-1", "PATCH=5", "GET=x"} {
		if _, err := ParseRateLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := Start(shared.Settings{Addr: "127.0.0.1:0", RateLimits: "GET=none"}); err == nil {
		t.Error("serve accepted --rate-limits GET=none")
	}
}

// TestRateLimiterWindow: requests count per method over a sliding window;
// the one over the limit learns when the window has room again.
func TestRateLimiterWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	rl := newRateLimiter(RateLimits{Get: 3, Delete: 1}, 0, func() time.Time { return now })
	for i := range 3 {
		if _, ok := rl.admit(http.MethodGet); !ok {
			t.Fatalf("GET %d refused under the limit", i+1)
		}
		now = now.Add(10 * time.Second)
	}
	wait, ok := rl.admit(http.MethodGet)
	if ok || wait != 30*time.Second {
		t.Errorf("4th GET within the minute: ok %v, wait %v; want refused for 30s", ok, wait)
	}
	if _, ok := rl.admit(http.MethodHead); ok {
		t.Error("HEAD is a GET and was admitted over the GET limit")
	}
	if _, ok := rl.admit(http.MethodDelete); !ok {
		t.Error("DELETE refused: it has its own limit")
	}
	if _, ok := rl.admit(http.MethodDelete); ok {
		t.Error("2nd DELETE admitted over a limit of 1")
	}
	if _, ok := rl.admit(http.MethodPost); !ok {
		t.Error("POST refused without a limit")
	}
	now = now.Add(30 * time.Second) // the first GET is a minute old
	if _, ok := rl.admit(http.MethodGet); !ok {
		t.Error("GET refused once the first left the window")
	}
}

// TestRateLimitsAnswer: over its limit an authenticated API 2.0 request is
// answered 429 with Retry-After and a §4.1 error list; API 1.0 and refused
// credentials do not count.
func TestRateLimitsAnswer(t *testing.T) {
	s := startServer(t, Config{RateLimits: RateLimits{Get: 2}})
	get := func(path, password string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(s.URL(), "/")+path, nil)
		req.SetBasicAuth(s.Config().User, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := get("/api/2.0/drives/", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	for range 3 {
		if resp := get("/drives/info", s.Config().Password); resp.StatusCode != http.StatusOK {
			t.Fatalf("API 1.0: %d", resp.StatusCode)
		}
	}
	for i := range 2 {
		if resp := get("/api/2.0/drives/", s.Config().Password); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := get("/api/2.0/drives/", s.Config().Password)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("3rd GET in a minute: %d, want 429", resp.StatusCode)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After %q, want 1..60 seconds", resp.Header.Get("Retry-After"))
	}
	var list wire.ErrorList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 || list[0].ErrorType != wire.ErrTypeConcurrency {
		t.Errorf("body %+v %v, want one §4.1 error of type concurrency", list, err)
	}
}
