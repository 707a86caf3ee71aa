package command

import (
	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/session"
)

// flagRestart is the upload and download flag that discards a checkpoint.
const flagRestart = "restart"

// sessionEnv is the session.Env of a transfer command: the checkpoint
// store, the records of what drives hold, --restart, --quiet and the
// command's stderr.
func sessionEnv(c *cli.Context) (session.Env, error) {
	st, err := checkpointStore()
	if err != nil {
		return session.Env{}, err
	}
	records, err := driveRecords()
	if err != nil {
		return session.Env{}, err
	}
	return session.Env{Store: st, Restart: c.Bool(flagRestart), Stderr: c.App.ErrWriter, Quiet: c.Bool(flagQuiet),
		Records: &records, Cloud: cloudName(c)}, nil
}
