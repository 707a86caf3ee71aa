package backupstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// fakeClock is the nightly job's clock: it only moves when told to.
type fakeClock struct{ now time.Time }

func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func backupAt(drive string, t time.Time) *Manifest {
	return &Manifest{ID: NewID(drive, t), Drive: drive, Time: t}
}

func kept(decs []Decision) []string {
	var out []string
	for _, d := range decs {
		if d.Keep {
			out = append(out, d.Time.Format("2006-01-02"))
		}
	}
	return out
}

// TestForgetNightly runs a nightly backup and forget for 400 days on a
// fake clock and checks the backups left at the end, worked out by hand:
// the last 7 days, the newest of each of the last 4 ISO weeks and of the
// last 3 months.
func TestForgetNightly(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC)}
	p := Policy{Daily: 7, Weekly: 4, Monthly: 3}
	var store []*Manifest
	for day := range 400 {
		store = append(store, backupAt("drive-a", clock.now))
		var next []*Manifest
		for _, d := range Forget(store, p) {
			if d.Keep {
				next = append(next, d.Backup)
			}
		}
		if day < 7 && len(next) != day+1 {
			t.Fatalf("day %d: %d backups kept, want all %d of a young store", day, len(next), day+1)
		}
		store = next
		clock.advance(24 * time.Hour)
	}
	got := kept(Forget(store, p))
	// 2026-02-04 is a Wednesday: ISO week 6 starts on Monday 2 February.
	want := []string{
		"2026-02-04", "2026-02-03", "2026-02-02", "2026-02-01", "2026-01-31", "2026-01-30", "2026-01-29", // daily
		"2026-01-25", "2026-01-18", // weekly, beside Feb 4 and Sunday Feb 1
		"2025-12-31", // monthly, beside Feb 4 and Jan 31
	}
	if !slices.Equal(got, want) {
		t.Errorf("kept %v\nwant %v", got, want)
	}
}

// TestForgetMatchesDefinition compares Forget over 400 irregular days
// (nights skipped, two backups some nights, two drives) with the
// definition of each rule as a set: the newest backup of each of the
// newest N days (weeks, months) that have one, the newest Last backups,
// and the oldest while a rule has counts left.
func TestForgetMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	clock := &fakeClock{now: time.Date(2025, 3, 10, 23, 30, 0, 0, time.UTC)}
	var all []*Manifest
	for range 400 {
		for _, drive := range []string{"drive-a", "drive-b"} {
			switch n := r.IntN(10); {
			case n == 0: // skipped night
			case n == 1:
				all = append(all, backupAt(drive, clock.now), backupAt(drive, clock.now.Add(90*time.Minute)))
			default:
				all = append(all, backupAt(drive, clock.now.Add(time.Duration(r.IntN(60))*time.Minute)))
			}
		}
		clock.advance(24 * time.Hour)
	}
	policies := []Policy{
		{Last: 5},
		{Daily: 10},
		{Weekly: 6},
		{Monthly: 24}, // more months than there are: the oldest stays too
		{Last: 2, Daily: 7, Weekly: 4, Monthly: 12},
		{Daily: -1},
		{Last: 3, Monthly: 2, Location: time.FixedZone("UTC+5", 5*3600)},
	}
	for _, p := range policies {
		decs := Forget(all, p)
		if len(decs) != len(all) {
			t.Fatalf("%+v: %d decisions for %d backups", p, len(decs), len(all))
		}
		for _, drive := range []string{"drive-a", "drive-b"} {
			var got []string
			for _, d := range decs {
				if d.Drive == drive && d.Keep {
					got = append(got, d.ID)
				}
			}
			want := definition(all, drive, p)
			if !slices.Equal(got, want) {
				t.Errorf("%+v %s: kept %d %v\nwant %d %v", p, drive, len(got), got, len(want), want)
			}
		}
	}
}

// definition returns the IDs of drive's backups that p keeps, newest
// first, computed rule by rule as sets.
func definition(all []*Manifest, drive string, p Policy) []string {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	var list []*Manifest
	for _, m := range all {
		if m.Drive == drive {
			list = append(list, m)
		}
	}
	slices.SortFunc(list, func(a, b *Manifest) int { return b.Time.Compare(a.Time) })
	keep := map[string]bool{}
	newestPerBucket := func(n int, key func(time.Time) string) {
		if n == 0 {
			return
		}
		var buckets []string
		first := map[string]*Manifest{}
		for _, m := range list {
			k := key(m.Time.In(loc))
			if _, ok := first[k]; !ok {
				first[k] = m
				buckets = append(buckets, k)
			}
		}
		if n > 0 && len(buckets) > n {
			buckets = buckets[:n]
		}
		for _, k := range buckets {
			keep[first[k].ID] = true
		}
		if n < 0 || len(buckets) < n { // counts left: the oldest too
			keep[list[len(list)-1].ID] = true
		}
	}
	newestPerBucket(p.Last, func(t time.Time) string { return t.String() })
	newestPerBucket(p.Daily, func(t time.Time) string { return t.Format("2006-01-02") })
	newestPerBucket(p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprint(y, "w", w) })
	newestPerBucket(p.Monthly, func(t time.Time) string { return t.Format("2006-01") })
	var out []string
	for _, m := range list {
		if keep[m.ID] {
			out = append(out, m.ID)
		}
	}
	return out
}

func TestForgetEmptyPolicyKeepsAll(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	decs := Forget([]*Manifest{backupAt("a", t0), backupAt("a", t0.Add(time.Hour))}, Policy{})
	for _, d := range decs {
		if !d.Keep {
			t.Errorf("empty policy forgot %s", d.ID)
		}
	}
}
