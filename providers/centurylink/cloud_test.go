package centurylink_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/centurylink"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/centurylink"
	"github.com/drivecp/drivecp/providers/conformance"
)

const (
	user = "demouser1"
	pass = "mypassword"
	web  = "WA1ALIASWEB01"
)

// clock is a test clock for the emulator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is an emulator on 127.0.0.1 and what it has seen.
type env struct {
	url    string
	logins atomic.Int32
}

func startEmulator(t *testing.T, cfg emulator.Config) *env {
	t.Helper()
	if cfg.Username == "" {
		cfg.Username, cfg.Password = user, pass
	}
	emu := emulator.New(cfg)
	e := &env{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/authentication/login" {
			e.logins.Add(1)
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func (e *env) open(t *testing.T, cfg providers.Config, o providers.OpenOptions) *providers.Provider {
	t.Helper()
	full := providers.Config{centurylink.SettingEndpoint: e.url, centurylink.SettingUsername: user,
		centurylink.SettingPassword: pass}
	for k, v := range cfg {
		full[k] = v
	}
	o.Version = "test"
	p, err := centurylink.Cloud().Open(context.Background(), full, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	c := centurylink.Cloud()
	start := func(t *testing.T) *env {
		return startEmulator(t, emulator.Config{Servers: []string{"web"}, OperationTime: 40 * time.Millisecond})
	}
	conformance.Run(t, conformance.Harness{
		Cloud: &c,
		Open:  func(t *testing.T) *providers.Provider { return start(t).open(t, nil, providers.OpenOptions{}) },
		OpenBadAuth: func(t *testing.T) *providers.Provider {
			return start(t).open(t, providers.Config{centurylink.SettingPassword: "wrong"}, providers.OpenOptions{})
		},
		DriveSize: 10 * centurylink.GB,
		DriveSpec: func(t *testing.T, p *providers.Provider, spec providers.DriveSpec) providers.DriveSpec {
			spec.Meta = map[string]string{centurylink.MetaServer: web}
			return spec
		},
		SnapshotTarget: func(t *testing.T, p *providers.Provider, d providers.Drive) string {
			return d.Meta[centurylink.MetaServer]
		},
		UnknownID: "WA1ALIASNONE01:0:9",
		// The API has no paged lists; this checks the walk of the groups
		// finds every disk.
		Many:   8,
		Settle: 10 * time.Second,
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	open := centurylink.Cloud().Open
	for name, cfg := range map[string]providers.Config{
		"no credentials":       {},
		"no password":          {centurylink.SettingUsername: "u"},
		"not a URL":            {centurylink.SettingEndpoint: "ftp://x", centurylink.SettingUsername: "u", centurylink.SettingPassword: "p"},
		"plain http elsewhere": {centurylink.SettingEndpoint: "http://api.example.com", centurylink.SettingUsername: "u", centurylink.SettingPassword: "p"},
	} {
		if _, err := open(ctx, cfg, providers.OpenOptions{}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	_, err := open(ctx, providers.Config{}, providers.OpenOptions{})
	var h *providers.HintError
	if !errors.As(err, &h) || !strings.Contains(h.Hint, "CLC_USERNAME") || !strings.Contains(h.Hint, "CLC_PASSWORD_FILE") {
		t.Errorf("missing credentials: %v, want a hint naming CLC_USERNAME and CLC_PASSWORD_FILE", err)
	}
	p, err := open(ctx, providers.Config{centurylink.SettingUsername: "u", centurylink.SettingPassword: "p"}, providers.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Endpoint != "api.ctl.io" || p.Cloud != "centurylink" || len(p.Transfers) != 0 {
		t.Errorf("endpoint %q cloud %q transfers %v", p.Endpoint, p.Cloud, p.Transfers)
	}
	f := p.Features
	if f.SnapshotOf != providers.SnapshotOfServer || f.MaxSnapshotsPerTarget != 1 || f.Backup != providers.BackupSnapshot ||
		f.SizeUnit != 1<<30 || f.DriveNoun != "disk" {
		t.Errorf("features %+v", f)
	}
	for _, what := range []string{"upload", "download"} {
		err := p.Lack(what)
		if !errors.Is(err, providers.ErrUnsupported) || !strings.Contains(err.Error(), "centurylink cannot "+what+": it has disks") {
			t.Errorf("Lack(%s) = %v", what, err)
		}
	}
	if _, err := p.Transfer(""); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("Transfer: %v, want ErrUnsupported", err)
	}
}

// TestTokenExpiry: one login per run; a token the API refuses later in the
// run is replaced by one new login, and the call goes through.
func TestTokenExpiry(t *testing.T) {
	clk := newClock()
	e := startEmulator(t, emulator.Config{Servers: []string{"web"}, TokenTTL: time.Hour, Now: clk.Now})
	p := e.open(t, nil, providers.OpenOptions{})
	ctx := context.Background()
	for range 3 {
		if _, err := p.Servers.ListServers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.logins.Load(); n != 1 {
		t.Fatalf("%d logins for three listings, want 1", n)
	}
	clk.Add(2 * time.Hour)
	if _, err := p.Drives.GetDrive(ctx, web+":0:0"); err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
	if n := e.logins.Load(); n != 2 {
		t.Errorf("%d logins, want 2 (one more after the token expired)", n)
	}
}

func TestBadCredentials(t *testing.T) {
	e := startEmulator(t, emulator.Config{})
	p := e.open(t, providers.Config{centurylink.SettingPassword: "wrong"}, providers.OpenOptions{})
	_, err := p.Servers.ListServers(context.Background())
	if !errors.Is(err, providers.ErrAuth) || errors.Is(err, providers.ErrInvalid) || providers.IsRetryable(err) {
		t.Fatalf("wrong password: %v, want ErrAuth only, not retryable", err)
	}
	if !strings.Contains(err.Error(), "didn't recognize the username or password") {
		t.Errorf("error %q does not carry the API's message", err)
	}
	if n := e.logins.Load(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

func TestOtherAccount(t *testing.T) {
	e := startEmulator(t, emulator.Config{})
	p := e.open(t, providers.Config{centurylink.SettingAccount: "OTHER"}, providers.OpenOptions{})
	if _, err := p.Servers.ListServers(context.Background()); !errors.Is(err, providers.ErrPermission) {
		t.Fatalf("another account's alias: %v, want ErrPermission", err)
	}
}

// TestTraceRedacts: --debug shows requests, never the password or token.
func TestTraceRedacts(t *testing.T) {
	var trace bytes.Buffer
	e := startEmulator(t, emulator.Config{Servers: []string{"web"}})
	p := e.open(t, nil, providers.OpenOptions{Trace: &trace})
	if _, err := p.Drives.ListDrives(context.Background(), providers.DriveFilter{}); err != nil {
		t.Fatal(err)
	}
	out := trace.String()
	if !strings.Contains(out, "POST "+e.url+"/v2/authentication/login -> 200 OK") ||
		!strings.Contains(out, "GET "+e.url+"/v2/servers/ALIAS/"+web+" -> 200 OK") {
		t.Errorf("trace lacks the requests:\n%s", out)
	}
	if strings.Contains(out, pass) || strings.Contains(strings.ToLower(out), "bearer") {
		t.Errorf("trace shows a secret:\n%s", out)
	}
}
