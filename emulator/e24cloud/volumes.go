package e24cloud

import (
	"net/http"

	"github.com/drivecp/drivecp/providers/e24cloud"
)

// volume is a storage volume (assumed shape, see the package doc).
type volume struct {
	ID         string
	Name       string
	Size       int64 // GiB
	Type       string
	SystemDisk bool
	State      string
	Machines   []string
	task       *task
}

func (s *Server) newVolume(name string, size int64, typ string, system bool, state string) *volume {
	v := &volume{ID: s.id(), Name: name, Size: size, Type: typ, SystemDisk: system, State: state}
	s.vols[v.ID] = v
	return v
}

func (s *Server) renderVolume(v *volume) map[string]any {
	ms := []map[string]any{}
	for _, id := range v.Machines {
		if m := s.vms[id]; m != nil {
			ms = append(ms, map[string]any{"id": m.ID, "label": m.Label})
		}
	}
	return map[string]any{"id": v.ID, "name": v.Name, "size": v.Size, "type": v.Type,
		"system_disk": v.SystemDisk, "state": v.State, "virtual_machines": ms}
}

func (s *Server) routeVolumes(w http.ResponseWriter, method string, p []string, body []byte) {
	if len(p) == 0 {
		switch method {
		case http.MethodGet:
			list := []map[string]any{}
			for _, id := range s.order {
				if v := s.vols[id]; v != nil {
					list = append(list, s.renderVolume(v))
				}
			}
			ok(w, map[string]any{"storage_volumes": list})
		case http.MethodPut:
			var in struct {
				V *struct {
					Name string `json:"name"`
					Size int64  `json:"size"`
					Type string `json:"type"`
				} `json:"create_storage_volume"`
			}
			if !decode(w, body, &in) {
				return
			}
			if in.V == nil || in.V.Name == "" || in.V.Size < 1 || in.V.Size > 2048 {
				fail(w, http.StatusBadRequest, "create_storage_volume needs a name and a size of 1 to 2048 GB")
				return
			}
			if in.V.Type == "" {
				in.V.Type = "ssd"
			}
			v := s.newVolume(in.V.Name, in.V.Size, in.V.Type, false, e24cloud.VolumeCreating)
			v.task = s.after(e24cloud.VolumeAvailable, nil)
			ok(w, map[string]any{"storage_volume": map[string]any{"id": v.ID}})
		default:
			fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
		return
	}
	v := s.vols[p[0]]
	if v == nil || len(p) > 2 || (len(p) == 2 && p[1] != "resize") {
		fail(w, http.StatusNotFound, "storage volume not found")
		return
	}
	switch {
	case len(p) == 1 && method == http.MethodGet:
		ok(w, map[string]any{"storage_volume": s.renderVolume(v)})
	case len(p) == 1 && method == http.MethodDelete:
		if len(v.Machines) > 0 {
			fail(w, http.StatusBadRequest, "storage volume is attached to a virtual machine")
			return
		}
		v.State = e24cloud.VolumeDeleting
		v.task = s.after(e24cloud.VolumeDeleting, func() { s.forget(v.ID) })
		ok(w, nil)
	case len(p) == 2 && method == http.MethodPost:
		var in struct {
			Size int64 `json:"size"`
		}
		if !decode(w, body, &in) {
			return
		}
		if in.Size < v.Size || in.Size > 2048 {
			fail(w, http.StatusBadRequest, "size must be at least the volume's and at most 2048 GB")
			return
		}
		back := v.State
		if back == e24cloud.VolumeResizing || back == e24cloud.VolumeCreating {
			fail(w, http.StatusBadRequest, "storage volume is busy")
			return
		}
		v.Size = in.Size
		v.State = e24cloud.VolumeResizing
		v.task = s.after(back, nil)
		ok(w, nil)
	default:
		fail(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}
