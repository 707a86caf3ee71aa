package centurylink

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// DefaultExpireDays is how long a snapshot is kept when SnapshotSpec does
// not say (CenturyLink's own tools default to 7).
const DefaultExpireDays = 7

// A server keeps at most one snapshot, so a snapshot's ID is its server's
// name; "SERVER:N", with the API's snapshot number, names it too.

// snapshotNumber is the API's ID of a snapshot, from its self link.
func snapshotNumber(sn snapshotJSON) string {
	for _, l := range sn.Links {
		if l.Rel == "self" {
			if i := strings.LastIndex(l.Href, "/snapshots/"); i >= 0 {
				return l.Href[i+len("/snapshots/"):]
			}
		}
	}
	return ""
}

func toSnapshot(s serverJSON, sn snapshotJSON) providers.Snapshot {
	return providers.Snapshot{UUID: s.Name, Name: sn.Name, Drive: s.Name, Status: "available",
		State: providers.StateReady, Timestamp: sn.Name, Raw: sn,
		Meta: map[string]string{"id": snapshotNumber(sn), MetaServer: s.Name}}
}

// snapshotOf returns the server's snapshot: the one its details list, or
// the one this client is taking. ok is false when it has none.
func (c *Client) snapshotOf(ctx context.Context, s serverJSON) (providers.Snapshot, bool, error) {
	if s.Details != nil && len(s.Details.Snapshots) > 0 {
		return toSnapshot(s, s.Details.Snapshots[0]), true, nil
	}
	job, pending, err := c.pendingState(ctx, c.snapsPending, s.Name)
	if err != nil || !pending {
		return providers.Snapshot{}, false, err
	}
	return providers.Snapshot{UUID: s.Name, Drive: s.Name, Status: job.Status, State: job.State,
		Jobs: []string{job.UUID}, Meta: map[string]string{MetaServer: s.Name}, Raw: job.Raw}, true, nil
}

// ListSnapshots lists the servers' snapshots, of one server when target is
// not empty.
func (c *Client) ListSnapshots(ctx context.Context, target string) ([]providers.Snapshot, error) {
	var ss []serverJSON
	if target != "" {
		s, err := c.getServer(ctx, target)
		if err != nil {
			return nil, err
		}
		ss = []serverJSON{s}
	} else {
		var err error
		if ss, err = c.servers(ctx); err != nil {
			return nil, err
		}
	}
	var out []providers.Snapshot
	for _, s := range ss {
		sn, ok, err := c.snapshotOf(ctx, s)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, sn)
		}
	}
	return out, nil
}

// GetSnapshot reads the snapshot of server id (or SERVER:N).
func (c *Client) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	server, num, _ := strings.Cut(id, ":")
	s, err := c.getServer(ctx, server)
	if err != nil {
		return providers.Snapshot{}, err
	}
	sn, ok, err := c.snapshotOf(ctx, s)
	if err != nil {
		return providers.Snapshot{}, err
	}
	if !ok || (num != "" && sn.Meta["id"] != num) {
		return providers.Snapshot{}, fmt.Errorf("snapshot %s: %s has no such snapshot: %w", id, s.Name, providers.ErrNotFound)
	}
	return sn, nil
}

// CreateSnapshot takes a snapshot of the server spec.Target, kept for
// spec.ExpireDays (1 to 10; 0 is DefaultExpireDays). A server keeps one
// snapshot: when it has one, only spec.Replace goes on, deleting the old
// one (and waiting for that) before taking the new one.
func (c *Client) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	days := spec.ExpireDays
	if days == 0 {
		days = DefaultExpireDays
	}
	if days < 1 || days > 10 {
		return providers.Snapshot{}, fmt.Errorf("%w: a snapshot expires after 1 to 10 days, not %d", providers.ErrInvalid, spec.ExpireDays)
	}
	s, err := c.getServer(ctx, spec.Target)
	if err != nil {
		return providers.Snapshot{}, err
	}
	old, has, err := c.snapshotOf(ctx, s)
	if err != nil {
		return providers.Snapshot{}, err
	}
	if has {
		if !spec.Replace || !old.State.Settled() {
			return providers.Snapshot{}, providers.WithHint(fmt.Errorf("%w: %s already has a snapshot (%s), and CenturyLink Cloud keeps one per server",
				providers.ErrInvalid, s.Name, old.Name), "replace it with --replace, or delete it first")
		}
		job, err := c.deleteSnapshot(ctx, s, old)
		if err != nil {
			return providers.Snapshot{}, err
		}
		if err := c.waitJob(ctx, job.UUID); err != nil {
			return providers.Snapshot{}, fmt.Errorf("delete the old snapshot of %s: %w", s.Name, err)
		}
	}
	p, err := c.path(ctx, "/v2/operations", "servers", "createSnapshot")
	if err != nil {
		return providers.Snapshot{}, err
	}
	op := "create a snapshot of " + s.Name
	var items []queued
	if _, err := c.do(ctx, op, "POST", p, snapshotRequest{SnapshotExpirationDays: days, ServerIDs: []string{s.Name}}, &items); err != nil {
		return providers.Snapshot{}, err
	}
	id, err := queuedOp(op, items)
	if err != nil {
		return providers.Snapshot{}, err
	}
	c.setPending(c.snapsPending, s.Name, id)
	// The API names a snapshot by the time it was taken; spec.Name is not
	// kept.
	return providers.Snapshot{UUID: s.Name, Drive: s.Name, Status: "notStarted", State: providers.StateBusy,
		Jobs: []string{id}, Meta: map[string]string{MetaServer: s.Name, "expireDays": fmt.Sprint(days)}}, nil
}

