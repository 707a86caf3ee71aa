package cloudsigma

import (
	"time"

	shared "github.com/drivecp/drivecp/emulator"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// abandonJobLocked fails a job whose copy a stop interrupted: the half-made
// drive or snapshot is removed and the source released.
func (s *Store) abandonJobLocked(j *jobRec) {
	for _, c := range j.Changes {
		switch {
		case c.Snapshot && c.From == wire.StatusCreating:
			delete(s.snaps, c.UUID)
			s.removeSnapFiles(c.UUID)
		case c.From == wire.StatusCloningDst:
			delete(s.drives, c.UUID)
			s.removeDriveFiles(c.UUID)
		}
	}
	j.Pending = false
	s.failJobLocked(j)
}

// jobDurationFor is how long a job over size bytes takes.
func (s *Store) jobDurationFor(size int64) time.Duration {
	d := max(s.jobDuration, 0)
	if s.jobSpeed > 0 {
		d = max(d, time.Duration(float64(size)/float64(s.jobSpeed)*float64(time.Second)))
	}
	return d
}

func (s *Store) newJobLocked(op string, size int64, resources []string, changes []statusChange) *jobRec {
	now := s.now().UTC()
	id := shared.NewUUID()
	ts := now.Format(time.RFC3339)
	j := &jobRec{
		J: wire.Job{UUID: id, Operation: op, State: wire.JobStarted, Resources: resources,
			Children: []string{}, Created: ts, LastModified: ts, ResourceURI: jobURI(id)},
		Seq:      s.nextSeq(),
		Start:    now,
		Duration: s.jobDurationFor(size),
		Changes:  changes,
	}
	s.jobs[id] = j
	_ = s.saveJob(j) // a lost job file only loses history; the changes are in memory
	return j
}

func (s *Store) failJobLocked(j *jobRec) {
	j.J.State = wire.JobFailed
	j.J.LastModified = s.now().UTC().Format(time.RFC3339)
	for _, c := range j.Changes {
		if c.Snapshot || c.From != wire.StatusCloningSrc {
			continue
		}
		if r, ok := s.drives[c.UUID]; ok && r.D.Status == c.From && !s.otherJobHolds(j, c) {
			r.D.Status = c.To
			_ = s.saveDrive(r)
		}
	}
	j.Changes = nil
	_ = s.saveJob(j)
}

// otherJobHolds reports whether another running job keeps the resource of c
// in the same transitional status (two clones of one source).
func (s *Store) otherJobHolds(self *jobRec, c statusChange) bool {
	for _, o := range s.jobs {
		if o == self || o.J.State != wire.JobStarted {
			continue
		}
		for _, oc := range o.Changes {
			if oc.UUID == c.UUID && oc.From == c.From {
				return true
			}
		}
	}
	return false
}

// tickLocked advances the jobs to the present: progress is computed from the
// time elapsed, and a job whose time is up finishes and applies its status
// changes. Doing it lazily on every access needs no timers and stays exact
// across restarts, since jobs record their wall-clock start.
func (s *Store) tickLocked() {
	now := s.now()
	for _, r := range s.drives {
		if !r.Settles.IsZero() && !now.Before(r.Settles) {
			r.D.Status, r.Settles, r.SettlesTo = r.SettlesTo, time.Time{}, ""
			_ = s.saveDrive(r)
		}
	}
	for _, j := range sortedBySeq(s.jobs, func(r *jobRec) int64 { return r.Seq }) {
		if j.J.State != wire.JobStarted {
			continue
		}
		elapsed := now.Sub(j.Start)
		if j.Pending {
			j.J.Data.Progress = 0
			continue
		}
		if elapsed < j.Duration {
			j.J.Data.Progress = min(99, int(float64(elapsed)/float64(j.Duration)*100))
			continue
		}
		j.J.Data.Progress = 100
		j.J.State = wire.JobSuccess
		j.J.LastModified = now.UTC().Format(time.RFC3339)
		for _, c := range j.Changes {
			if c.Snapshot {
				if r, ok := s.snaps[c.UUID]; ok && r.S.Status == c.From {
					r.S.Status = c.To
					_ = s.saveSnap(r)
				}
				continue
			}
			if r, ok := s.drives[c.UUID]; ok && r.D.Status == c.From && !s.otherJobHolds(j, c) {
				r.D.Status = c.To
				_ = s.saveDrive(r)
			}
		}
		_ = s.saveJob(j)
	}
}

// GetJob returns one job.
func (s *Store) GetJob(id string) (wire.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	j, ok := s.jobs[id]
	if !ok {
		return wire.Job{}, notFound("uuid", "job %s does not exist", id)
	}
	return jobView(j), nil
}

// ListJobs returns every job, oldest first.
func (s *Store) ListJobs() []wire.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	out := []wire.Job{}
	for _, j := range sortedBySeq(s.jobs, func(r *jobRec) int64 { return r.Seq }) {
		out = append(out, jobView(j))
	}
	return out
}
