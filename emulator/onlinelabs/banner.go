package onlinelabs

import (
	"fmt"
	"time"
)

// DefaultOperationTime is how long `drivecp serve --cloud onlinelabs`
// lets asynchronous work take unless told otherwise: long enough to see
// a task pending and started, short enough not to wait.
const DefaultOperationTime = 3 * time.Second

// Banner is what the emulator prints for its users, served at url: the
// endpoint, the token and the organization, one per line, then an export
// line a shell can evaluate to point drivecp at it.
func (s *Server) Banner(url string) string {
	return fmt.Sprintf("%s\n%s\n%s\nexport DRIVECP_CLOUD=onlinelabs ONLINELABS_ENDPOINT=%s ONLINELABS_TOKEN=%s ONLINELABS_ORGANIZATION=%s\n",
		url, s.cfg.Token, s.cfg.Organization, url, s.cfg.Token, s.cfg.Organization)
}
