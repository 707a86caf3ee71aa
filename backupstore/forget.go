package backupstore

import (
	"slices"
	"strings"
	"time"
)

// Policy says which backups of a drive to keep, with the meaning restic
// gives its forget flags. A count of -1 keeps every backup that rule
// covers; 0 turns the rule off.
type Policy struct {
	Last    int // the newest Last backups
	Daily   int // the newest backup of each of the newest Daily days that have one
	Weekly  int // ... of each ISO week
	Monthly int // ... of each month
	// Location is the time zone that days, weeks and months are counted
	// in; nil is UTC.
	Location *time.Location
}

// Empty reports whether the policy keeps nothing, which Forget refuses
// to act on (restic does the same): forgetting every backup takes a
// rule that says so.
func (p Policy) Empty() bool { return p.Last == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 }

// Decision is what Forget decided about one backup.
type Decision struct {
	Backup *Manifest `json:"-"`
	ID     string    `json:"id"`
	Drive  string    `json:"drive"`
	Time   time.Time `json:"time"`
	Keep   bool      `json:"keep"`
	// Reasons are the rules that keep it ("last", "daily", ...).
	Reasons []string `json:"reasons,omitempty"`
}

// Forget applies p to the backups of each drive separately and returns a
// decision for every backup, newest first within each drive, drives in
// the order of their newest backup. It only decides: Store.Remove
// forgets. An empty policy keeps everything.
//
// For each drive the backups are walked from the newest. Each rule has
// its count and the bucket (day, week, month; for Last each backup is a
// bucket of its own) of the last backup it kept; a backup in a bucket
// other than that one is kept by the rule while the count lasts. As in
// restic, the oldest backup is also kept by every rule whose count is not
// used up, so a young store keeps its history as long as the policy
// allows.
func Forget(backups []*Manifest, p Policy) []Decision {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	byDrive := map[string][]*Manifest{}
	var drives []string
	for _, m := range backups {
		if _, ok := byDrive[m.Drive]; !ok {
			drives = append(drives, m.Drive)
		}
		byDrive[m.Drive] = append(byDrive[m.Drive], m)
	}
	newestFirst := func(a, b *Manifest) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	}
	for _, d := range drives {
		slices.SortFunc(byDrive[d], newestFirst)
	}
	slices.SortFunc(drives, func(a, b string) int { return newestFirst(byDrive[a][0], byDrive[b][0]) })

	type rule struct {
		name   string
		count  int
		bucket func(t time.Time, nr int) int
	}
	var out []Decision
	for _, d := range drives {
		list := byDrive[d]
		rules := []rule{
			{"last", p.Last, func(_ time.Time, nr int) int { return nr }},
			{"daily", p.Daily, func(t time.Time, _ int) int { y, m, dd := t.Date(); return y*10000 + int(m)*100 + dd }},
			{"weekly", p.Weekly, func(t time.Time, _ int) int { y, w := t.ISOWeek(); return y*100 + w }},
			{"monthly", p.Monthly, func(t time.Time, _ int) int { y, m, _ := t.Date(); return y*100 + int(m) }},
		}
		last := make([]int, len(rules))
		for i := range last {
			last[i] = -1 // no bucket is -1
		}
		for nr, m := range list {
			dec := Decision{Backup: m, ID: m.ID, Drive: m.Drive, Time: m.Time}
			if p.Empty() {
				dec.Keep = true
			}
			t := m.Time.In(loc)
			for i := range rules {
				r := &rules[i]
				if r.count == 0 {
					continue
				}
				b := r.bucket(t, nr)
				if b != last[i] || nr == len(list)-1 {
					last[i] = b
					dec.Keep = true
					dec.Reasons = append(dec.Reasons, r.name)
					if r.count > 0 {
						r.count--
					}
				}
			}
			out = append(out, dec)
		}
	}
	return out
}
