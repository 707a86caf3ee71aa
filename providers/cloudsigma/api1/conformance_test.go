package api1_test

import (
	"net/url"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma/api1"
	"github.com/drivecp/drivecp/providers/cloudsigma/emulator"
	"github.com/drivecp/drivecp/providers/conformance"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// TestConformance runs the provider suite against API 1.0 of the emulator:
// drives only, the one service API 1.0 has.
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
		u, err := url.Parse(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		hc := httpclient.New(httpclient.Options{Username: cfg.User, Password: password, AuthHosts: []string{u.Host}})
		c, err := api1.New(hc, srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		return &providers.Provider{Cloud: "cloudsigma", Endpoint: u.Host, Services: providers.Services{Drives: c}}
	}
	conformance.Run(t, conformance.Harness{
		Open:        func(t *testing.T) *providers.Provider { return open(t, "") },
		OpenBadAuth: func(t *testing.T) *providers.Provider { return open(t, "wrong") },
		DriveSize:   1 << 30,
		Many:        25,
	})
}
