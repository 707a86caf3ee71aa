package cloudsigma

import (
	"net/http"
	"slices"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// libDriveDoc is a library drive as the API answers it: every member of the
// API 2.0 manual's library drive schema, `favourite` spelled as the API
// spells it, and a null owner (a library drive belongs to nobody).
type libDriveDoc struct {
	Affinities      []string          `json:"affinities"`
	AllowMultimount bool              `json:"allow_multimount"`
	Arch            string            `json:"arch"`
	Category        []string          `json:"category"`
	Description     string            `json:"description"`
	Distribution    string            `json:"distribution"`
	Favourite       bool              `json:"favourite"`
	ImageType       string            `json:"image_type"`
	InstallNotes    string            `json:"install_notes"`
	Jobs            []wire.Ref        `json:"jobs"`
	Licenses        []libLicense      `json:"licenses"`
	Media           string            `json:"media"`
	Meta            map[string]string `json:"meta"`
	MountedOn       []wire.Ref        `json:"mounted_on"`
	Name            string            `json:"name"`
	OS              string            `json:"os"`
	Owner           *wire.Ref         `json:"owner"`
	Paid            bool              `json:"paid"`
	ResourceURI     string            `json:"resource_uri"`
	Size            int64             `json:"size"`
	Status          string            `json:"status"`
	StorageType     string            `json:"storage_type"`
	Tags            []wire.Ref        `json:"tags"`
	URL             string            `json:"url"`
	UUID            string            `json:"uuid"`
	Version         string            `json:"version"`
}

// libDriveExtra holds the members of a library drive the store's record
// does not: they describe the image, and the store only needs its data.
type libDriveExtra struct {
	category     []string
	installNotes string
	url          string
	licenses     []libLicense
}

// libLicense is one entry of a library drive's `licenses`: how many of
// which license a server running the image is billed (manual §9.2).
type libLicense struct {
	Amount  int       `json:"amount"`
	License license   `json:"license"`
	User    *wire.Ref `json:"user"`
}

// license is a license as the manual's library drives embed it.
type license struct {
	Burstable   bool   `json:"burstable"`
	LongName    string `json:"long_name"`
	Name        string `json:"name"`
	ResourceURI string `json:"resource_uri"`
	Type        string `json:"type"`
	UserMetric  string `json:"user_metric"`
}

// windowsServerLicense is the manual's Windows Server license, per core
// (user_metric smp), which its pre-installed Windows images carry.
func windowsServerLicense() libLicense {
	return libLicense{Amount: 1, License: license{Burstable: true, LongName: "Windows Server", Name: "msft_p73_04837_core",
		ResourceURI: "/api/2.0/licenses/12/", Type: "instance", UserMetric: "smp"}}
}

// libDriveExtras are the descriptive members of the generated library
// drives, by UUID.
var libDriveExtras = map[string]libDriveExtra{
	libDriveDefs[0].UUID: {[]string{"general", "webserver"}, "No credentials: the image holds test data, not an installed system.", "https://www.debian.org/", nil},
	libDriveDefs[1].UUID: {[]string{"general", "webserver", "dbserver"}, "No credentials: the image holds test data, not an installed system.", "https://ubuntu.com/", nil},
	libDriveDefs[2].UUID: {[]string{"general"}, "No credentials: the image holds test data, not an installed system.", "https://www.freebsd.org/", nil},
	libDriveDefs[3].UUID: {[]string{"general"}, "No credentials: the image holds test data, not an installed system.", "https://www.microsoft.com/",
		[]libLicense{windowsServerLicense()}},
	libDriveDefs[4].UUID: {[]string{"other"}, "1. Attach the CD. The image holds test data, not drivers.", "", nil},
}

// licensesOf returns a library drive's licenses, an empty list for none.
func licensesOf(uuid string) []libLicense {
	return append([]libLicense{}, libDriveExtras[uuid].licenses...)
}

// libDoc renders a library drive with every documented member.
func libDoc(l wire.LibDrive) libDriveDoc {
	x := libDriveExtras[l.UUID]
	category := slices.Clone(x.category)
	if category == nil {
		category = []string{}
	}
	return libDriveDoc{
		Affinities: []string{}, Arch: l.Arch, Category: category, Description: l.Description,
		Distribution: l.Distribution, Favourite: l.Favorite, ImageType: l.ImageType, InstallNotes: x.installNotes,
		Jobs: []wire.Ref{}, Licenses: licensesOf(l.UUID), Media: l.Media, Meta: map[string]string{},
		MountedOn: []wire.Ref{}, Name: l.Name, OS: l.OS, Paid: l.Paid, ResourceURI: libURI(l.UUID), Size: l.Size,
		Status: l.Status, StorageType: l.StorageType, Tags: []wire.Ref{}, URL: x.url, UUID: l.UUID, Version: l.Version,
	}
}

// libDocs renders a list of library drives.
func libDocs(ls []wire.LibDrive) []libDriveDoc {
	out := make([]libDriveDoc, len(ls))
	for i, l := range ls {
		out[i] = libDoc(l)
	}
	return out
}

// libDriveFilters are the library drive filters of the API 2.0 manual's
// schema, plus media and name__contains as drives have them.
func libDriveFilters() map[string]filterFunc[libDriveDoc] {
	return map[string]filterFunc[libDriveDoc]{
		"arch":            func(l libDriveDoc, v string) bool { return l.Arch == v },
		"category":        func(l libDriveDoc, v string) bool { return slices.Contains(l.Category, v) },
		"distribution":    func(l libDriveDoc, v string) bool { return l.Distribution == v },
		"image_type":      func(l libDriveDoc, v string) bool { return l.ImageType == v },
		"media":           func(l libDriveDoc, v string) bool { return l.Media == v },
		"name":            func(l libDriveDoc, v string) bool { return l.Name == v },
		"name__contains":  func(l libDriveDoc, v string) bool { return contains(l.Name, v) },
		"name__icontains": func(l libDriveDoc, v string) bool { return icontains(l.Name, v) },
		"os":              func(l libDriveDoc, v string) bool { return l.OS == v },
		"uuid":            func(l libDriveDoc, v string) bool { return l.UUID == v },
		"version":         func(l libDriveDoc, v string) bool { return l.Version == v },
	}
}

// v2ListLibDrives serves `libdrives/` and `libdrives/detail/`, which the
// manual says give the same detail.
func (s *Server) v2ListLibDrives(w http.ResponseWriter, r *http.Request) {
	serveList(w, r, libDocs(s.store.ListLibDrives()), listOptions[libDriveDoc]{filters: libDriveFilters()})
}

// v2GetLibDrive serves one library drive.
func (s *Server) v2GetLibDrive(w http.ResponseWriter, r *http.Request) {
	l, err := s.store.GetLibDrive(r.PathValue("uuid"))
	if err != nil {
		writeV2StoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, libDoc(l))
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

// libDriveAsDrive renders a library drive for `GET drives/{uuid}/` in the
// drive shape: the drive members only, its drives/ resource_uri, a runtime,
// and a null owner, which is how a client tells a library drive from its
// own.
func libDriveAsDrive(l wire.LibDrive) map[string]any {
	snapshotable := true
	return map[string]any{
		"affinities":       []string{},
		"allow_multimount": false,
		"grantees":         []any{},
		"jobs":             []wire.Ref{},
		"licenses":         licensesOf(l.UUID),
		"media":            l.Media,
		"meta":             map[string]string{},
		"mounted_on":       []wire.Ref{},
		"name":             l.Name,
		"owner":            nil,
		"permissions":      []any{},
		"resource_uri":     driveURI(l.UUID),
		"runtime":          wire.DriveRuntime{IsSnapshotable: &snapshotable, StorageType: l.StorageType},
		"size":             l.Size,
		"snapshots":        []wire.Ref{},
		"status":           l.Status,
		"storage_type":     l.StorageType,
		"tags":             []wire.Ref{},
		"uuid":             l.UUID,
	}
}
