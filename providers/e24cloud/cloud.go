// Package e24cloud registers e24cloud's API v2 (the e24cloud API reference) as a drivecp
// cloud: storage volumes as drives (list, info, create, delete, resize),
// disk images made from a volume, and virtual machines to list, read and
// delete (keeping or deleting their volumes). The API has no byte path,
// so the cloud has no transfers; a backup keeps a disk image per volume.
//
// Authentication follows e24cloud's own API client: every request carries
// X-Date (HTTP date, GMT) and "Authorization: KEY:SIGNATURE", the
// signature being base64(HMAC-SHA256(secret, METHOD\nHOST\nX-DATE\nPATH\nBODY)).
// The key and secret come from E24CLOUD_API_KEY / E24CLOUD_API_SECRET (the
// names of e24cloud's PHP tooling; E24CLOUD_APIKEY / E24CLOUD_APISECRET, the
// docker-machine driver's, are read too) and the endpoint from the region:
// https://REGION.api.e24cloud.com (eu-poland-1poznan, eu-poland-1warszawa).
//
// Assumptions where the e24cloud API reference is silent (the emulator follows them): the
// shapes of /v2/storage-volumes and /v2/disk-images (see VolumeWire,
// ImageWire and the emulator's package doc), their state words, sizes in
// GiB, lists answered whole (no pages), and errors answered as
// {"success":false,"error":{"code":N,"message":"..."}} with 401 for a
// refused signature or stale date, 404 for an unknown ID, 400 for invalid
// input. The API adds tasks but has no task endpoint: callers wait by
// polling the object's State.
package e24cloud

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/drivecp/drivecp/providers"
)

// Name is the cloud's registered name.
const Name = "e24cloud"

// DefaultRegion is the region whose endpoint is used when neither
// --endpoint nor --region is given.
const DefaultRegion = "eu-poland-1poznan"

// Names of the settings Open reads.
const (
	SettingEndpoint   = "endpoint"
	SettingRegion     = "region"
	SettingKey        = "api-key"
	SettingSecret     = "api-secret"
	SettingSecretFile = "api-secret-file"
)

// RegionEndpoint returns the API endpoint of a region.
func RegionEndpoint(region string) string { return "https://" + region + ".api.e24cloud.com" }

// Cloud returns e24cloud's registration.
func Cloud() providers.Cloud {
	return providers.Cloud{
		Name:    Name,
		Summary: "e24cloud API v2: storage volumes, disk images and virtual machines; no byte transfers",
		Settings: []providers.Setting{
			{Name: SettingEndpoint, Env: []string{"E24CLOUD_ENDPOINT"},
				Usage: "API base URL (default https://REGION.api.e24cloud.com; e.g. the emulator's)"},
			{Name: SettingRegion, Env: []string{"E24CLOUD_REGION"}, Default: DefaultRegion,
				Usage: "e24cloud region (eu-poland-1poznan, eu-poland-1warszawa) naming the endpoint"},
			{Name: SettingKey, Env: []string{"E24CLOUD_API_KEY", "E24CLOUD_APIKEY"},
				Usage: "e24cloud API key"},
			{Name: SettingSecret, Env: []string{"E24CLOUD_API_SECRET", "E24CLOUD_APISECRET"}, Secret: true,
				Usage: "e24cloud API secret, signs requests (prefer the environment variable or --api-secret-file)"},
			{Name: SettingSecretFile, Env: []string{"E24CLOUD_API_SECRET_FILE"}, FileOf: SettingSecret,
				Usage: "read the API secret from the first line of this file (keep it 0600)"},
		},
		Capabilities: providers.Capabilities{
			Services: []string{providers.ServiceDrives, providers.ServiceDriveEdits, providers.ServiceImages,
				providers.ServiceServers, providers.ServiceServerDeletion},
			Backup: providers.BackupImage,
		},
		Open: open,
	}
}

// Features are how e24cloud's objects behave.
func Features() providers.Features {
	return providers.Features{
		DriveNoun:     "storage volume",
		SizeUnit:      SizeUnit,
		Backup:        providers.BackupImage,
		OperationTime: 10 * time.Second,
		// Each value completes "e24cloud cannot KEY: it has VALUE instead".
		Lacks: map[string]string{
			"upload":                "disk images made from storage volumes",
			"download":              "disk images made from storage volumes",
			"transfer drive images": "disk images made from storage volumes",
			"clone":                 "disk images made from storage volumes",
			"snapshot":              "disk images made from storage volumes",
		},
	}
}

func open(ctx context.Context, cfg providers.Config, o providers.OpenOptions) (*providers.Provider, error) {
	endpoint := cfg[SettingEndpoint]
	if endpoint == "" {
		region := cfg[SettingRegion]
		if region == "" {
			region = DefaultRegion
		}
		endpoint = RegionEndpoint(region)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: --endpoint %q is not an http(s) URL", providers.ErrInvalid, endpoint)
	}
	key, secret := cfg[SettingKey], cfg[SettingSecret]
	if key == "" || secret == "" {
		return nil, providers.WithHint(fmt.Errorf("%w: no e24cloud API key and secret", providers.ErrInvalid),
			"set E24CLOUD_API_KEY and E24CLOUD_API_SECRET (or E24CLOUD_API_SECRET_FILE), or --api-key and --api-secret-file; "+
				"'drivecp serve --cloud e24cloud' prints the emulator's")
	}
	// The secret never travels: requests carry only an HMAC of it, so plain
	// HTTP leaks no credential (the key and signed requests are still seen).
	c, err := NewClient(newHTTPClient(o.Version, o.Concurrency, o.Trace), u.String(), key, secret)
	if err != nil {
		return nil, err
	}
	return &providers.Provider{
		Cloud:    Name,
		Endpoint: u.Host,
		Services: providers.Services{Drives: c, DriveEditor: c, Images: c, Servers: c, ServerDeleter: c},
		Features: Features(),
	}, nil
}
