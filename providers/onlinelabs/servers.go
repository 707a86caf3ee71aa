package onlinelabs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/drivecp/drivecp/providers"
)

// serverState maps a server's state word onto the neutral states.
func serverState(word string) providers.State {
	switch word {
	case "stopped":
		return providers.StateReady
	case "running":
		return providers.StateInUse
	case "starting", "stopping":
		return providers.StateBusy
	}
	return providers.StateUnknown
}

// slotOrder sorts volume slots numerically ("2" before "10").
func slotOrder(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a, b)
}

func serverOf(raw json.RawMessage, s serverWire) providers.Server {
	out := providers.Server{ID: s.ID, Name: s.Name, Status: s.State, State: serverState(s.State), Raw: raw}
	for _, slot := range slices.SortedFunc(maps.Keys(s.Volumes), slotOrder) {
		v := s.Volumes[slot]
		out.Drives = append(out.Drives, providers.ServerDrive{Drive: v.ID, Slot: slot, Size: v.Size, Boot: slot == "0"})
	}
	return out
}

func (c *Client) listServers(ctx context.Context) ([]json.RawMessage, []serverWire, error) {
	raws, err := c.listAll(ctx, "list servers", "/servers", "servers")
	if err != nil {
		return nil, nil, err
	}
	servers, err := decodeEach[serverWire](raws)
	if err != nil {
		return nil, nil, fmt.Errorf("list servers: %w", err)
	}
	return raws, servers, nil
}

// ListServers lists the organization's servers, every page.
func (c *Client) ListServers(ctx context.Context) ([]providers.Server, error) {
	raws, servers, err := c.listServers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Server, len(servers))
	for i, s := range servers {
		out[i] = serverOf(raws[i], s)
	}
	return out, nil
}

func (c *Client) getServerRaw(ctx context.Context, id string) (json.RawMessage, serverWire, error) {
	raw, err := c.object(ctx, "get server "+id, http.MethodGet, "/servers/"+escape(id), "server", nil)
	if err != nil {
		return nil, serverWire{}, err
	}
	var s serverWire
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, s, fmt.Errorf("get server %s: %w", id, err)
	}
	return raw, s, nil
}

func (c *Client) getServer(ctx context.Context, id string) (serverWire, error) {
	_, s, err := c.getServerRaw(ctx, id)
	return s, err
}

// GetServer returns a server with its volumes in slot order.
func (c *Client) GetServer(ctx context.Context, id string) (providers.Server, error) {
	raw, s, err := c.getServerRaw(ctx, id)
	if err != nil {
		return providers.Server{}, err
	}
	return serverOf(raw, s), nil
}

// action runs a server action and returns its task as a job.
func (c *Client) action(ctx context.Context, id, action string) (providers.Job, error) {
	raw, err := c.object(ctx, action+" server "+id, http.MethodPost, "/servers/"+escape(id)+"/action", "task",
		map[string]string{"action": action})
	if err != nil {
		return providers.Job{}, err
	}
	var t taskWire
	if err := json.Unmarshal(raw, &t); err != nil {
		return providers.Job{}, fmt.Errorf("%s server %s: %w", action, id, err)
	}
	return jobOf(raw, t), nil
}

// StopServer powers a server off; the task it returns tracks it.
func (c *Client) StopServer(ctx context.Context, id string) (providers.Job, error) {
	return c.action(ctx, id, "poweroff")
}

// StartServer powers a server on; the task it returns tracks it.
func (c *Client) StartServer(ctx context.Context, id string) (providers.Job, error) {
	return c.action(ctx, id, "poweron")
}

// AttachDrive attaches a volume to a server at its first free slot, by a
// PUT of the whole server with its volumes map (the Online Labs API guide, step 4). The
// API refuses it unless the server is stopped; that refusal matches
// ErrInvalid and carries a hint.
func (c *Client) AttachDrive(ctx context.Context, volume, server string) (providers.Server, error) {
	raw, s, err := c.getServerRaw(ctx, server)
	if err != nil {
		return providers.Server{}, err
	}
	slots := map[string]string{}
	for slot, v := range s.Volumes {
		if v.ID == volume {
			return serverOf(raw, s), nil // attached already: nothing to change
		}
		slots[slot] = v.ID
	}
	free := 0
	for ; ; free++ {
		if _, used := slots[strconv.Itoa(free)]; !used {
			break
		}
	}
	slots[strconv.Itoa(free)] = volume
	return c.putVolumes(ctx, "attach volume "+volume+" to server "+server, raw, s, slots)
}

// DetachDrive detaches a volume from the server it is attached to, by a
// PUT of that server without it. The server must be stopped.
func (c *Client) DetachDrive(ctx context.Context, volume string) (providers.Server, error) {
	_, v, err := c.getVolume(ctx, volume)
	if err != nil {
		return providers.Server{}, err
	}
	if v.Server == nil || v.Server.ID == "" {
		return providers.Server{}, fmt.Errorf("%w: volume %s is not attached to a server", providers.ErrInvalid, volume)
	}
	raw, s, err := c.getServerRaw(ctx, v.Server.ID)
	if err != nil {
		return providers.Server{}, err
	}
	slots := map[string]string{}
	for slot, sv := range s.Volumes {
		if sv.ID != volume {
			slots[slot] = sv.ID
		}
	}
	return c.putVolumes(ctx, "detach volume "+volume+" from server "+s.ID, raw, s, slots)
}

// putVolumes sends the server back whole, as the API wants it, with its
// volumes map replaced by slots.
func (c *Client) putVolumes(ctx context.Context, op string, raw json.RawMessage, s serverWire, slots map[string]string) (providers.Server, error) {
	var whole map[string]any
	if err := json.Unmarshal(raw, &whole); err != nil {
		return providers.Server{}, fmt.Errorf("%s: %w", op, err)
	}
	vols := map[string]any{}
	for slot, id := range slots {
		vols[slot] = map[string]string{"id": id}
	}
	whole["volumes"] = vols
	out, err := c.object(ctx, op, http.MethodPut, "/servers/"+escape(s.ID), "server", whole)
	if err != nil {
		if errors.Is(err, providers.ErrInvalid) && s.State != "stopped" {
			return providers.Server{}, providers.WithHint(err,
				"server %s is %s: the API changes volumes only while a server is stopped; power it off first (drive attach|detach --stop does it)",
				s.ID, s.State)
		}
		return providers.Server{}, err
	}
	var after serverWire
	if err := json.Unmarshal(out, &after); err != nil {
		return providers.Server{}, fmt.Errorf("%s: %w", op, err)
	}
	return serverOf(out, after), nil
}
