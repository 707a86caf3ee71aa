package onlinelabs_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/onlinelabs"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/onlinelabs"
)

// env is an emulator on 127.0.0.1 and a provider opened on it.
type env struct {
	emu *emulator.Server
	url string
	p   *providers.Provider
}

// start runs an emulator for the test with cfg and opens the cloud on it
// with the emulator's credentials, or with token when not empty.
func start(t *testing.T, cfg emulator.Config, token string) *env {
	t.Helper()
	emu := emulator.New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c := emu.Config()
	if token == "" {
		token = c.Token
	}
	p, err := onlinelabs.Cloud().Open(context.Background(), providers.Config{
		onlinelabs.SettingEndpoint: srv.URL, onlinelabs.SettingToken: token,
		onlinelabs.SettingOrganization: c.Organization,
	}, providers.OpenOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, url: srv.URL, p: p}
}

// fast is an emulator whose asynchronous work takes a few milliseconds.
var fast = emulator.Config{OperationTime: 20 * time.Millisecond}
