package cloudsigma

import (
	"net/http"
	"sort"
	"strings"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// defaultStorageType is where a drive goes when its definition names none.
const defaultStorageType = "dssd"

// LocationID is the id `GET /locations/` gives the emulator's only
// location; it is the CLI's default location.
const LocationID = "zrh"

// storageTypes are the storage types the emulator offers with their drive
// size ranges, as `GET /capabilities/` reports them. Only dssd: the
// emulator has one kind of storage, and the manual says a type a location
// does not offer is absent from its capabilities. The range is the manual's
// dssd example, which is also the store's direct-upload minimum and its
// maximum, so what capabilities promise is what the API accepts.
func storageTypes(maxSize int64) map[string]wire.SizeRange {
	return map[string]wire.SizeRange{defaultStorageType: {Min: MinDriveSize, Max: maxSize}}
}

// storageRange returns the size range of a storage type, or a validation
// error naming the types there are.
func storageRange(typ string, maxSize int64) (wire.SizeRange, error) {
	types := storageTypes(maxSize)
	if r, ok := types[typ]; ok {
		return r, nil
	}
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	return wire.SizeRange{}, invalid("storage_type", "%q is not offered here; choose one of: %s", typ, strings.Join(names, ", "))
}

// v2Capabilities serves `GET capabilities/`: the drive size
// range of each storage type.
func (s *Server) v2Capabilities(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Drives map[string]wire.SizeRange `json:"drives"`
	}{Drives: storageTypes(s.store.MaxDriveSize())})
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
