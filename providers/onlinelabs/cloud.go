// Package onlinelabs registers the Online Labs compute API (the Online Labs API guide,
// https://api.cloud.online.net, the ancestor of Scaleway's) as a drivecp
// cloud: volumes as drives, their snapshots, images made of snapshots,
// tasks as jobs, and servers to list, power and attach volumes to. The API
// has no way to move a volume's bytes, so the cloud has no transfers, and
// a backup there keeps a snapshot per volume.
//
// Requests carry the token in X-Auth-Token and name the organization in
// creation bodies. Lists fetch every page (page and per_page, following
// the Link header). Volumes, snapshots and images carry no tags or
// metadata; what needs them answers ErrUnsupported.
package onlinelabs

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// Name is the cloud's registered name.
const Name = "onlinelabs"

// DefaultEndpoint is the API's base URL.
const DefaultEndpoint = "https://api.cloud.online.net"

// Names of the settings Open reads.
const (
	SettingEndpoint     = "endpoint"
	SettingToken        = "token"
	SettingTokenFile    = "token-file"
	SettingOrganization = "organization"
)

// Cloud returns Online Labs' registration.
func Cloud() providers.Cloud {
	return providers.Cloud{
		Name:    Name,
		Summary: "Online Labs compute API: volumes, snapshots, images, tasks and servers; no byte transfers",
		Settings: []providers.Setting{
			{Name: SettingEndpoint, Env: []string{"ONLINELABS_ENDPOINT"}, Default: DefaultEndpoint,
				Usage: "API base URL (e.g. the emulator's)"},
			{Name: SettingToken, Env: []string{"ONLINELABS_TOKEN"}, Secret: true,
				Usage: "API token, sent as X-Auth-Token (prefer the environment variable or --token-file: arguments show in ps)"},
			{Name: SettingTokenFile, Env: []string{"ONLINELABS_TOKEN_FILE"}, FileOf: SettingToken,
				Usage: "read the API token from the first line of this file (keep it 0600)"},
			{Name: SettingOrganization, Env: []string{"ONLINELABS_ORGANIZATION"},
				Usage: "organization ID that new volumes, snapshots and images belong to"},
		},
		Capabilities: providers.Capabilities{
			Services: []string{providers.ServiceDrives, providers.ServiceDriveEdits, providers.ServiceSnapshots,
				providers.ServiceImages, providers.ServiceJobs, providers.ServiceServers, providers.ServiceServerPower,
				providers.ServiceAttach},
			Backup: providers.BackupSnapshot,
		},
		Open: open,
	}
}

// Features are how Online Labs' objects behave.
func Features() providers.Features {
	return providers.Features{
		DriveNoun:       "volume",
		SizeUnit:        SizeUnit,
		SnapshotOf:      providers.SnapshotOfDrive,
		Backup:          providers.BackupSnapshot,
		AttachNeedsStop: true,
		OperationTime:   5 * time.Second,
		// Each value completes "onlinelabs cannot KEY: it has VALUE instead".
		Lacks: map[string]string{
			"upload":                "volume snapshots and images made of them",
			"download":              "volume snapshots and images made of them",
			"transfer drive images": "volume snapshots and images made of them",
			"clone":                 "snapshots",
			"resize":                "new volumes of any size",
		},
	}
}

func open(ctx context.Context, cfg providers.Config, o providers.OpenOptions) (*providers.Provider, error) {
	endpoint := cfg[SettingEndpoint]
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: --endpoint %q is not an http(s) URL", providers.ErrInvalid, endpoint)
	}
	if u.Scheme == "http" && !httpclient.IsLoopback(u.Hostname()) {
		return nil, providers.WithHint(fmt.Errorf("%w: refusing to send the API token over plain HTTP to %s", providers.ErrInvalid, u.Host),
			"use an https endpoint (plain HTTP is for an emulator on this machine)")
	}
	token, org := cfg[SettingToken], cfg[SettingOrganization]
	if token == "" || org == "" {
		missing := "no API token"
		if token != "" {
			missing = "no organization"
		} else if org == "" {
			missing = "no API token and no organization"
		}
		return nil, providers.WithHint(fmt.Errorf("%w: %s", providers.ErrInvalid, missing),
			"set ONLINELABS_TOKEN (or ONLINELABS_TOKEN_FILE) and ONLINELABS_ORGANIZATION, or --token/--token-file and --organization; "+
				"'drivecp serve --cloud onlinelabs' prints the emulator's")
	}
	// No username: the shared client adds no Basic auth; the token goes in
	// X-Auth-Token from this package only, to the endpoint's host only
	// (the client follows no redirects), and --debug traces never show
	// headers.
	hc := httpclient.New(httpclient.Options{Version: o.Version, Concurrency: o.Concurrency, Trace: o.Trace})
	c, err := NewClient(hc, u.String(), token, org)
	if err != nil {
		return nil, err
	}
	return &providers.Provider{
		Cloud:    Name,
		Endpoint: u.Host,
		Services: providers.Services{Drives: c, DriveEditor: c, Snapshots: c, Images: c, Jobs: c,
			Servers: c, ServerPower: c, Attacher: c},
		Features: Features(),
	}, nil
}
