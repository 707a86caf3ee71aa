package cloudsigma

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	shared "github.com/drivecp/drivecp/emulator"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// defaultStorageType is where a drive goes when its definition names none
// and the emulator offers it.
const defaultStorageType = "dssd"

// DefaultStorageTypes are the storage types offered unless
// Config.StorageTypes says otherwise.
const DefaultStorageTypes = defaultStorageType

// LocationID is the id `GET /locations/` gives the emulator's only
// location; it is the CLI's default location.
const LocationID = "zrh"

// knownStorageTypes are the storage types the emulator can offer, with
// their drive size ranges: dssd's is the API 2.0 manual's capabilities
// example, which is also the store's direct-upload minimum and its maximum;
// zadara's minimum is the example's, its maximum the store's (the
// example's 5905580032000 is more than the store takes), so what
// capabilities promise is what the API accepts.
func knownStorageTypes() map[string]wire.SizeRange {
	return map[string]wire.SizeRange{
		defaultStorageType: {Min: MinDriveSize, Max: MaxDriveSize},
		"zadara":           {Min: 1 << 30, Max: MaxDriveSize},
	}
}

// storageOffer is the storage types a server offers, as `GET
// /capabilities/` reports them; the manual says a type a location does not
// offer is absent from its capabilities.
type storageOffer map[string]wire.SizeRange

// parseStorageTypes parses Config.StorageTypes: comma-separated names of
// knownStorageTypes; empty means DefaultStorageTypes.
func parseStorageTypes(list string) (storageOffer, error) {
	if strings.TrimSpace(list) == "" {
		list = DefaultStorageTypes
	}
	known := knownStorageTypes()
	out := storageOffer{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		r, ok := known[name]
		if !ok {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("%w: unknown storage type %q; the CloudSigma emulator offers: %s", shared.ErrSetting, name, strings.Join(names, ", "))
		}
		out[name] = r
	}
	return out, nil
}

// defaultType is where a new drive goes when it names no storage type:
// dssd when offered, else the first offered type by name.
func (o storageOffer) defaultType() string {
	if _, ok := o[defaultStorageType]; ok {
		return defaultStorageType
	}
	names := make([]string, 0, len(o))
	for n := range o {
		names = append(names, n)
	}
	sort.Strings(names)
	return names[0]
}

// rangeOf returns the size range of a storage type, or a validation error
// naming the types there are.
func (o storageOffer) rangeOf(typ string) (wire.SizeRange, error) {
	if r, ok := o[typ]; ok {
		return r, nil
	}
	names := make([]string, 0, len(o))
	for n := range o {
		names = append(names, n)
	}
	sort.Strings(names)
	return wire.SizeRange{}, invalid("storage_type", "%q is not offered here; choose one of: %s", typ, strings.Join(names, ", "))
}

// minMax is a range of the capabilities object.
type minMax struct {
	Max int64 `json:"max"`
	Min int64 `json:"min"`
}

// MaxSnapshots is how many snapshots capabilities allow, as in the API 2.0
// manual's example.
const MaxSnapshots = 600

// capabilities is the capabilities object: every section of the manual's
// example. The server limits are the example's: the emulator has no
// servers, but clients read the section.
type capabilities struct {
	Drives  map[string]wire.SizeRange `json:"drives"`
	Servers struct {
		CPU       minMax `json:"cpu"`
		CPUPerSMP minMax `json:"cpu_per_smp"`
		Mem       minMax `json:"mem"`
		SMP       minMax `json:"smp"`
	} `json:"servers"`
	Snapshots struct {
		Current int `json:"current"`
		Max     int `json:"max"`
	} `json:"snapshots"`
}

// v2Capabilities serves `GET capabilities/`: the drive size range of each
// storage type, the server limits, and the snapshots taken and allowed.
func (s *Server) v2Capabilities(w http.ResponseWriter, r *http.Request) {
	var c capabilities
	c.Drives = s.offer
	c.Servers.CPU = minMax{Min: 250, Max: 40000}
	c.Servers.CPUPerSMP = minMax{Min: 1000, Max: 2500}
	c.Servers.Mem = minMax{Min: 268435456, Max: 68719476736}
	c.Servers.SMP = minMax{Min: 1, Max: 24}
	c.Snapshots.Current = len(s.store.ListSnapshots(""))
	c.Snapshots.Max = MaxSnapshots
	writeJSON(w, http.StatusOK, c)
}

// v2ListLocations serves `GET locations/`: one location whose API endpoint
// and upload_url (the direct-transfer host) are both this listener's
// `/api/2.0/`, since the emulator serves the direct endpoints beside the API.
// The host is the one the request reached, which is right behind a
// 0.0.0.0 bind or under httptest, where URL() is not what clients dial.
func (s *Server) v2ListLocations(w http.ResponseWriter, r *http.Request) {
	base := s.apiBase(r)
	locs := []wire.Location{{
		ID:          LocationID,
		Country:     "CH",
		DisplayName: "Zurich, Switzerland (drivecp emulator)",
		APIEndpoint: base,
		UploadURL:   base,
	}}
	serveList(w, r, locs, listOptions[wire.Location]{filters: map[string]filterFunc[wire.Location]{
		"id": func(l wire.Location, v string) bool { return strings.EqualFold(l.ID, v) },
	}})
}

// apiBase is the API 2.0 base URL as the client addressed it.
func (s *Server) apiBase(r *http.Request) string {
	if r.Host == "" {
		if u := s.URL(); u != "" {
			return u + "api/2.0/"
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/api/2.0/"
}
