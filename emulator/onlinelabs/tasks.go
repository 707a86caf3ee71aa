package onlinelabs

import (
	"net/http"

	"github.com/drivecp/drivecp/emulator"
)

func (s *Server) listTasks(q *request) {
	var all []taskJSON
	for _, t := range sorted(s.st.tasks, func(t *task) int { return t.seq }) {
		all = append(all, taskToJSON(t))
	}
	if pg, ok := page(q, all, s.cfg.PageSize); ok {
		writeJSON(q.w, http.StatusOK, map[string]any{"tasks": nonNil(pg)})
	}
}

func (s *Server) getTask(q *request, id string) {
	t, ok := s.st.tasks[id]
	if !ok {
		notFound(q.w, "task")
		return
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"task": taskToJSON(t)})
}

// startTask records a task that ends after the operation time.
func (s *Server) startTask(q *request, description string) *task {
	t := &task{seq: s.st.next(), id: emulator.NewUUID(), description: description, hrefFrom: q.r.URL.Path,
		started: q.now, ends: q.now.Add(s.cfg.OperationTime), status: "pending"}
	s.st.tasks[t.id] = t
	return t
}
