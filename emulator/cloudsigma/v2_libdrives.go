package cloudsigma

import (
	"encoding/json"
	"net/http"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// libDriveFilters are the library drive filters of the API 2.0 manual's schema
// that the emulator's library drives have members for.
func libDriveFilters() map[string]filterFunc[wire.LibDrive] {
	return map[string]filterFunc[wire.LibDrive]{
		"arch":            func(l wire.LibDrive, v string) bool { return l.Arch == v },
		"distribution":    func(l wire.LibDrive, v string) bool { return l.Distribution == v },
		"image_type":      func(l wire.LibDrive, v string) bool { return l.ImageType == v },
		"media":           func(l wire.LibDrive, v string) bool { return l.Media == v },
		"name":            func(l wire.LibDrive, v string) bool { return l.Name == v },
		"name__contains":  func(l wire.LibDrive, v string) bool { return contains(l.Name, v) },
		"name__icontains": func(l wire.LibDrive, v string) bool { return icontains(l.Name, v) },
		"os":              func(l wire.LibDrive, v string) bool { return l.OS == v },
		"uuid":            func(l wire.LibDrive, v string) bool { return l.UUID == v },
		"version":         func(l wire.LibDrive, v string) bool { return l.Version == v },
	}
}

// v2ListLibDrives serves `libdrives/` and `libdrives/detail/`, which the
// manual says give the same detail.
func (s *Server) v2ListLibDrives(w http.ResponseWriter, r *http.Request) {
	serveList(w, r, s.store.ListLibDrives(), listOptions[wire.LibDrive]{filters: libDriveFilters()})
}

// v2GetLibDrive serves one library drive.
func (s *Server) v2GetLibDrive(w http.ResponseWriter, r *http.Request) {
	l, err := s.store.GetLibDrive(r.PathValue("uuid"))
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// v2LibDriveAction runs `POST libdrives/{uuid}/action/?do=clone`, which
// works like a drive clone: 202 with the new drive in an
// `objects` list.
func (s *Server) v2LibDriveAction(w http.ResponseWriter, r *http.Request) {
	if actionOf(r) != "clone" {
		writeUnknownAction(w, r, "clone")
		return
	}
	s.serveClone(w, r, s.store.CloneLibDrive, true)
}

// libDriveAsDrive renders a library drive for `GET drives/{uuid}/`: its
// own members plus the drive members it lacks, with a null owner, which is
// how a client tells a library drive from its own.
func libDriveAsDrive(l wire.LibDrive) map[string]any {
	out := map[string]any{
		"affinities":       []string{},
		"allow_multimount": false,
		"grantees":         []any{},
		"jobs":             []wire.Ref{},
		"licenses":         []any{},
		"meta":             map[string]string{},
		"mounted_on":       []wire.Ref{},
		"owner":            nil,
		"permissions":      []any{},
		"snapshots":        []wire.Ref{},
		"tags":             []wire.Ref{},
	}
	b, err := json.Marshal(l)
	if err != nil {
		return out
	}
	var own map[string]any
	if json.Unmarshal(b, &own) == nil {
		for k, v := range own {
			out[k] = v
		}
	}
	return out
}
