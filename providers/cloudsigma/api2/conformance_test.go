package api2_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/api2"
	"github.com/drivecp/drivecp/providers/cloudsigma/emulator"
	"github.com/drivecp/drivecp/providers/conformance"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// TestConformance runs the provider suite against API 2.0 of the emulator.
func TestConformance(t *testing.T) {
	open := func(t *testing.T, password string) *providers.Provider {
		srv, err := emulator.New(emulator.Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		cfg := srv.Config()
		if password == "" {
			password = cfg.Password
		}
		hc := httpclient.New(httpclient.Options{Username: cfg.User, Password: password, AuthHosts: []string{host(srv.URL())}})
		base := strings.TrimSuffix(srv.URL(), "/") + "/api/2.0/"
		c, err := api2.New(hc, base, base)
		if err != nil {
			t.Fatal(err)
		}
		return &providers.Provider{Cloud: "cloudsigma", Endpoint: host(srv.URL()), Services: providers.Services{
			Drives: c, DriveEditor: c, Snapshots: c, LibDrives: c, Jobs: c}}
	}
	conformance.Run(t, conformance.Harness{
		Open:        func(t *testing.T) *providers.Provider { return open(t, "") },
		OpenBadAuth: func(t *testing.T) *providers.Provider { return open(t, "wrong") },
		DriveSize:   1 << 30,
		Many:        25, // the API's default page is 20
	})
}

func host(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	return u.Host
}
