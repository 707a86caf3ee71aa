// Package all lists the emulators `drivecp serve --cloud NAME` runs besides
// CloudSigma's (which has listeners of its own for its storage host): the
// one place a cloud's emulator is added.
package all

import (
	"time"

	"github.com/drivecp/drivecp/emulator"
	"github.com/drivecp/drivecp/emulator/centurylink"
	"github.com/drivecp/drivecp/emulator/e24cloud"
	"github.com/drivecp/drivecp/emulator/onlinelabs"
)

// Emulators returns a constructor per cloud name; each takes the time
// asynchronous operations last.
func Emulators() map[string]func(operationTime time.Duration) emulator.Cloud {
	return map[string]func(time.Duration) emulator.Cloud{
		"onlinelabs": func(d time.Duration) emulator.Cloud { return onlinelabs.New(onlinelabs.Config{OperationTime: d}) },
		"e24cloud":   func(d time.Duration) emulator.Cloud { return e24cloud.New(e24cloud.Config{OperationTime: d}) },
		"centurylink": func(d time.Duration) emulator.Cloud {
			return centurylink.New(centurylink.Config{Username: centurylink.DefaultUser, Password: centurylink.DefaultPassword,
				TokenTTL: centurylink.DefaultTokenTTL, OperationTime: d, Servers: centurylink.DefaultServers})
		},
	}
}
