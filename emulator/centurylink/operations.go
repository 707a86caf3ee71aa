package centurylink

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (e *Emulator) getOperation(w http.ResponseWriter, r *http.Request) {
	o := e.findOperation(r.PathValue("id"))
	if o == nil {
		writeError(w, http.StatusNotFound, "The operation "+r.PathValue("id")+" was not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": o.status(e.cfg.Now(), e.cfg.OperationTime)})
}

// powerStates are the power operations and the state each leaves.
var powerStates = map[string]string{
	"powerOn": "started", "powerOff": "stopped", "shutDown": "stopped", "pause": "paused",
	"reboot": "started", "reset": "started",
}

func (e *Emulator) serverOperation(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action == "createSnapshot" {
		e.createSnapshot(w, r)
		return
	}
	power, ok := powerStates[action]
	if !ok {
		writeError(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
		return
	}
	var ids []string
	if !readJSON(w, r, &ids) {
		return
	}
	if len(ids) == 0 {
		writeInvalid(w, "body", "List at least one server.")
		return
	}
	out := make([]queued, 0, len(ids))
	for _, id := range ids {
		s := e.findServer(id, false)
		switch {
		case s == nil:
			out = append(out, queued{Server: id, ErrorMessage: "The server " + id + " was not found."})
		case s.Status != "active":
			out = append(out, queued{Server: s.ID, ErrorMessage: "The server " + s.Name + " is " + s.Status + "."})
		default:
			o := e.startOperation(func() { s.Power = power })
			out = append(out, queued{Server: s.ID, IsQueued: true, Links: []statusLink{e.statusLink(o)}})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type snapshotRequest struct {
	// SnapshotExpirationDays is a number in the documentation's examples
	// and a string in some clients': both are accepted.
	SnapshotExpirationDays json.RawMessage `json:"snapshotExpirationDays"`
	ServerIDs              []string        `json:"serverIds"`
}

func (e *Emulator) createSnapshot(w http.ResponseWriter, r *http.Request) {
	var req snapshotRequest
	if !readJSON(w, r, &req) {
		return
	}
	days, err := strconv.Atoi(strings.Trim(string(req.SnapshotExpirationDays), `"`))
	if err != nil || days < 1 || days > 10 {
		writeInvalid(w, "body.snapshotExpirationDays", "The expiration must be between 1 and 10 days.")
		return
	}
	if len(req.ServerIDs) == 0 {
		writeInvalid(w, "body.serverIds", "List at least one server.")
		return
	}
	out := make([]queued, 0, len(req.ServerIDs))
	for _, id := range req.ServerIDs {
		s := e.findServer(id, false)
		switch {
		case s == nil:
			out = append(out, queued{Server: id, ErrorMessage: "The server " + id + " was not found."})
		case s.Status != "active":
			out = append(out, queued{Server: s.ID, ErrorMessage: "The server " + s.Name + " is " + s.Status + "."})
		case s.Snapshot != nil || s.Snapshotting:
			out = append(out, queued{Server: s.ID,
				ErrorMessage: "The server " + s.Name + " already has a snapshot; delete it before taking another."})
		default:
			s.Snapshotting = true
			o := e.startOperation(func() {
				s.Snapshotting = false
				e.snapSeq++
				now := e.cfg.Now()
				s.Snapshot = &snapshot{ID: e.snapSeq, Name: now.UTC().Format("2006-01-02.15:04:05"),
					Expires: now.Add(time.Duration(days) * 24 * time.Hour), Disks: slices.Clone(s.Disks)}
			})
			out = append(out, queued{Server: s.ID, IsQueued: true, Links: []statusLink{e.statusLink(o)}})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// snapshotOf finds the request's server and its snapshot {snap}, or
// answers 404.
func (e *Emulator) snapshotOf(w http.ResponseWriter, r *http.Request) (*server, *snapshot) {
	s := e.lookup(w, r)
	if s == nil {
		return nil, nil
	}
	if s.Snapshot == nil || strconv.Itoa(s.Snapshot.ID) != r.PathValue("snap") {
		writeError(w, http.StatusNotFound, "The snapshot "+r.PathValue("snap")+" of "+s.Name+" was not found.")
		return nil, nil
	}
	return s, s.Snapshot
}

func (e *Emulator) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	s, _ := e.snapshotOf(w, r)
	if s == nil {
		return
	}
	s.Snapshot = nil
	writeJSON(w, http.StatusAccepted, e.statusLink(e.startOperation(nil)))
}

func (e *Emulator) restoreSnapshot(w http.ResponseWriter, r *http.Request) {
	s, sn := e.snapshotOf(w, r)
	if s == nil {
		return
	}
	disks := slices.Clone(sn.Disks)
	writeJSON(w, http.StatusAccepted, e.statusLink(e.startOperation(func() { s.Disks = disks })))
}
