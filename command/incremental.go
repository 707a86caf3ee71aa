package command

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
)

// Flags of incremental writes (upload and restore).
const (
	flagIncremental = "incremental"
	flagBase        = "base"
)

// driveRecords returns the records of what drives hold, in the state
// folder beside the checkpoints.
func driveRecords() (driverecord.Store, error) {
	dir, err := resume.DefaultDir()
	if err != nil {
		return driverecord.Store{}, err
	}
	return driverecord.Store{Dir: dir}, nil
}

// staleRecordHint makes a refused record a usage error (exit 2: the same
// command would be refused again) with what to do instead.
func staleRecordHint(err error, again string) error {
	if errors.Is(err, session.ErrStaleRecord) {
		return withHint(&usageError{Err: err}, "%s", again)
	}
	return err
}

// cloudName names the chosen cloud in records.
func cloudName(c *cli.Context) string {
	cl, err := chosenCloud(c)
	if err != nil {
		return ""
	}
	return cl.Name
}
