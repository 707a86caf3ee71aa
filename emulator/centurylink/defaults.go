package centurylink

import (
	"strings"
	"time"
)

// Defaults for `drivecp serve --cloud centurylink`.
const (
	DefaultUser          = "demouser1"
	DefaultPassword      = "mypassword"
	DefaultTokenTTL      = 2 * time.Hour // short, so that a long session meets an expired token
	DefaultOperationTime = 3 * time.Second
)

// DefaultServers are the servers a served emulator starts with, so that
// there are disks to list and snapshot at once.
var DefaultServers = []string{"web", "db"}

// Exports returns the line a shell evaluates to point drivecp at an
// emulator serving cfg at url: the CLC_* variables CenturyLink's own tools
// read, and DRIVECP_CLOUD.
func Exports(url string, cfg Config) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	return "export DRIVECP_CLOUD=centurylink CLC_ENDPOINT=" + q(url) + " CLC_USERNAME=" + q(cfg.Username) +
		" CLC_PASSWORD=" + q(cfg.Password)
}
