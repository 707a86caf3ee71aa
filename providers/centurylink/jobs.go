package centurylink

import (
	"context"

	"github.com/drivecp/drivecp/providers"
)

// jobState maps an operation's status onto the neutral states.
func jobState(status string) providers.State {
	switch status {
	case "notStarted", "executing", "resumed":
		return providers.StateBusy
	case "succeeded":
		return providers.StateReady
	case "failed":
		return providers.StateFailed
	}
	return providers.StateUnknown
}

// GetJob reads an operation's status.
func (c *Client) GetJob(ctx context.Context, id string) (providers.Job, error) {
	p, err := c.path(ctx, "/v2/operations", "status", id)
	if err != nil {
		return providers.Job{}, err
	}
	var st operationStatus
	if _, err := c.do(ctx, "get operation "+id, "GET", p, nil, &st); err != nil {
		return providers.Job{}, err
	}
	j := providers.Job{UUID: id, Status: st.Status, State: jobState(st.Status), Progress: -1, Raw: st}
	if j.State == providers.StateReady {
		j.Progress = 100
	}
	return j, nil
}

// ListJobs is unsupported: the API reads an operation's status by its ID
// and has no listing of operations.
func (c *Client) ListJobs(ctx context.Context) ([]providers.Job, error) {
	return nil, &providers.UnsupportedError{Cloud: Name, What: "list operations",
		Instead: "the status of each operation by its ID (the one a change prints)"}
}

// pendingState returns the state of the operation this client started on
// server (in m), dropping it once it has finished. ok is false when there
// is none running.
func (c *Client) pendingState(ctx context.Context, m map[string]string, server string) (job providers.Job, ok bool, err error) {
	key := upper(server)
	c.pendMu.Lock()
	id := m[key]
	c.pendMu.Unlock()
	if id == "" {
		return providers.Job{}, false, nil
	}
	j, err := c.GetJob(ctx, id)
	if err != nil {
		return providers.Job{}, false, err
	}
	if j.State.Settled() {
		c.pendMu.Lock()
		if m[key] == id {
			delete(m, key)
		}
		c.pendMu.Unlock()
		if j.State == providers.StateReady {
			return j, false, nil
		}
	}
	return j, true, nil
}

// setPending records the operation of a change on server.
func (c *Client) setPending(m map[string]string, server, op string) {
	c.pendMu.Lock()
	if op == "" {
		delete(m, upper(server))
	} else {
		m[upper(server)] = op
	}
	c.pendMu.Unlock()
}
