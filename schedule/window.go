package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is the daily stretch of time a transfer may run in, such as
// 22:00-06:00; it may cross midnight. The zero Window is always open.
type Window struct {
	set        bool
	start, end int // seconds after midnight; end < start crosses midnight
}

// ParseWindow reads "HH:MM-HH:MM" (or HH:MM:SS, for windows shorter than
// a minute, as tests need). The end is not part of the window; a window
// whose start and end are equal would be empty or whole, so it is refused.
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, fmt.Errorf("%w: window %q: use START-END such as 22:00-06:00", ErrSyntax, s)
	}
	start, err := parseClockSeconds(strings.TrimSpace(a))
	if err != nil {
		return Window{}, fmt.Errorf("%w: window %q: %v", ErrSyntax, s, err)
	}
	end, err := parseClockSeconds(strings.TrimSpace(b))
	if err != nil {
		return Window{}, fmt.Errorf("%w: window %q: %v", ErrSyntax, s, err)
	}
	if start == end {
		return Window{}, fmt.Errorf("%w: window %q starts where it ends: leave --window out to transfer at any time", ErrSyntax, s)
	}
	return Window{set: true, start: start, end: end}, nil
}

// IsSet reports whether w restricts anything.
func (w Window) IsSet() bool { return w.set }

// Open reports whether t lies in the window.
func (w Window) Open(t time.Time) bool {
	if !w.set {
		return true
	}
	m := t.Hour()*3600 + t.Minute()*60 + t.Second()
	if w.start < w.end {
		return w.start <= m && m < w.end
	}
	return m >= w.start || m < w.end
}

// Closes returns when the window that is open at t closes. It is the zero
// time for an unset window.
func (w Window) Closes(t time.Time) time.Time {
	if !w.set {
		return time.Time{}
	}
	return nextClock(t, w.end)
}

// Opens returns when the window next opens after t (t itself if it is
// open then).
func (w Window) Opens(t time.Time) time.Time {
	if w.Open(t) {
		return t
	}
	return nextClock(t, w.start)
}

// String prints the window as ParseWindow reads it.
func (w Window) String() string {
	if !w.set {
		return "always"
	}
	return clockString(w.start) + "-" + clockString(w.end)
}

// clockString prints seconds after midnight as HH:MM, or HH:MM:SS when
// the seconds are not zero.
func clockString(sec int) string {
	if sec%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%02d:%02d", sec/3600, sec/60%60)
}

// parseClockSeconds reads HH:MM or HH:MM:SS as seconds after midnight.
func parseClockSeconds(s string) (int, error) {
	hm, sec := s, 0
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Count(s, ":") == 2 {
		hm = s[:i]
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || len(s)-i-1 != 2 || n < 0 || n > 59 {
			return 0, fmt.Errorf("time %q: use HH:MM or HH:MM:SS", s)
		}
		sec = n
	}
	m, err := parseClock(hm)
	if err != nil {
		return 0, err
	}
	return m*60 + sec, nil
}

// nextClock returns the first time after t whose wall clock reads sec
// (seconds after midnight), in t's location.
func nextClock(t time.Time, sec int) time.Time {
	y, mo, d := t.Date()
	c := time.Date(y, mo, d, sec/3600, sec/60%60, sec%60, 0, t.Location())
	if !c.After(t) {
		c = time.Date(y, mo, d+1, sec/3600, sec/60%60, sec%60, 0, t.Location())
	}
	return c
}
