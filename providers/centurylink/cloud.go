// Package centurylink registers CenturyLink Cloud (API v2, the CenturyLink API walkthrough) as a
// drivecp cloud. A drive is a server's disk, named SERVER:DISK
// (WA1ALIASWEB01:0:1): disks are listed by walking the account's groups,
// added and grown by PATCHing the server's whole disk list, removed the
// same way (never the operating-system disks). Every change is an
// operation (/v2/operations/{alias}/status/{id}), read as a job. A server
// keeps one snapshot, which can be restored; templates are the images. The
// API has no way to move a disk's bytes, so there are no uploads or
// downloads, and a backup is a snapshot per server.
//
// CreateDrive adds a disk to DriveSpec.Server (or Meta["server"],
// MetaServer) mounted at DriveSpec.Path (or Meta["path"], MetaPath) or,
// without one, at DriveSpec.Name: a disk's
// name is its partition path, and a disk with neither is raw and named by
// its ID. Sizes are whole GB (binary), rounded up. A snapshot's ID is its
// server's name (the server keeps one), or SERVER:N with the API's number.
//
// The API shows neither a disk change nor a snapshot in progress in the
// server's details, so the client remembers the operations it started in
// this run: their disks and snapshots are busy until those end. Another
// run sees them as the API shows them.
//
// The client logs in once per run (POST /v2/authentication/login) and
// again, once, when the API refuses the bearer token later in the run. The
// token is never printed, traced or stored.
package centurylink

import (
	"context"
	"fmt"

	"github.com/drivecp/drivecp/providers"
)

// Name is the cloud's registered name.
const Name = "centurylink"

// DefaultEndpoint is the API's base URL.
const DefaultEndpoint = "https://api.ctl.io"

// Names of the settings Open reads.
const (
	SettingEndpoint     = "endpoint"
	SettingUsername     = "username"
	SettingPassword     = "password"
	SettingPasswordFile = "password-file"
	SettingAccount      = "account"
	SettingLocation     = "location"
)

// lacksInstead is what the cloud offers where it lacks a byte path.
const lacksInstead = "disks added to or grown on its servers and one snapshot per server"

// Cloud returns CenturyLink Cloud's registration.
func Cloud() providers.Cloud {
	return providers.Cloud{
		Name:    Name,
		Summary: "CenturyLink Cloud, API v2: server disks, server snapshots, templates, operations (no byte path)",
		Settings: []providers.Setting{
			{Name: SettingEndpoint, Env: []string{"CLC_ENDPOINT"}, Default: DefaultEndpoint,
				Usage: "API base URL (e.g. the emulator's)"},
			{Name: SettingUsername, Env: []string{"CLC_USERNAME"}, Usage: "Control Portal user name"},
			{Name: SettingPassword, Env: []string{"CLC_PASSWORD"}, Secret: true,
				Usage: "Control Portal password (prefer the environment variable or --password-file: arguments show in ps)"},
			{Name: SettingPasswordFile, Env: []string{"CLC_PASSWORD_FILE"}, FileOf: SettingPassword,
				Usage: "read the password from the first line of this file (keep it 0600)"},
			{Name: SettingAccount, Env: []string{"CLC_ACCOUNT"},
				Usage: "account alias (default: the one the login returns)"},
			{Name: SettingLocation, Env: []string{"CLC_LOCATION"},
				Usage: "data center, e.g. WA1 (default: the one the login returns)"},
		},
		Capabilities: providers.Capabilities{
			Services: []string{providers.ServiceDrives, providers.ServiceDriveEdits, providers.ServiceSnapshots,
				providers.ServiceSnapshotRestores, providers.ServiceImages, providers.ServiceJobs,
				providers.ServiceServers, providers.ServiceServerPower},
			Backup: providers.BackupSnapshot,
		},
		Open: open,
	}
}

// Features are how this cloud's objects behave.
func Features() providers.Features {
	return providers.Features{
		DriveNoun:             "disk",
		SizeUnit:              GB,
		SnapshotOf:            providers.SnapshotOfServer,
		MaxSnapshotsPerTarget: 1,
		Backup:                providers.BackupSnapshot,
		OperationIDs:          true,
		Lacks: map[string]string{
			"upload":                lacksInstead,
			"download":              lacksInstead,
			"transfer drive images": lacksInstead,
			"clone":                 lacksInstead,
		},
	}
}

func open(ctx context.Context, cfg providers.Config, o providers.OpenOptions) (*providers.Provider, error) {
	if cfg[SettingUsername] == "" || cfg[SettingPassword] == "" {
		return nil, providers.WithHint(fmt.Errorf("%w: no credentials", providers.ErrInvalid),
			"set CLC_USERNAME and CLC_PASSWORD or CLC_PASSWORD_FILE (or --username/--password/--password-file); "+
				"'drivecp serve --cloud centurylink' prints the emulator's")
	}
	c, err := New(Options{Endpoint: cfg[SettingEndpoint], Username: cfg[SettingUsername], Password: cfg[SettingPassword],
		Account: cfg[SettingAccount], Location: cfg[SettingLocation], Version: o.Version,
		Concurrency: o.Concurrency, Trace: o.Trace})
	if err != nil {
		return nil, err
	}
	return &providers.Provider{
		Cloud:    Name,
		Endpoint: c.Host(),
		Services: providers.Services{Drives: c, DriveEditor: c, Snapshots: c, SnapshotRestorer: c,
			Images: c, Jobs: c, Servers: c, ServerPower: c},
		Features: Features(),
	}, nil
}
