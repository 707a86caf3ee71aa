// Package schedule reads the time-of-day rules a nightly transfer on a
// shared link lives by: a bandwidth timetable in rclone's --bwlimit syntax
// and a transfer window such as 22:00-06:00. Both are evaluated in the
// location of the times they are given (local time on the command line),
// so daylight saving time moves the boundaries with the wall clock.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drivecp/drivecp/internal/units"
)

// ErrSyntax marks a timetable or window that cannot be parsed.
var ErrSyntax = errors.New("invalid schedule")

// Unlimited is the rate of a slot whose limit is "off".
const Unlimited int64 = -1

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
)

// Slot is one entry of a Timetable: from its start on, the rate applies
// until the next slot's start.
type Slot struct {
	// Start is the minute of the week the slot starts, Sunday 00:00 being
	// 0 (time.Weekday's numbering).
	Start int
	// Rate is bytes per second, or Unlimited.
	Rate int64
}

// Timetable is a weekly schedule of bandwidth limits, slots sorted by
// start. An empty Timetable means no limit.
type Timetable struct{ slots []Slot }

// ParseTimetable reads rclone's --bwlimit syntax:
//
//	"10M"                             a constant limit
//	"off"                             no limit
//	"08:00,512k 12:00,10M 23:00,off"  daily slots (every day of the week)
//	"Mon-08:00,512k Sat-00:00,off"    weekly slots
//
// Entries are separated by spaces or semicolons; daily and weekly entries
// may be mixed (a daily entry stands for seven weekly ones). Rates take
// drivecp's units (bytes, or 512K, 10M, 1G: binary multiples). Before the
// week's first slot the week's last slot applies, so a timetable wraps
// around midnight and the week's end.
func ParseTimetable(s string) (Timetable, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ';' || r == '\t' })
	if len(fields) == 0 {
		return Timetable{}, fmt.Errorf("%w: empty timetable", ErrSyntax)
	}
	if len(fields) == 1 && !strings.Contains(fields[0], ",") {
		rate, err := parseRate(fields[0])
		if err != nil {
			return Timetable{}, err
		}
		return Timetable{slots: []Slot{{Start: 0, Rate: rate}}}, nil
	}
	var slots []Slot
	seen := map[int]string{}
	for _, f := range fields {
		when, rateText, ok := strings.Cut(f, ",")
		if !ok {
			return Timetable{}, fmt.Errorf("%w: %q: an entry is TIME,RATE or DAY-TIME,RATE, such as 08:00,512K", ErrSyntax, f)
		}
		rate, err := parseRate(rateText)
		if err != nil {
			return Timetable{}, err
		}
		days := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
		clock := when
		if day, rest, ok := strings.Cut(when, "-"); ok {
			d, err := parseWeekday(day)
			if err != nil {
				return Timetable{}, fmt.Errorf("%w: %q: %v", ErrSyntax, f, err)
			}
			days, clock = []time.Weekday{d}, rest
		}
		minute, err := parseClock(clock)
		if err != nil {
			return Timetable{}, fmt.Errorf("%w: %q: %v", ErrSyntax, f, err)
		}
		for _, d := range days {
			start := int(d)*minutesPerDay + minute
			if prev, dup := seen[start]; dup {
				return Timetable{}, fmt.Errorf("%w: %q and %q start at the same time", ErrSyntax, prev, f)
			}
			seen[start] = f
			slots = append(slots, Slot{Start: start, Rate: rate})
		}
	}
	slices.SortFunc(slots, func(a, b Slot) int { return a.Start - b.Start })
	return Timetable{slots: slots}, nil
}

// parseRate reads "off" or a rate of at least one byte per second.
func parseRate(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return Unlimited, nil
	}
	n, err := units.ParseRate(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: rate %q: give bytes per second such as 512K or 10M, or off", ErrSyntax, s)
	}
	return n, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseWeekday reads "Mon" or "Monday", in any case.
func parseWeekday(s string) (time.Weekday, error) {
	l := strings.ToLower(s)
	if d, ok := weekdays[l]; ok {
		return d, nil
	}
	if len(l) > 3 {
		if d, ok := weekdays[l[:3]]; ok && strings.EqualFold(s, d.String()) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("day %q: use Mon, Tue, Wed, Thu, Fri, Sat or Sun", s)
}

// parseClock reads "HH:MM" (00:00 to 23:59) as minutes after midnight.
func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	if !ok || herr != nil || merr != nil || len(hh) == 0 || len(hh) > 2 || len(mm) != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("time %q: use HH:MM, 00:00 to 23:59", s)
	}
	return h*60 + m, nil
}

// Slots returns the timetable's slots, sorted by start.
func (tt Timetable) Slots() []Slot { return slices.Clone(tt.slots) }

// At returns the rate in force at t: bytes per second, or Unlimited.
func (tt Timetable) At(t time.Time) int64 {
	if len(tt.slots) == 0 {
		return Unlimited
	}
	w := weekMinute(t)
	// The last slot that has started; before the first, the week's last.
	i, _ := slices.BinarySearchFunc(tt.slots, w+1, func(s Slot, target int) int { return s.Start - target })
	if i == 0 {
		return tt.slots[len(tt.slots)-1].Rate
	}
	return tt.slots[i-1].Rate
}

// NextChange returns the first slot boundary after t at which the rate may
// change, or the zero time when it never does (one slot, or none).
func (tt Timetable) NextChange(t time.Time) time.Time {
	if len(tt.slots) < 2 {
		return time.Time{}
	}
	w := weekMinute(t)
	i, _ := slices.BinarySearchFunc(tt.slots, w+1, func(s Slot, target int) int { return s.Start - target })
	next := tt.slots[0].Start + minutesPerWeek // next week's first slot
	if i < len(tt.slots) {
		next = tt.slots[i].Start
	}
	return atWeekMinute(t, next)
}

// String prints the timetable in the syntax ParseTimetable reads, weekly
// form.
func (tt Timetable) String() string {
	var b strings.Builder
	for i, s := range tt.slots {
		if i > 0 {
			b.WriteByte(' ')
		}
		d := time.Weekday(s.Start / minutesPerDay)
		m := s.Start % minutesPerDay
		fmt.Fprintf(&b, "%s-%02d:%02d,%s", d.String()[:3], m/60, m%60, formatRate(s.Rate))
	}
	return b.String()
}

func formatRate(r int64) string {
	if r == Unlimited {
		return "off"
	}
	return strconv.FormatInt(r, 10)
}

// weekMinute is t's minute of the week in t's location, Sunday 00:00
// being 0.
func weekMinute(t time.Time) int {
	return int(t.Weekday())*minutesPerDay + t.Hour()*60 + t.Minute()
}

// atWeekMinute returns the time of week minute m (which may run past the
// week's end into the next) in the week of t and t's location, m being
// after t's own week minute.
func atWeekMinute(t time.Time, m int) time.Time {
	days := m/minutesPerDay - int(t.Weekday())
	minute := m % minutesPerDay
	y, mo, d := t.Date()
	return time.Date(y, mo, d+days, minute/60, minute%60, 0, 0, t.Location())
}
