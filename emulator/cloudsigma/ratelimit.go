package cloudsigma

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// RateLimits are API 2.0's call-rate limits (seed 004, §2.13): requests
// per minute by method. Zero means no limit for that method.
type RateLimits struct {
	Get, Post, Put, Delete int
}

// DocumentedRateLimits are the limits the manual documents: 10000 POST,
// PUT and GET requests a minute, and 1000 DELETE ("these limits may
// change in future").
func DocumentedRateLimits() RateLimits {
	return RateLimits{Get: 10000, Post: 10000, Put: 10000, Delete: 1000}
}

// ParseRateLimits reads `serve --rate-limits`: "documented" for the
// manual's limits, or METHOD=N pairs separated by commas, which replace
// the documented limit of those methods (GET=100,DELETE=10).
func ParseRateLimits(s string) (RateLimits, error) {
	l := DocumentedRateLimits()
	if strings.TrimSpace(s) == "documented" {
		return l, nil
	}
	for _, pair := range strings.Split(s, ",") {
		method, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		n, err := strconv.Atoi(value)
		if !ok || err != nil || n <= 0 {
			return RateLimits{}, fmt.Errorf("rate limit %q: give documented, or METHOD=N (requests per minute) such as GET=100,DELETE=10", pair)
		}
		switch strings.ToUpper(method) {
		case http.MethodGet:
			l.Get = n
		case http.MethodPost:
			l.Post = n
		case http.MethodPut:
			l.Put = n
		case http.MethodDelete:
			l.Delete = n
		default:
			return RateLimits{}, fmt.Errorf("rate limit %q: the API limits GET, POST, PUT and DELETE", pair)
		}
	}
	return l, nil
}

// of returns the limit of method, 0 for none.
func (l RateLimits) of(method string) int {
	switch method {
	case http.MethodGet, http.MethodHead:
		return l.Get
	case http.MethodPost:
		return l.Post
	case http.MethodPut:
		return l.Put
	case http.MethodDelete:
		return l.Delete
	}
	return 0
}

// rateLimiter counts an account's API 2.0 requests by method over a
// sliding window, a minute as documented. The emulator has one account, so one set of counters;
// they count requests that passed authentication, as the limits protect
// the API from its users.
type rateLimiter struct {
	limits RateLimits
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string][]time.Time // by method: the times of the window's requests, oldest first
}

// newRateLimiter returns the limiter of l over window (0: a minute),
// reading the time from now (nil: time.Now).
func newRateLimiter(l RateLimits, window time.Duration, now func() time.Time) *rateLimiter {
	if window <= 0 {
		window = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{limits: l, window: window, now: now, seen: map[string][]time.Time{}}
}

// admit counts a request of method, or says how long until the window
// has room for it when it has none.
func (rl *rateLimiter) admit(method string) (wait time.Duration, ok bool) {
	limit := rl.limits.of(method)
	if limit <= 0 {
		return 0, true
	}
	if method == http.MethodHead {
		method = http.MethodGet
	}
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	times := rl.seen[method]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= rl.window {
		i++
	}
	times = times[i:]
	if len(times) >= limit {
		rl.seen[method] = times
		return times[0].Add(rl.window).Sub(now), false
	}
	rl.seen[method] = append(times, now)
	return 0, true
}

// refuse answers a request over its limit. The manual lists no status for
// it: this is what the API's framework (django-tastypie, whose list
// shape `meta`/`objects` API 2.0 has) answers a throttled request, 429,
// with a Retry-After and the body of §4.1, typed as the API types errors
// that should be retried.
func (rl *rateLimiter) refuse(w http.ResponseWriter, method string, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	per := "a minute"
	if rl.window != time.Minute {
		per = "in " + rl.window.String()
	}
	writeV2Error(w, http.StatusTooManyRequests, wire.NewError(wire.ErrTypeConcurrency, "",
		"request limit reached: at most %d %s requests %s", rl.limits.of(method), method, per))
}
