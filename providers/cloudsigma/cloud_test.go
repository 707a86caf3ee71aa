package cloudsigma_test

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

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/cloudsigma"
	"github.com/drivecp/drivecp/providers/conformance"
)

// startEmulator starts an emulator, stopped when the test ends.
func startEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	srv, err := emulator.New(emulator.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// openEmulator starts an emulator for the test and opens the cloud on it.
func openEmulator(t *testing.T, password string, o providers.OpenOptions) *providers.Provider {
	t.Helper()
	srv := startEmulator(t)
	cfg := srv.Config()
	if password == "" {
		password = cfg.Password
	}
	p, err := cloudsigma.Cloud().Open(context.Background(), providers.Config{
		cloudsigma.SettingEndpoint: srv.URL(), cloudsigma.SettingUsername: cfg.User, cloudsigma.SettingPassword: password,
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConformance runs the provider suite against the emulator: API 2.0's
// services, and API 1.0's drive service.
func TestConformance(t *testing.T) {
	for _, api := range []string{"v2", "v1"} {
		t.Run(api, func(t *testing.T) {
			open := func(t *testing.T, password string) *providers.Provider {
				p := openEmulator(t, password, providers.OpenOptions{Version: "test"})
				if api == "v1" {
					ta, err := p.Transfer("v1")
					if err != nil {
						t.Fatal(err)
					}
					p.Services = providers.Services{Drives: ta.Drives}
				}
				return p
			}
			var cloud *providers.Cloud
			if api == "v2" {
				c := cloudsigma.Cloud()
				cloud = &c
			}
			conformance.Run(t, conformance.Harness{
				Cloud:       cloud,
				Open:        func(t *testing.T) *providers.Provider { return open(t, "") },
				OpenBadAuth: func(t *testing.T) *providers.Provider { return open(t, "wrong") },
				DriveSize:   1 << 30,
				Many:        25, // API 2.0's default page is 20
			})
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	open := cloudsigma.Cloud().Open
	for name, cfg := range map[string]providers.Config{
		"no credentials": {cloudsigma.SettingLocation: "zrh"},
		"no password":    {cloudsigma.SettingLocation: "zrh", cloudsigma.SettingUsername: "u"},
		"bad endpoint":   {cloudsigma.SettingEndpoint: "ftp://x", cloudsigma.SettingUsername: "u", cloudsigma.SettingPassword: "p"},
		"bad location":   {cloudsigma.SettingLocation: "evil.example.com/", cloudsigma.SettingUsername: "u", cloudsigma.SettingPassword: "p"},
	} {
		if _, err := open(ctx, cfg, providers.OpenOptions{}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	p, err := open(ctx, providers.Config{cloudsigma.SettingLocation: "lvs", cloudsigma.SettingUsername: "u",
		cloudsigma.SettingPassword: "p"}, providers.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Endpoint != "lvs.cloudsigma.com" || p.Cloud != "cloudsigma" {
		t.Errorf("endpoint %q cloud %q", p.Endpoint, p.Cloud)
	}
	if ta, err := p.Transfer(""); err != nil || ta.Name != "v2" {
		t.Errorf("default transfer API %q, %v; want v2", ta.Name, err)
	}
	if _, err := p.Transfer("v3"); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("Transfer(v3): %v, want ErrUnsupported", err)
	}
}

// TestOpenForTransfer looks up the direct host through the emulator's
// locations list once, beside what the caller does first: a chunked upload
// (to the API host) works whether or not it ended, and downloads use its
// answer.
func TestOpenForTransfer(t *testing.T) {
	ctx := context.Background()
	var trace syncBuffer
	p := openEmulator(t, "", providers.OpenOptions{Version: "test", Transfer: true, Trace: &trace})
	lookups := func() int { return strings.Count(trace.String(), "/locations/") }
	ta, err := p.Transfer("v2")
	if err != nil || ta.Downloader == nil || ta.Resumable == nil || ta.Direct == nil {
		t.Fatalf("v2 transfer API %+v, %v", ta, err)
	}
	d, err := ta.Resumable.InitUpload(ctx, "lazy", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ch := providers.UploadChunk{Number: 1, ChunkSize: 1 << 20, TotalSize: 1 << 20, Identifier: "lazy-1", Filename: "lazy"}
	if err := ta.Resumable.PutChunk(ctx, d.UUID, ch, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.Drives.ListDrives(ctx, providers.DriveFilter{}); err != nil {
		t.Errorf("list through the transfer API's drives: %v", err)
	}
	if n := lookups(); n > 1 {
		t.Errorf("a chunked upload looked the direct host up %d times, want at most the early one:\n%s", n, trace.String())
	}
	for range 2 {
		if _, err := ta.Downloader.DownloadURL(ctx, d.UUID); err != nil {
			t.Fatal(err)
		}
	}
	if n := lookups(); n != 1 {
		t.Errorf("two download URLs looked the direct host up %d times, want once:\n%s", n, trace.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the HTTP trace's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDirectLookupFailureIsAskedAgain: when the lookup begun at Open
// fails (a 503 here), the first call that needs the direct host asks
// again, under the caller's retries, instead of failing for good.
func TestDirectLookupFailureIsAskedAgain(t *testing.T) {
	ctx := context.Background()
	srv := startEmulator(t)
	var refused atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/locations/") && refused.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`[{"error_type": "concurrency", "error_message": "busy", "error_point": null}]`))
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	cfg := srv.Config()
	p, err := cloudsigma.Cloud().Open(ctx, providers.Config{cloudsigma.SettingEndpoint: proxy.URL,
		cloudsigma.SettingUsername: cfg.User, cloudsigma.SettingPassword: cfg.Password}, providers.OpenOptions{Transfer: true})
	if err != nil {
		t.Fatal(err)
	}
	ta, err := p.Transfer("v2")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ta.Resumable.InitUpload(ctx, "again", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.Downloader.DownloadURL(ctx, d.UUID); err != nil {
		t.Fatalf("download URL after a refused early lookup: %v", err)
	}
	if n := refused.Load(); n != 2 {
		t.Errorf("%d location lookups, want the refused early one and one more", n)
	}
}
