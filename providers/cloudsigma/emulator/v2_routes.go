package emulator

// registerV2Resources registers the API 2.0 resource handlers (drives,
// snapshots, library drives, jobs, capabilities, locations) on s.api with
// s.api.handle(pattern, methods). This stub belongs to the API 2.0
// resources work, which replaces it; the transfer endpoints are registered
// by registerTransfers.
func (s *Server) registerV2Resources() {}
