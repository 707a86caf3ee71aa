package e24cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/drivecp/drivecp/providers"
)

// Machine state words. online, offline, installing and deleting are the
// ones e24cloud's own docker-machine driver knows; the transitions of
// shutdown, resize and reboot tasks are assumed.
const (
	MachineOnline       = "online"
	MachineOffline      = "offline"
	MachineInstalling   = "installing"
	MachineShuttingDown = "shutting-down"
	MachineResizing     = "resizing"
	MachineRebooting    = "rebooting"
	MachineDeleting     = "deleting"
)

// machineWire is the part of a virtual machine drivecp reads.
type machineWire struct {
	ID      flexID `json:"id"`
	Label   string `json:"label"`
	State   string `json:"state"`
	Volumes []struct {
		ID         flexID `json:"id"`
		Size       int64  `json:"size"`
		SystemDisk bool   `json:"system_disk"`
	} `json:"storage_volumes"`
}

func machineState(word string) providers.State {
	switch word {
	case MachineOnline:
		return providers.StateInUse
	case MachineOffline:
		return providers.StateReady
	case MachineInstalling, MachineShuttingDown, MachineResizing, MachineRebooting:
		return providers.StateBusy
	case MachineDeleting:
		return providers.StateGone
	}
	return providers.StateUnknown
}

func serverOf(raw json.RawMessage) (providers.Server, error) {
	var m machineWire
	if err := json.Unmarshal(raw, &m); err != nil {
		return providers.Server{}, err
	}
	s := providers.Server{ID: string(m.ID), Name: m.Label, Status: m.State, State: machineState(m.State), Raw: raw}
	for i, v := range m.Volumes {
		s.Drives = append(s.Drives, providers.ServerDrive{Drive: string(v.ID), Slot: fmt.Sprint(i),
			Size: v.Size * SizeUnit, Boot: v.SystemDisk})
	}
	return s, nil
}

// ListServers lists every virtual machine.
func (c *Client) ListServers(ctx context.Context) ([]providers.Server, error) {
	var body struct {
		Machines []json.RawMessage `json:"virtual_machines"`
	}
	if err := c.do(ctx, "list virtual machines", http.MethodGet, "/virtual-machines", nil, &body); err != nil {
		return nil, err
	}
	out := make([]providers.Server, 0, len(body.Machines))
	for _, raw := range body.Machines {
		s, err := serverOf(raw)
		if err != nil {
			return nil, fmt.Errorf("list virtual machines: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// GetServer returns one virtual machine. The seed documents the answer's
// "virtual_machine" as an array holding the machine; an object is accepted
// too, should the API send one.
func (c *Client) GetServer(ctx context.Context, id string) (providers.Server, error) {
	op := "get virtual machine " + id
	var body struct {
		Machine json.RawMessage `json:"virtual_machine"`
	}
	if err := c.do(ctx, op, http.MethodGet, "/virtual-machines/"+escape(id), nil, &body); err != nil {
		return providers.Server{}, err
	}
	raw := body.Machine
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err == nil {
		if len(arr) == 0 {
			return providers.Server{}, &providers.APIError{Op: op, Status: http.StatusNotFound, Message: "empty answer"}
		}
		raw = arr[0]
	}
	s, err := serverOf(raw)
	if err != nil {
		return providers.Server{}, fmt.Errorf("%s: %w", op, err)
	}
	return s, nil
}

// DeleteServer adds a task deleting the machine; deleteDrives is the
// seed's deleteResources: 1 deletes its volumes, 0 detaches and keeps
// them. The API hands out no job: poll GetServer until ErrNotFound.
func (c *Client) DeleteServer(ctx context.Context, id string, deleteDrives bool) (providers.Job, error) {
	res := 0
	if deleteDrives {
		res = 1
	}
	err := c.do(ctx, "delete virtual machine "+id, http.MethodDelete, "/virtual-machines/"+escape(id),
		map[string]any{"deleteResources": res}, nil)
	return providers.Job{Progress: -1}, err
}

// ShutdownServer adds a task shutting the machine down through ACPI,
// forced off after waitFor minutes. e24cloud has no start verb, so the
// provider offers no ServerPower; this is here for the core to use.
func (c *Client) ShutdownServer(ctx context.Context, id string, waitFor int) error {
	return c.do(ctx, "shut down virtual machine "+id, http.MethodPost, "/virtual-machines/"+escape(id)+"/shutdown",
		map[string]any{"wait_for": waitFor}, nil)
}
