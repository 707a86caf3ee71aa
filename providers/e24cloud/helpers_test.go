package e24cloud_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/e24cloud"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/e24cloud"
)

// env is an emulator on 127.0.0.1 and a provider opened on it.
type env struct {
	emu *emulator.Server
	p   *providers.Provider
}

// start runs an emulator with cfg and opens the cloud on it with the
// emulator's key and secret, or with secret when not empty.
func start(t *testing.T, cfg emulator.Config, secret string) *env {
	t.Helper()
	emu := emulator.New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c := emu.Config()
	if secret == "" {
		secret = c.Secret
	}
	p, err := e24cloud.Cloud().Open(context.Background(), providers.Config{
		e24cloud.SettingEndpoint: srv.URL, e24cloud.SettingKey: c.Key, e24cloud.SettingSecret: secret,
	}, providers.OpenOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, p: p}
}

// fast is an emulator whose tasks take a few milliseconds.
var fast = emulator.Config{OperationTime: 20 * time.Millisecond}
