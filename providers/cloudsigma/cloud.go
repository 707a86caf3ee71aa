// Package cloudsigma registers CloudSigma as a drivecp cloud: its settings
// (the CLOUDSIGMA_* variables its Terraform provider uses), and an Open that
// connects API 1.0 and API 2.0 through one HTTP client. API 2.0 is the
// default transfer API (chunked resumable uploads, one-request uploads,
// ranged downloads through redirecting transfer URLs); API 1.0 offers offset
// writes of gzip pieces, which skip the zero chunks of a new drive.
package cloudsigma

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/api1"
	"github.com/drivecp/drivecp/providers/cloudsigma/api2"
	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// Name is the cloud's registered name.
const Name = "cloudsigma"

// Names of the settings Open reads.
const (
	SettingEndpoint     = "endpoint"
	SettingLocation     = "location"
	SettingUsername     = "username"
	SettingPassword     = "password"
	SettingPasswordFile = "password-file"
)

// DefaultLocation is the location used when none is set.
const DefaultLocation = "zrh"

// minDriveSize is the smallest drive API 2.0 makes: a smaller one-request
// upload yields a drive this large.
const minDriveSize = 512 << 20

// Cloud returns CloudSigma's registration.
func Cloud() providers.Cloud {
	return providers.Cloud{
		Name:    Name,
		Summary: "CloudSigma, API 1.0 and 2.0: drives, snapshots, library drives, jobs, uploads and downloads",
		Settings: []providers.Setting{
			{Name: SettingEndpoint, Env: []string{"CLOUDSIGMA_ENDPOINT"},
				Usage: "one base URL for API 1.0, API 2.0 and direct transfers (e.g. the emulator)"},
			{Name: SettingLocation, Env: []string{"CLOUDSIGMA_LOCATION"}, Default: DefaultLocation,
				Usage: "CloudSigma location (zrh, lvs, ...)"},
			{Name: SettingUsername, Env: []string{"CLOUDSIGMA_USERNAME"}, Usage: "account e-mail"},
			{Name: SettingPassword, Env: []string{"CLOUDSIGMA_PASSWORD"}, Secret: true,
				Usage: "account password (prefer the environment variable or --password-file: arguments show in ps)"},
			{Name: SettingPasswordFile, Env: []string{"CLOUDSIGMA_PASSWORD_FILE"}, FileOf: SettingPassword,
				Usage: "read the account password from the first line of this file (keep it 0600)"},
		},
		Capabilities: providers.Capabilities{
			Services: []string{providers.ServiceDrives, providers.ServiceDriveEdits, providers.ServiceSnapshots,
				providers.ServiceLibDrives, providers.ServiceJobs},
			Transfers: []string{"v2", "v1"},
			Backup:    providers.BackupDownload,
		},
		Open: open,
	}
}

// Endpoints are the base URLs of the three CloudSigma APIs for one location.
type Endpoints struct {
	V1, V2, Direct string
}

// ResolveEndpoints derives the API URLs from an endpoint (all three at one
// base, as the emulator serves them) or else from a location. Errors match
// providers.ErrInvalid.
func ResolveEndpoints(endpoint, location string) (Endpoints, error) {
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return Endpoints{}, fmt.Errorf("%w: --endpoint %q is not an http(s) URL", providers.ErrInvalid, endpoint)
		}
		base := strings.TrimSuffix(u.String(), "/")
		base = strings.TrimSuffix(base, "/api/2.0")
		return Endpoints{V1: base + "/", V2: base + "/api/2.0/", Direct: base + "/api/2.0/"}, nil
	}
	if location == "" || strings.ContainsAny(location, "/:.@ ") {
		return Endpoints{}, fmt.Errorf("%w: --location %q is not a CloudSigma location such as zrh", providers.ErrInvalid, location)
	}
	return Endpoints{
		V1:     "https://api." + location + ".cloudsigma.com/",
		V2:     "https://" + location + ".cloudsigma.com/api/2.0/",
		Direct: "https://direct." + location + ".cloudsigma.com/api/2.0/",
	}, nil
}

