package cloudsigma

import (
	"net/http"
	"slices"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// jobFilters select jobs by their plain members and by a resource they
// touch (`resources=UUID`).
func jobFilters() map[string]filterFunc[wire.Job] {
	return map[string]filterFunc[wire.Job]{
		"uuid":      func(j wire.Job, v string) bool { return j.UUID == v },
		"state":     func(j wire.Job, v string) bool { return j.State == v },
		"operation": func(j wire.Job, v string) bool { return j.Operation == v },
		"resources": func(j wire.Job, v string) bool { return slices.Contains(j.Resources, lastSegment(v)) },
	}
}

// v2ListJobs serves `jobs/` and `jobs/detail/`, oldest first, with each
// job's state and progress as of the request.
func (s *Server) v2ListJobs(w http.ResponseWriter, r *http.Request) {
	serveList(w, r, s.store.ListJobs(), listOptions[wire.Job]{filters: jobFilters()})
}

// v2GetJob serves one job: `state` is started until `data.progress`
// reaches 100, then success (or failed).
func (s *Server) v2GetJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.store.GetJob(r.PathValue("uuid"))
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}
