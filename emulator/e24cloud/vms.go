package e24cloud

import (
	"net/http"
	"strconv"

	"github.com/drivecp/drivecp/providers/e24cloud"
)

// vm is a virtual machine; its JSON is the e24cloud API reference's, field for field.
type vm struct {
	ID      string
	Label   string
	Cores   int
	RAM     int
	State   string
	Volumes []string // storage volume IDs in attachment order
	task    *task
}

func (s *Server) newVM(label string, cores, ram int, state string) *vm {
	m := &vm{ID: s.id(), Label: label, Cores: cores, RAM: ram, State: state}
	s.vms[m.ID] = m
	return m
}

func (s *Server) attach(m *vm, v *volume) {
	m.Volumes = append(m.Volumes, v.ID)
	v.Machines = append(v.Machines, m.ID)
	v.State = e24cloud.VolumeAttached
}

// render returns the machine as the seed's list shows it.
func (s *Server) renderVM(m *vm) map[string]any {
	vols := []map[string]any{}
	for _, id := range m.Volumes {
		if v := s.vols[id]; v != nil {
			vols = append(vols, map[string]any{"id": v.ID, "size": v.Size, "system_disk": v.SystemDisk})
		}
	}
	n, _ := strconv.Atoi(m.ID)
	return map[string]any{
		"id": m.ID, "label": m.Label, "cores": m.Cores, "ram": m.RAM, "adm": false,
		"system":        map[string]any{"id": "1", "name": "Debian"},
		"cost_per_hour": 0.05, "state": m.State, "transfer_used": 0,
		"owner":            map[string]any{"id": "1", "name": "emulator"},
		"public_interface": map[string]any{"primary_ip_ipv4address": "192.0.2.10", "ipv4_addresses": []map[string]any{{"id": "1", "ipv4_address": "192.0.2.10"}}},
		"storage_volumes":  vols,
		"zone":             map[string]any{"id": "1", "name": e24cloud.DefaultRegion},
		// The seed: "$network_id will be of type int".
		"networks": []map[string]any{{"id": n, "label": "public", "mac_address": "52:54:00:00:00:01", "type": "public"}},
		"groups":   []map[string]any{},
	}
}

func (s *Server) routeVMs(w http.ResponseWriter, method string, p []string, body []byte) {
	if len(p) == 0 {
		switch method {
		case http.MethodGet:
			list := []map[string]any{}
			for _, id := range s.order {
				if m := s.vms[id]; m != nil {
					list = append(list, s.renderVM(m))
				}
			}
			ok(w, map[string]any{"virtual_machines": list})
		case http.MethodPut:
			s.createVM(w, body)
		default:
			fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
		return
	}
	m := s.vms[p[0]]
	if m == nil || len(p) > 2 {
		fail(w, http.StatusNotFound, "virtual machine not found")
		return
	}
	if len(p) == 1 {
		switch method {
		case http.MethodGet:
			// The seed answers one machine as an array holding it.
			ok(w, map[string]any{"virtual_machine": []map[string]any{s.renderVM(m)}})
		case http.MethodDelete:
			s.deleteVM(w, m, body)
		default:
			fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
		return
	}
	if method != http.MethodPost {
		fail(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch p[1] {
	case "resize":
		var in struct {
			Cores   *int `json:"cores"`
			RAM     *int `json:"ram"`
			WaitFor int  `json:"wait_for"`
		}
		if !decode(w, body, &in) {
			return
		}
		if in.Cores == nil || in.RAM == nil || *in.Cores < 1 || *in.RAM < 256 {
			fail(w, http.StatusBadRequest, "cores and ram are required")
			return
		}
		m.Cores, m.RAM = *in.Cores, *in.RAM
		m.task, m.State = s.after(m.State, nil), e24cloud.MachineResizing
		ok(w, nil)
	case "shutdown":
		var in struct {
			WaitFor int `json:"wait_for"`
		}
		if len(body) > 0 && !decode(w, body, &in) {
			return
		}
		m.task, m.State = s.after(e24cloud.MachineOffline, nil), e24cloud.MachineShuttingDown
		ok(w, nil)
	case "reboot", "reset":
		m.task, m.State = s.after(e24cloud.MachineOnline, nil), e24cloud.MachineRebooting
		ok(w, nil)
	case "console":
		// The seed's console answer has no success field.
		reply(w, http.StatusOK, map[string]any{"console": map[string]any{"port": 5900, "password": randHex(6), "host": "console.example.invalid"}})
	case "rename":
		var in struct {
			Name string `json:"name"`
		}
		if !decode(w, body, &in) {
			return
		}
		if in.Name == "" {
			fail(w, http.StatusBadRequest, "name is required")
			return
		}
		m.Label = in.Name
		ok(w, nil)
	default:
		fail(w, http.StatusNotFound, "no such endpoint")
	}
}

func (s *Server) createVM(w http.ResponseWriter, body []byte) {
	var in struct {
		VM *struct {
			CPUs int    `json:"cpus"`
			RAM  int    `json:"ram"`
			Name string `json:"name"`
		} `json:"create_vm"`
	}
	if !decode(w, body, &in) {
		return
	}
	if in.VM == nil || in.VM.Name == "" || in.VM.CPUs < 1 || in.VM.RAM < 256 {
		fail(w, http.StatusBadRequest, "create_vm needs name, cpus and ram")
		return
	}
	m := s.newVM(in.VM.Name, in.VM.CPUs, in.VM.RAM, e24cloud.MachineInstalling)
	s.attach(m, s.newVolume(in.VM.Name+"-system", 10, "ssd", true, e24cloud.VolumeAttached))
	m.task = s.after(e24cloud.MachineOnline, nil)
	// The seed's create answer has "id": $vm_id unquoted: a number.
	n, _ := strconv.Atoi(m.ID)
	ok(w, map[string]any{"virtual_machine": map[string]any{"id": n}})
}

// deleteVM requires deleteResources 0 (detach the volumes) or 1 (delete
// them): the seed gives no default, so none is guessed.
func (s *Server) deleteVM(w http.ResponseWriter, m *vm, body []byte) {
	var in struct {
		DeleteResources *int `json:"deleteResources"`
	}
	if !decode(w, body, &in) {
		return
	}
	if in.DeleteResources == nil || (*in.DeleteResources != 0 && *in.DeleteResources != 1) {
		fail(w, http.StatusBadRequest, "deleteResources must be 0 (detach) or 1 (delete)")
		return
	}
	del := *in.DeleteResources == 1
	m.State = e24cloud.MachineDeleting
	m.task = s.after(e24cloud.MachineDeleting, func() {
		for _, id := range m.Volumes {
			v := s.vols[id]
			if v == nil {
				continue
			}
			if del {
				s.forget(id)
				continue
			}
			v.Machines = nil
			v.State = e24cloud.VolumeAvailable
		}
		s.forget(m.ID)
	})
	ok(w, nil)
}
