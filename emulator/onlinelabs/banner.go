package onlinelabs

import (
	"fmt"
	"time"

	"github.com/drivecp/drivecp/emulator"
)

// DefaultOperationTime is how long `drivecp serve --cloud onlinelabs`
// lets asynchronous work take unless told otherwise: long enough to see
// a task pending and started, short enough not to wait.
const DefaultOperationTime = 3 * time.Second

// Banner is what the emulator prints for its users, served at url: the
// endpoint, the token and the organization, one per line, then an export
// line a shell can evaluate to point drivecp at it.
func (s *Server) Banner(url string) string {
	return fmt.Sprintf("%s\n%s\n%s\n", url, s.cfg.Token, s.cfg.Organization) +
		emulator.ExportLine(emulator.Var{Name: "DRIVECP_CLOUD", Value: "onlinelabs"},
			emulator.Var{Name: "ONLINELABS_ENDPOINT", Value: url},
			emulator.Var{Name: "ONLINELABS_TOKEN", Value: s.cfg.Token},
			emulator.Var{Name: "ONLINELABS_ORGANIZATION", Value: s.cfg.Organization})
}