func open(ctx context.Context, cfg providers.Config, o providers.OpenOptions) (*providers.Provider, error) {
	ep, err := ResolveEndpoints(cfg[SettingEndpoint], cfg[SettingLocation])
	if err != nil {
		return nil, err
	}
	user, pass := cfg[SettingUsername], cfg[SettingPassword]
	if user == "" || pass == "" {
		return nil, providers.WithHint(fmt.Errorf("%w: no credentials", providers.ErrInvalid),
			"set CLOUDSIGMA_USERNAME and CLOUDSIGMA_PASSWORD or CLOUDSIGMA_PASSWORD_FILE "+
				"(or --username/--password/--password-file); 'drivecp serve' prints the emulator's")
	}
	cl, err := connect(ep, user, pass, o)
	if err != nil {
		return nil, err
	}
	v1, v2 := cl.v1, cl.v2
	var direct interface {
		providers.DirectUploader
		providers.Downloader
	} = v2
	if o.Transfer {
		direct = newDirectTransfers(ctx, func(ctx context.Context) (*api2.Client, error) {
			return resolveDirect(ctx, ep, user, pass, o, v2)
		})
	}
	u, _ := url.Parse(ep.V2)
	return &providers.Provider{
		Cloud:    Name,
		Endpoint: u.Host,
		Services: providers.Services{Drives: v2, DriveEditor: v2, Snapshots: v2, LibDrives: v2, Jobs: v2,
			Limits: limits{v2}},
		Transfers: []providers.TransferAPI{
			{Name: "v2", Summary: "API 2.0: chunked resumable or one-request uploads, ranged downloads",
				Drives: v2, Resumable: v2, Direct: direct, Downloader: direct, MinDriveSize: minDriveSize},
			{Name: "v1", Summary: "API 1.0: offset writes of gzip pieces, skipping zero chunks of a new drive",
				Drives: v1, OffsetWriter: v1, OffsetReader: v1, MaxPiece: wire.V1MaxRead, Gzip: true, FreshDriveZeroed: true},
		},
		Features: providers.Features{
			DriveNoun:  "drive",
			SizeUnit:   1,
			SnapshotOf: providers.SnapshotOfDrive,
			Backup:     providers.BackupDownload,
		},
	}, nil
}

// resolveDirect returns the API 2.0 client of the direct host that the
// locations list names, which may differ from direct.{loc}: v2 when it is
// the one v2 already uses. It is asked once: the transfer that needs it
// retries it under its own policy, as any request of the transfer.
// Credentials may go to that host too, so it is looked up on a throw-away
// client, and a host of its own gets a client
// built with the hosts it may authenticate to.
func resolveDirect(ctx context.Context, ep Endpoints, user, pass string, o providers.OpenOptions, v2 *api2.Client) (*api2.Client, error) {
	boot, err := connect(ep, user, pass, providers.OpenOptions{Version: o.Version, Trace: o.Trace, Concurrency: 1})
	if err != nil {
		return nil, err
	}
	if err := boot.v2.ResolveDirect(ctx); err != nil {
		return nil, err
	}
	if boot.v2.DirectURL() == v2.DirectURL() {
		return v2, nil
	}
	ep.Direct = boot.v2.DirectURL()
	cl, err := connect(ep, user, pass, o)
	if err != nil {
		return nil, err
	}
	return cl.v2, nil
}

// limits offers API 2.0's capabilities as the neutral DriveLimits.
type limits struct{ c *api2.Client }

func (l limits) DriveSizeRange(ctx context.Context, storageType string) (lo, hi int64, ok bool, err error) {
	r, ok, err := l.c.DriveSizeRange(ctx, storageType)
	return r.Min, r.Max, ok, err
}

type clients struct {
	v1 *api1.Client
	v2 *api2.Client
}

// connect builds both API clients on one HTTP client that sends credentials
// to the three API hosts only.
func connect(ep Endpoints, user, pass string, o providers.OpenOptions) (clients, error) {
	var hosts []string
	for _, s := range []string{ep.V1, ep.V2, ep.Direct} {
		u, err := url.Parse(s)
		if err != nil {
			return clients{}, fmt.Errorf("%w: endpoint %q: %v", providers.ErrInvalid, s, err)
		}
		hosts = append(hosts, u.Host)
	}
	hc := httpclient.New(httpclient.Options{Version: o.Version, Username: user, Password: pass,
		AuthHosts: hosts, Concurrency: o.Concurrency, Trace: o.Trace})
	v1, err := api1.New(hc, ep.V1)
	if err != nil {
		return clients{}, err
	}
	v2, err := api2.New(hc, ep.V2, ep.Direct)
	if err != nil {
		return clients{}, err
	}
	return clients{v1: v1, v2: v2}, nil
}