// deleteSnapshot deletes sn, the snapshot of s.
func (c *Client) deleteSnapshot(ctx context.Context, s serverJSON, sn providers.Snapshot) (providers.Job, error) {
	num := sn.Meta["id"]
	if num == "" {
		return providers.Job{}, fmt.Errorf("%w: the snapshot of %s is still being taken", providers.ErrInvalid, s.Name)
	}
	p, err := c.path(ctx, "/v2/servers", s.Name, "snapshots", num)
	if err != nil {
		return providers.Job{}, err
	}
	op := "delete the snapshot of " + s.Name
	var l statusLink
	if _, err := c.do(ctx, op, "DELETE", p, nil, &l); err != nil {
		return providers.Job{}, err
	}
	c.setPending(c.snapsPending, s.Name, "")
	id, err := opID(op, l)
	return providers.Job{UUID: id, Operation: op, Status: "notStarted", State: providers.StateBusy, Progress: -1}, err
}

// DeleteSnapshots deletes snapshots by ID (their servers' names).
func (c *Client) DeleteSnapshots(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		sn, err := c.GetSnapshot(ctx, id)
		if err != nil {
			return err
		}
		s, err := c.getServer(ctx, sn.Drive)
		if err != nil {
			return err
		}
		if _, err := c.deleteSnapshot(ctx, s, sn); err != nil {
			return err
		}
	}
	return nil
}

// RestoreSnapshot reverts the server to its snapshot.
func (c *Client) RestoreSnapshot(ctx context.Context, id string) (providers.Job, error) {
	sn, err := c.GetSnapshot(ctx, id)
	if err != nil {
		return providers.Job{}, err
	}
	if sn.Meta["id"] == "" {
		return providers.Job{}, fmt.Errorf("%w: the snapshot of %s is still being taken", providers.ErrInvalid, sn.Drive)
	}
	p, err := c.path(ctx, "/v2/servers", sn.Drive, "snapshots", sn.Meta["id"], "restore")
	if err != nil {
		return providers.Job{}, err
	}
	op := "restore " + sn.Drive + " to its snapshot"
	var l statusLink
	if _, err := c.do(ctx, op, "POST", p, nil, &l); err != nil {
		return providers.Job{}, err
	}
	jid, err := opID(op, l)
	if err != nil {
		return providers.Job{}, err
	}
	c.setPending(c.disksPending, sn.Drive, jid) // a restore puts the disks back
	return providers.Job{UUID: jid, Operation: "restore snapshot", Status: "notStarted", State: providers.StateBusy,
		Progress: -1, Resources: []string{sn.Drive}}, nil
}

// EditSnapshot is unsupported: the API names snapshots itself.
func (c *Client) EditSnapshot(ctx context.Context, id string, name *string, meta map[string]string) (providers.Snapshot, error) {
	return providers.Snapshot{}, &providers.UnsupportedError{Cloud: Name, What: "rename snapshots",
		Instead: "snapshots named by the time they were taken"}
}

// CloneSnapshot is unsupported: a snapshot can only be restored onto its
// server.
func (c *Client) CloneSnapshot(ctx context.Context, id string, spec providers.CloneSpec) (providers.Drive, error) {
	return providers.Drive{}, &providers.UnsupportedError{Cloud: Name, What: "clone snapshots",
		Instead: "restoring a snapshot onto its server"}
}

// waitJob polls an operation until it has finished; a failed operation is
// an error. It waits, it does not retry: the operation runs once.
func (c *Client) waitJob(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		j, err := c.GetJob(ctx, id)
		if err != nil {
			return err
		}
		switch j.State {
		case providers.StateReady:
			return nil
		case providers.StateFailed:
			return fmt.Errorf("operation %s failed", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}
