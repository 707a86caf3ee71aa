package api2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// The client offers API 2.0's jobs.
var _ providers.JobService = (*Client)(nil)

// ListJobs returns every job of the account.
func (c *Client) ListJobs(ctx context.Context) ([]providers.Job, error) {
	js, err := listAll[wire.Job](ctx, c, "list jobs", "jobs/", nil)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Job, 0, len(js))
	for _, j := range js {
		out = append(out, JobFromWire(j))
	}
	return out, nil
}

// GetJob returns one job, with its state and progress.
func (c *Client) GetJob(ctx context.Context, uuid string) (providers.Job, error) {
	op := "get job " + uuid
	path, err := itemPath(op, "jobs", uuid)
	if err != nil {
		return providers.Job{}, err
	}
	var raw json.RawMessage
	if err := c.doJSON(ctx, request{op: op, method: http.MethodGet, path: path}, &raw); err != nil {
		return providers.Job{}, err
	}
	j, err := decodeOne[wire.Job](op, raw)
	if err != nil {
		return providers.Job{}, err
	}
	if j.UUID == "" {
		return providers.Job{}, fmt.Errorf("%s: %w: job without a uuid", op, providers.ErrNotCloudSigma)
	}
	return JobFromWire(j), nil
}

// JobFromWire converts an API 2.0 job into the neutral type, keeping the API
// object for --json output.
func JobFromWire(j wire.Job) providers.Job {
	return providers.Job{UUID: j.UUID, Operation: j.Operation, Status: j.State, State: wire.JobState(j.State), Progress: j.Data.Progress,
		Resources: j.Resources, Raw: j}
}
