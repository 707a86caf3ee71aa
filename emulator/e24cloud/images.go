package e24cloud

import (
	"net/http"

	"github.com/drivecp/drivecp/providers/e24cloud"
)

// image is a disk image made from a storage volume (assumed shape).
type image struct {
	ID     string
	Name   string
	Size   int64
	State  string
	Volume string
	task   *task
}

func renderImage(i *image) map[string]any {
	return map[string]any{"id": i.ID, "name": i.Name, "size": i.Size, "state": i.State,
		"storage_volume_id": i.Volume, "public": false}
}

func (s *Server) routeImages(w http.ResponseWriter, method string, p []string, body []byte) {
	if len(p) == 0 {
		switch method {
		case http.MethodGet:
			list := []map[string]any{}
			for _, id := range s.order {
				if i := s.imgs[id]; i != nil {
					list = append(list, renderImage(i))
				}
			}
			ok(w, map[string]any{"disk_images": list})
		case http.MethodPut:
			var in struct {
				I *struct {
					Name   string `json:"name"`
					Volume string `json:"storage_volume_id"`
				} `json:"create_disk_image"`
			}
			if !decode(w, body, &in) {
				return
			}
			if in.I == nil || in.I.Name == "" || in.I.Volume == "" {
				fail(w, http.StatusBadRequest, "create_disk_image needs a name and a storage_volume_id")
				return
			}
			v := s.vols[in.I.Volume]
			if v == nil {
				fail(w, http.StatusNotFound, "storage volume not found")
				return
			}
			img := &image{ID: s.id(), Name: in.I.Name, Size: v.Size, State: e24cloud.ImageCreating, Volume: v.ID}
			s.imgs[img.ID] = img
			img.task = s.after(e24cloud.ImageAvailable, nil)
			ok(w, map[string]any{"disk_image": map[string]any{"id": img.ID}})
		default:
			fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
		return
	}
	img := s.imgs[p[0]]
	if img == nil || len(p) > 1 {
		fail(w, http.StatusNotFound, "disk image not found")
		return
	}
	switch method {
	case http.MethodGet:
		ok(w, map[string]any{"disk_image": renderImage(img)})
	case http.MethodDelete:
		img.State = e24cloud.ImageDeleting
		img.task = s.after(e24cloud.ImageDeleting, func() { s.forget(img.ID) })
		ok(w, nil)
	default:
		fail(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}
