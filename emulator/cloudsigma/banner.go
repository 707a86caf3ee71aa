package cloudsigma

import (
	"fmt"

	shared "github.com/drivecp/drivecp/emulator"
)

// Environment variables that point drivecp (and CloudSigma's own tools) at
// an endpoint with credentials; Banner's export line sets them.
const (
	EnvEndpoint = "CLOUDSIGMA_ENDPOINT"
	EnvUsername = "CLOUDSIGMA_USERNAME"
	EnvPassword = "CLOUDSIGMA_PASSWORD"
)

// Emulator is the entry of `drivecp serve --cloud cloudsigma`.
func Emulator() shared.Entry {
	return shared.Entry{OperationTime: DefaultJobDuration, Start: Start}
}

// Start builds and starts an emulator from the settings `drivecp serve`
// shares with every cloud (OperationTime is the jobs' duration).
func Start(s shared.Settings) (shared.Running, error) {
	var limits RateLimits
	if s.RateLimits != "" {
		var err error
		if limits, err = ParseRateLimits(s.RateLimits); err != nil {
			return nil, fmt.Errorf("%w: %v", shared.ErrSetting, err)
		}
	}
	srv, err := New(Config{
		RateLimits:     limits,
		Addr:           s.Addr,
		StorageAddr:    s.StorageAddr,
		DataDir:        s.DataDir,
		User:           s.User,
		Password:       s.Password,
		URLExpiry:      s.URLExpiry,
		JobDuration:    s.OperationTime,
		FailRate:       s.Shaping.FailRate,
		ResetRate:      s.Shaping.ResetRate,
		Latency:        s.Shaping.Latency,
		ConnBandwidth:  s.Shaping.ConnBandwidth,
		TotalBandwidth: s.Shaping.TotalBandwidth,
		MaxConcurrent:  s.Shaping.MaxConcurrent,
		NoRange:        s.NoRange,
		MaxDriveSize:   s.MaxDriveSize,
		StorageTypes:   s.StorageTypes,
		Transition:     s.Transition,
		Seed:           s.Shaping.Seed,
		Logf:           s.Logf,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Close()
		return nil, err
	}
	return srv, nil
}

// Banner is what `drivecp serve` prints: the endpoint URL, the user and the
// password, one per line, then the export line that points drivecp at them.
func (s *Server) Banner() string {
	return fmt.Sprintf("%s\n%s\n%s\n", s.URL(), s.cfg.User, s.cfg.Password) + shared.ExportLine(s.Env()...)
}

// Env is what a client needs to reach the emulator: the variables of the
// export line, DRIVECP_CLOUD first.
func (s *Server) Env() []shared.Var {
	return []shared.Var{{Name: "DRIVECP_CLOUD", Value: "cloudsigma"},
		{Name: EnvEndpoint, Value: s.URL()},
		{Name: EnvUsername, Value: s.cfg.User},
		{Name: EnvPassword, Value: s.cfg.Password}}
}
