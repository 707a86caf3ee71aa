package schedule

import (
	"errors"
	"testing"
	"time"
)

// at is a time in UTC on the week of Sunday 2026-11-29.
func at(day time.Weekday, hh, mm int) time.Time {
	return time.Date(2026, 11, 29+int(day), hh, mm, 0, 0, time.UTC)
}

func TestParseTimetableErrors(t *testing.T) {
	for _, s := range []string{"", " ", "bad", "10X", "0", "-5M", "08:00", "08:00,", "24:00,1M", "8:60,1M", "08:0,1M",
		"Mon-bad,1M", "Funday-08:00,1M", "08:00,1M 08:00,2M", "Mon-08:00,1M 08:00,2M", "08:00,off,1M"} {
		if _, err := ParseTimetable(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseTimetable(%q) = %v, want ErrSyntax", s, err)
		}
	}
}

func TestTimetableDaily(t *testing.T) {
	tt, err := ParseTimetable("08:00,512K 12:00,10M;23:00,off")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t    time.Time
		rate int64
		next time.Time
	}{
		{at(time.Wednesday, 7, 59), Unlimited, at(time.Wednesday, 8, 0)}, // before the day's first: the last of the day before
		{at(time.Wednesday, 8, 0), 512 << 10, at(time.Wednesday, 12, 0)},
		{at(time.Wednesday, 11, 59), 512 << 10, at(time.Wednesday, 12, 0)},
		{at(time.Wednesday, 12, 0), 10 << 20, at(time.Wednesday, 23, 0)},
		{at(time.Wednesday, 23, 30), Unlimited, at(time.Thursday, 8, 0)},  // across midnight
		{at(time.Saturday, 23, 30), Unlimited, at(time.Saturday+1, 8, 0)}, // across the week's end
		{at(time.Sunday, 0, 0), Unlimited, at(time.Sunday, 8, 0)},         // the week's first minute
		{at(time.Sunday, 8, 0).Add(30 * time.Second), 512 << 10, at(time.Sunday, 12, 0)},
	} {
		if got := tt.At(tc.t); got != tc.rate {
			t.Errorf("At(%v) = %d, want %d", tc.t, got, tc.rate)
		}
		if got := tt.NextChange(tc.t); !got.Equal(tc.next) {
			t.Errorf("NextChange(%v) = %v, want %v", tc.t, got, tc.next)
		}
	}
}

func TestTimetableWeekly(t *testing.T) {
	tt, err := ParseTimetable("Mon-00:00,512 Fri-23:59,10M Sat-10:00,1M sunday-20:00,off")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t    time.Time
		rate int64
	}{
		{at(time.Sunday, 19, 0), 1 << 20},   // Saturday's slot goes on into Sunday
		{at(time.Sunday, 20, 0), Unlimited}, // until Sunday 20:00
		{at(time.Monday, 0, 0), 512},
		{at(time.Thursday, 12, 0), 512},
		{at(time.Friday, 23, 59), 10 << 20},
		{at(time.Saturday, 9, 59), 10 << 20},
		{at(time.Saturday, 10, 0), 1 << 20},
	} {
		if got := tt.At(tc.t); got != tc.rate {
			t.Errorf("At(%v) = %d, want %d", tc.t, got, tc.rate)
		}
	}
	if got, want := tt.NextChange(at(time.Sunday, 21, 0)), at(time.Monday, 0, 0); !got.Equal(want) {
		t.Errorf("NextChange after Sunday's slot = %v, want %v", got, want)
	}
	if got := tt.String(); got != "Sun-20:00,off Mon-00:00,512 Fri-23:59,10485760 Sat-10:00,1048576" {
		t.Errorf("String() = %q", got)
	}
}

