package session

import (
	"errors"
	"fmt"

	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/resume"
)

// apiFlags names the upload flags that choose api.
func apiFlags(api string) string {
	switch api {
	case resume.APIv2:
		return "--api v2 (chunked, without --single)"
	case resume.APIv2Single:
		return "--single"
	}
	return "--api " + api
}

// chunkedAPIs are the APIs whose uploads keep a checkpoint.
var chunkedAPIs = []string{resume.APIv1, resume.APIv2}

// OtherAPIUpload refuses (a usage error) an upload of key's image that an
// interrupted run with another API left a checkpoint for, at the same
// endpoint: the checkpoint's id includes the API, so without this check
// the run would start a second drive beside the first and leave both.
// With Restart, that checkpoint is discarded instead, and the drive it
// names is left as it is (and said so).
func (e Env) OtherAPIUpload(key resume.Key) error {
	abs, err := AbsPath(key.LocalPath)
	if err != nil {
		return err
	}
	key.LocalPath = abs
	st := e.Store
	for _, api := range chunkedAPIs {
		if api == key.API {
			continue
		}
		other := key
		other.API = api
		id := other.ID()
		old, err := st.Load(id)
		if err != nil {
			continue // none, or one its own command reports
		}
		if !e.Restart {
			return failure.WithHint(failure.Usagef("an interrupted %s upload of %s is saved (checkpoint %s, %d of %d chunks done); this run uses %s",
				apiFlags(api), key.LocalPath, id, old.DoneCount(), old.Total, apiFlags(key.API)),
				"run the upload with %s to continue it, or add --restart to discard it and start over", apiFlags(api))
		}
		unlock, err := st.Lock(id)
		if errors.Is(err, resume.ErrLocked) {
			return failure.WithHint(failure.Usagef("another drivecp is running the --api %s upload of %s (checkpoint %s)", api, key.LocalPath, id),
				"wait for it to finish, or stop it (Ctrl-C saves its progress) and run this command again")
		}
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		err = discard(st, id, e.stderr(), e.Quiet)
		if unlockErr := unlock(); err == nil {
			err = unlockErr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
