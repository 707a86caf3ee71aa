package onlinelabs

import (
	"net/http"

	"github.com/drivecp/drivecp/emulator"
)

// visible reports whether the organization may read im: its own images
// and the public ones.
func (s *Server) visible(im *image) bool { return im.public || im.org == s.cfg.Organization }

func (s *Server) listImages(q *request) {
	var all []imageJSON
	for _, im := range sorted(s.st.images, func(im *image) int { return im.seq }) {
		if s.visible(im) {
			all = append(all, imageToJSON(im))
		}
	}
	if pg, ok := page(q, all, s.cfg.PageSize); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"images": nonNil(pg)})
	}
}

func (s *Server) getImage(q *request, id string) {
	im, ok := s.st.images[id]
	if !ok || !s.visible(im) {
		notFound(q.w, "image")
		return
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"image": imageToJSON(im)})
}

type imageBody struct {
	Organization string `json:"organization"`
	Name         string `json:"name"`
	Arch         string `json:"arch"`
	RootVolume   string `json:"root_volume"`
}

func (s *Server) createImage(q *request) {
	var b imageBody
	if !decode(q, &b) {
		return
	}
	fields := map[string][]string{}
	for k, v := range map[string]string{"organization": b.Organization, "name": b.Name, "arch": b.Arch, "root_volume": b.RootVolume} {
		if v == "" {
			fields[k] = []string{"required key not provided"}
		}
	}
	sn, found := s.st.snapshots[b.RootVolume]
	switch {
	case b.RootVolume == "":
	case !found || sn.org != s.cfg.Organization:
		fields["root_volume"] = []string{"snapshot " + b.RootVolume + " not found"}
	case sn.state != "available":
		fields["root_volume"] = []string{"snapshot " + b.RootVolume + " is " + sn.state + ", not available"}
	}
	if len(fields) > 0 {
		invalid(q.w, fields)
		return
	}
	if !s.checkOrganization(q, b.Organization) {
		return
	}
	im := &image{seq: s.st.next(), id: emulator.NewUUID(), name: b.Name, org: b.Organization, arch: b.Arch, root: sn.id,
		rootName: sn.name, created: q.now}
	s.st.images[im.id] = im
	q.w.Header().Set("Location", "/images/"+im.id)
	writeJSON(q.w, http.StatusCreated, map[string]any{"image": imageToJSON(im)})
}

func (s *Server) deleteImage(q *request, id string) {
	im, ok := s.st.images[id]
	if !ok || !s.visible(im) {
		notFound(q.w, "image")
		return
	}
	if im.org != s.cfg.Organization {
		forbidden(q.w) // a public image of another organization
		return
	}
	delete(s.st.images, id)
	q.w.WriteHeader(http.StatusNoContent)
}