func TestTimetableConstant(t *testing.T) {
	for s, want := range map[string]int64{"10M": 10 << 20, "off": Unlimited, "50MB/s": 50 << 20} {
		tt, err := ParseTimetable(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.At(at(time.Tuesday, 3, 3)); got != want {
			t.Errorf("%q: At = %d, want %d", s, got, want)
		}
		if !tt.NextChange(at(time.Tuesday, 3, 3)).IsZero() {
			t.Errorf("%q: a constant limit changes", s)
		}
	}
}

// TestTimetableWholeWeek walks a week minute by minute against the rule
// itself: the rate is that of the last slot started, wrapping around.
func TestTimetableWholeWeek(t *testing.T) {
	tt, err := ParseTimetable("06:30,1M 18:00,2M Wed-12:00,3M")
	if err != nil {
		t.Fatal(err)
	}
	slots := tt.Slots()
	for m := range minutesPerWeek {
		now := at(time.Sunday, 0, 0).Add(time.Duration(m) * time.Minute)
		want := slots[len(slots)-1].Rate
		for _, s := range slots {
			if s.Start <= m {
				want = s.Rate
			}
		}
		if got := tt.At(now); got != want {
			t.Fatalf("minute %d (%v): %d, want %d", m, now, got, want)
		}
		next := tt.NextChange(now)
		if !next.After(now) || next.Sub(now) > 24*time.Hour || tt.At(next.Add(-time.Minute)) != want {
			t.Fatalf("minute %d: NextChange %v does not end the slot in force", m, next)
		}
	}
}

func TestWindow(t *testing.T) {
	w, err := ParseWindow("22:00-06:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t            time.Time
		open         bool
		closes, opns time.Time
	}{
		{at(time.Monday, 21, 59), false, at(time.Tuesday, 6, 0), at(time.Monday, 22, 0)},
		{at(time.Monday, 22, 0), true, at(time.Tuesday, 6, 0), at(time.Monday, 22, 0)},
		{at(time.Monday, 23, 59), true, at(time.Tuesday, 6, 0), at(time.Monday, 23, 59)},
		{at(time.Tuesday, 0, 0), true, at(time.Tuesday, 6, 0), at(time.Tuesday, 0, 0)},
		{at(time.Tuesday, 5, 59), true, at(time.Tuesday, 6, 0), at(time.Tuesday, 5, 59)},
		{at(time.Tuesday, 6, 0), false, at(time.Wednesday, 6, 0), at(time.Tuesday, 22, 0)},
	} {
		if got := w.Open(tc.t); got != tc.open {
			t.Errorf("Open(%v) = %v", tc.t, got)
		}
		if tc.open {
			if got := w.Closes(tc.t); !got.Equal(tc.closes) {
				t.Errorf("Closes(%v) = %v, want %v", tc.t, got, tc.closes)
			}
		}
		if got := w.Opens(tc.t); !got.Equal(tc.opns) {
			t.Errorf("Opens(%v) = %v, want %v", tc.t, got, tc.opns)
		}
	}
	day, err := ParseWindow("09:30-17:00")
	if err != nil {
		t.Fatal(err)
	}
	if day.Open(at(time.Monday, 9, 29)) || !day.Open(at(time.Monday, 9, 30)) || day.Open(at(time.Monday, 17, 0)) {
		t.Error("09:30-17:00 is open at the wrong times")
	}
	if day.String() != "09:30-17:00" || (Window{}).String() != "always" || !(Window{}).Open(at(time.Monday, 3, 0)) {
		t.Error("String or the zero Window")
	}
	short, err := ParseWindow("10:00:05-10:00:07")
	if err != nil || short.String() != "10:00:05-10:00:07" {
		t.Fatalf("a window of seconds: %v %v", short, err)
	}
	if short.Open(at(time.Monday, 10, 0).Add(4*time.Second)) || !short.Open(at(time.Monday, 10, 0).Add(6*time.Second)) ||
		!short.Closes(at(time.Monday, 10, 0).Add(6*time.Second)).Equal(at(time.Monday, 10, 0).Add(7*time.Second)) {
		t.Error("10:00:05-10:00:07 is open at the wrong times")
	}
	for _, s := range []string{"", "22:00", "22:00-22:00", "25:00-06:00", "22:00-6", "a-b", "10:00:60-11:00", "10:00:5-11:00", "10:00:00:00-11:00"} {
		if _, err := ParseWindow(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseWindow(%q) = %v, want ErrSyntax", s, err)
		}
	}
}

// TestWindowDST: the boundaries follow the wall clock across a change of
// daylight saving time.
func TestWindowDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	w, _ := ParseWindow("01:00-05:00")
	// 2026-03-29: clocks go from 02:00 to 03:00.
	start := time.Date(2026, 3, 29, 0, 30, 0, 0, loc)
	if got, want := w.Opens(start), time.Date(2026, 3, 29, 1, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("Opens = %v, want %v", got, want)
	}
	if got := w.Closes(time.Date(2026, 3, 29, 1, 30, 0, 0, loc)); got.Sub(time.Date(2026, 3, 29, 1, 30, 0, 0, loc)) != 2*time.Hour+30*time.Minute {
		t.Errorf("the night the clocks go forward, the window closes at %v", got)
	}
}
