package e24cloud

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/e24cloud"
)

// TestBannerOpensTheCloud evaluates the export line the way the command
// line resolves settings (each setting's first environment variable set)
// and lists machines with the result.
func TestBannerOpensTheCloud(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	lines := strings.Split(strings.TrimSpace(emu.Banner(srv.URL)), "\n")
	env := map[string]string{}
	for _, kv := range strings.Fields(strings.TrimPrefix(lines[len(lines)-1], "export ")) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["DRIVECP_CLOUD"] != e24cloud.Name {
		t.Fatalf("export line %q", lines[len(lines)-1])
	}
	cfg := providers.Config{}
	for _, s := range e24cloud.Cloud().Settings {
		for _, name := range s.Env {
			if v, ok := env[name]; ok && cfg[s.Name] == "" {
				cfg[s.Name] = v
			}
		}
	}
	p, err := e24cloud.Cloud().Open(context.Background(), cfg, providers.OpenOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := p.Servers.ListServers(context.Background()); err != nil || len(list) != 1 {
		t.Fatalf("ListServers = %v, %v", list, err)
	}
}
