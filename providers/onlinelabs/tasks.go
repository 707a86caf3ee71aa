package onlinelabs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/drivecp/drivecp/providers"
)

// taskState maps a task's status word onto the neutral states.
func taskState(word string) providers.State {
	switch word {
	case "pending", "started":
		return providers.StateBusy
	case "success":
		return providers.StateReady
	case "failure":
		return providers.StateFailed
	}
	return providers.StateUnknown
}

func jobOf(raw json.RawMessage, t taskWire) providers.Job {
	j := providers.Job{UUID: t.ID, Operation: t.Description, Status: t.Status, State: taskState(t.Status),
		Progress: t.progress(), Raw: raw}
	// href_from names the object acted on: /servers/{id}/action.
	if parts := strings.Split(strings.Trim(t.HrefFrom, "/"), "/"); len(parts) >= 2 {
		j.Resources = []string{parts[1]}
	}
	if j.State == providers.StateReady {
		j.Progress = 100
	}
	return j
}

// ListJobs lists the API's tasks, every page.
func (c *Client) ListJobs(ctx context.Context) ([]providers.Job, error) {
	raws, err := c.listAll(ctx, "list tasks", "/tasks", "tasks")
	if err != nil {
		return nil, err
	}
	tasks, err := decodeEach[taskWire](raws)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := make([]providers.Job, len(tasks))
	for i, t := range tasks {
		out[i] = jobOf(raws[i], t)
	}
	return out, nil
}

// GetJob returns a task.
func (c *Client) GetJob(ctx context.Context, id string) (providers.Job, error) {
	raw, err := c.object(ctx, "get task "+id, http.MethodGet, "/tasks/"+escape(id), "task", nil)
	if err != nil {
		return providers.Job{}, err
	}
	var t taskWire
	if err := json.Unmarshal(raw, &t); err != nil {
		return providers.Job{}, fmt.Errorf("get task %s: %w", id, err)
	}
	return jobOf(raw, t), nil
}
