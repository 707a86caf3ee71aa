package command

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers/cloudsigma/api1"
	"github.com/drivecp/drivecp/providers/cloudsigma/api2"
	"github.com/drivecp/drivecp/providers/httpclient"
	"github.com/drivecp/drivecp/transfer"
)

// endpoints are the base URLs of the three CloudSigma APIs for one location.
type endpoints struct {
	v1, v2, direct string
}

// resolveEndpoints derives the API URLs from --endpoint (all three at one
// base, as the emulator serves them) or from --location.
func resolveEndpoints(endpoint, location string) (endpoints, error) {
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return endpoints{}, usageErrorf("--endpoint %q is not an http(s) URL", endpoint)
		}
		base := strings.TrimSuffix(u.String(), "/")
		base = strings.TrimSuffix(base, "/api/2.0")
		return endpoints{v1: base + "/", v2: base + "/api/2.0/", direct: base + "/api/2.0/"}, nil
	}
	if location == "" || strings.ContainsAny(location, "/:.@ ") {
		return endpoints{}, usageErrorf("--location %q is not a CloudSigma location such as zrh", location)
	}
	return endpoints{
		v1:     "https://api." + location + ".cloudsigma.com/",
		v2:     "https://" + location + ".cloudsigma.com/api/2.0/",
		direct: "https://direct." + location + ".cloudsigma.com/api/2.0/",
	}, nil
}

// clients are the API clients a command uses, sharing one HTTP client.
type clients struct {
	v1 *api1.Client
	v2 *api2.Client
	// endpointHost names the endpoint in checkpoints and messages; it never
	// carries credentials.
	endpointHost string
}

// newClients builds the API clients from the global flags. concurrency sizes
// the keep-alive pool.
func newClients(c *cli.Context, concurrency int) (*clients, error) {
	ep, err := resolveEndpoints(c.String(flagEndpoint), c.String(flagLocation))
	if err != nil {
		return nil, err
	}
	return newClientsAt(c, ep, concurrency)
}

// newTransferClients is newClients for API 2.0 transfers: it first asks
// `GET /locations/` for the location's upload_url (the authoritative direct
// host, which may differ from direct.{loc}), then builds the shared client
// so that it may send credentials there too. The allowed hosts are fixed
// when the client is built, so the lookup happens on a throw-away client
// before it. The plain-HTTP refusal still applies to the resolved host:
// the shared client refuses Basic auth over http to anything but loopback.
func newTransferClients(c *cli.Context, concurrency int, meta transfer.Options) (*clients, error) {
	ep, err := resolveEndpoints(c.String(flagEndpoint), c.String(flagLocation))
	if err != nil {
		return nil, err
	}
	boot, err := newClientsAt(c, ep, 1)
	if err != nil {
		return nil, err
	}
	err = transfer.Do(c.Context, meta, "location lookup", 0, func(ctx context.Context) error {
		return boot.v2.ResolveDirect(ctx)
	})
	if err != nil {
		return nil, unreachableHint(fmt.Errorf("find the direct transfer host: %w", err))
	}
	ep.direct = boot.v2.DirectURL()
	return newClientsAt(c, ep, concurrency)
}

// newClientsAt builds the API clients for the given endpoints.
func newClientsAt(c *cli.Context, ep endpoints, concurrency int) (*clients, error) {
	user, pass, err := credentials(c)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, s := range []string{ep.v1, ep.v2, ep.direct} {
		u, _ := url.Parse(s)
		hosts = append(hosts, u.Host)
	}
	opts := httpclient.Options{Version: Version, Username: user, Password: pass, AuthHosts: hosts, Concurrency: concurrency}
	if c.Bool(flagDebug) {
		opts.Trace = c.App.ErrWriter
	}
	hc := httpclient.New(opts)
	v1, err := api1.New(hc, ep.v1)
	if err != nil {
		return nil, err
	}
	v2, err := api2.New(hc, ep.v2, ep.direct)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(ep.v2)
	return &clients{v1: v1, v2: v2, endpointHost: u.Host}, nil
}

// apiVersion validates an --api flag value.
func apiVersion(s string) (string, error) {
	switch s {
	case "v1", "1", "1.0":
		return "v1", nil
	case "v2", "2", "2.0", "":
		return "v2", nil
	}
	return "", usageErrorf("--api %q: use v1 or v2", s)
}

// credentials returns the account's user name and password: the password
// from --password (or CLOUDSIGMA_PASSWORD) or from the first line of
// --password-file (or CLOUDSIGMA_PASSWORD_FILE), never both.
func credentials(c *cli.Context) (user, pass string, err error) {
	user, pass = c.String(flagUsername), c.String(flagPassword)
	if file := c.String(flagPasswordFile); file != "" {
		if pass != "" {
			return "", "", withHint(usageErrorf("both a password and a password file are given"),
				"keep one of --password/CLOUDSIGMA_PASSWORD and --password-file/CLOUDSIGMA_PASSWORD_FILE")
		}
		if pass, err = readPasswordFile(file); err != nil {
			return "", "", err
		}
	}
	if user == "" || pass == "" {
		return "", "", withHint(usageErrorf("no credentials"),
			"set CLOUDSIGMA_USERNAME and CLOUDSIGMA_PASSWORD or CLOUDSIGMA_PASSWORD_FILE (or --username/--password/--password-file); "+
				"'drivecp serve' prints the emulator's")
	}
	return user, pass, nil
}

// readPasswordFile returns the first line of the file at path, without its
// line ending. Errors name the file, never its content.
func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usageErrorf("password file: %w", err)
	}
	defer f.Close()
	// A password is short: a file that holds no line ending within 4 KiB
	// is not a password file (an image given by mistake, say).
	line, err := bufio.NewReaderSize(io.LimitReader(f, 4<<10), 4<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", usageErrorf("password file %s: %w", path, err)
	}
	if errors.Is(err, io.EOF) && len(line) == 4<<10 {
		return "", usageErrorf("password file %s: no line ending in its first 4 KiB; is it the right file?", path)
	}
	pass := strings.TrimRight(line, "\r\n")
	if pass == "" {
		return "", usageErrorf("password file %s: the first line is empty", path)
	}
	return pass, nil
}
