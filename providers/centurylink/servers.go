package centurylink

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/drivecp/drivecp/providers"
)

// getServer reads one server by name.
func (c *Client) getServer(ctx context.Context, name string) (serverJSON, error) {
	var s serverJSON
	if name == "" || strings.ContainsAny(name, "/?#") {
		return s, fmt.Errorf("%w: %q is not a server name", providers.ErrInvalid, name)
	}
	p, err := c.path(ctx, "/v2/servers", name)
	if err != nil {
		return s, err
	}
	_, err = c.do(ctx, "get server "+name, "GET", p, nil, &s)
	return s, err
}

// serverNames walks the account's groups in the data center, from the root
// group the data center links to, and returns the names of their servers.
// The API hands each list out whole: there are no pages to fetch.
func (c *Client) serverNames(ctx context.Context) ([]string, error) {
	loc, err := c.location(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.path(ctx, "/v2/datacenters", loc)
	if err != nil {
		return nil, err
	}
	var dc dataCenter
	if _, err := c.do(ctx, "get data center "+loc, "GET", p+"?groupLinks=true", nil, &dc); err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	var walk func(g group)
	walk = func(g group) {
		for _, l := range g.Links {
			if l.Rel == "server" && l.ID != "" && !seen[strings.ToUpper(l.ID)] {
				seen[strings.ToUpper(l.ID)] = true
				names = append(names, l.ID)
			}
		}
		for _, sub := range g.Groups {
			walk(sub)
		}
	}
	for _, l := range dc.Links {
		if l.Rel != "group" {
			continue
		}
		gp, err := c.path(ctx, "/v2/groups", l.ID)
		if err != nil {
			return nil, err
		}
		var g group
		if _, err := c.do(ctx, "get group "+l.ID, "GET", gp, nil, &g); err != nil {
			return nil, err
		}
		walk(g)
	}
	return names, nil
}

// servers reads every server of the account in the data center, a few at
// a time: the API has no request that returns them with their details.
func (c *Client) servers(ctx context.Context) ([]serverJSON, error) {
	names, err := c.serverNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]serverJSON, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.parallel)
	for i, n := range names {
		g.Go(func() error {
			s, err := c.getServer(gctx, n)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// ListServers lists the account's servers in the data center.
func (c *Client) ListServers(ctx context.Context) ([]providers.Server, error) {
	ss, err := c.servers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Server, len(ss))
	for i, s := range ss {
		out[i] = toServer(s)
	}
	return out, nil
}

// GetServer reads one server.
func (c *Client) GetServer(ctx context.Context, id string) (providers.Server, error) {
	s, err := c.getServer(ctx, id)
	if err != nil {
		return providers.Server{}, err
	}
	return toServer(s), nil
}

// serverState maps a server's status and power state onto the neutral
// states: a running server is in use, a stopped or paused one ready.
func serverState(s serverJSON) providers.State {
	switch s.Status {
	case "underConstruction", "queuedForDelete":
		return providers.StateBusy
	case "deleted":
		return providers.StateGone
	case "archived":
		return providers.StateReady
	case "active":
		if s.Details == nil {
			return providers.StateBusy
		}
		switch s.Details.PowerState {
		case "started":
			return providers.StateInUse
		case "stopped", "paused":
			return providers.StateReady
		}
	}
	return providers.StateUnknown
}

func serverStatus(s serverJSON) string {
	if s.Status == "active" && s.Details != nil && s.Details.PowerState != "" {
		return s.Details.PowerState
	}
	return s.Status
}

func toServer(s serverJSON) providers.Server {
	out := providers.Server{ID: s.Name, Name: s.Name, Status: serverStatus(s), State: serverState(s), Raw: s}
	if s.Details != nil {
		for _, d := range s.Details.Disks {
			out.Drives = append(out.Drives, providers.ServerDrive{Drive: s.Name + ":" + d.ID, Slot: d.ID,
				Size: d.SizeGB * GB, Boot: isOSDisk(s, d.ID)})
		}
	}
	return out
}

// isOSDisk reports whether disk is one the server's template made, which
// the API refuses to remove: 0:0, 0:1 and 0:2 (boot, swap, root) on Linux
// templates, 0:0 on Windows ones.
func isOSDisk(s serverJSON, disk string) bool {
	if strings.HasPrefix(strings.ToLower(s.OS), "windows") {
		return disk == "0:0"
	}
	return disk == "0:0" || disk == "0:1" || disk == "0:2"
}

// StopServer shuts a server down (the API's shutDown).
func (c *Client) StopServer(ctx context.Context, id string) (providers.Job, error) {
	return c.powerOp(ctx, "shutDown", id)
}

// StartServer powers a server on.
func (c *Client) StartServer(ctx context.Context, id string) (providers.Job, error) {
	return c.powerOp(ctx, "powerOn", id)
}

// powerOp runs a server operation of /v2/operations/{alias}/servers/ on
// one server and returns its job.
func (c *Client) powerOp(ctx context.Context, action, server string) (providers.Job, error) {
	if _, err := c.getServer(ctx, server); err != nil {
		return providers.Job{}, err // an unknown server is ErrNotFound, not a refused item
	}
	p, err := c.path(ctx, "/v2/operations", "servers", action)
	if err != nil {
		return providers.Job{}, err
	}
	var items []queued
	if _, err := c.do(ctx, action+" "+server, "POST", p, []string{server}, &items); err != nil {
		return providers.Job{}, err
	}
	id, err := queuedOp(action+" "+server, items)
	if err != nil {
		return providers.Job{}, err
	}
	return providers.Job{UUID: id, Operation: action, Status: "notStarted", State: providers.StateBusy,
		Progress: -1, Resources: []string{server}}, nil
}

// queuedOp returns the operation of the one server item of a server
// operation's answer; an item the API did not queue is ErrInvalid with the
// API's message.
func queuedOp(op string, items []queued) (string, error) {
	if len(items) != 1 {
		return "", fmt.Errorf("%s: the answer lists %d servers, want 1", op, len(items))
	}
	it := items[0]
	if !it.IsQueued {
		return "", fmt.Errorf("%s: %s: %w", op, it.ErrorMessage, providers.ErrInvalid)
	}
	for _, l := range it.Links {
		if l.Rel == "status" {
			return opID(op, l)
		}
	}
	return "", fmt.Errorf("%s: the answer names no operation", op)
}
