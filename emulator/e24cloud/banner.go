package e24cloud

import (
	"fmt"
	"time"

	"github.com/drivecp/drivecp/emulator"
)

// DefaultOperationTime is how long `drivecp serve --cloud e24cloud` lets
// a task take unless told otherwise: long enough to watch a wait poll,
// short enough not to bore.
const DefaultOperationTime = 3 * time.Second

// Banner is what the emulator prints for its users, served at url: the
// endpoint, the key and the secret, one per line, then an export line a
// shell can evaluate to point drivecp at it.
func (s *Server) Banner(url string) string {
	return fmt.Sprintf("%s\n%s\n%s\n", url, s.cfg.Key, s.cfg.Secret) +
		emulator.ExportLine(emulator.Var{Name: "DRIVECP_CLOUD", Value: "e24cloud"},
			emulator.Var{Name: "E24CLOUD_ENDPOINT", Value: url},
			emulator.Var{Name: "E24CLOUD_API_KEY", Value: s.cfg.Key},
			emulator.Var{Name: "E24CLOUD_API_SECRET", Value: s.cfg.Secret})
}
