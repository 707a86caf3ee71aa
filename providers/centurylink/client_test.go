package centurylink_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/centurylink"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/centurylink"
)

// TestReloginOnce: a token refused right after a fresh login is not chased
// in a loop: one more login, then ErrAuth.
func TestReloginOnce(t *testing.T) {
	var logins, gets atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/authentication/login" {
			logins.Add(1)
			_, _ = w.Write([]byte(`{"userName":"u","accountAlias":"ALIAS","locationAlias":"WA1","bearerToken":"t"}`))
			return
		}
		gets.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Authorization has been denied for this request."}`))
	}))
	defer ts.Close()
	c, err := centurylink.New(centurylink.Options{Endpoint: ts.URL, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetServer(context.Background(), "WA1ALIASWEB01")
	if !errors.Is(err, providers.ErrAuth) || !strings.Contains(err.Error(), "Authorization has been denied") {
		t.Fatalf("GetServer: %v, want ErrAuth with the API's message", err)
	}
	if logins.Load() != 2 || gets.Load() != 2 {
		t.Errorf("%d logins and %d requests, want 2 and 2", logins.Load(), gets.Load())
	}
}

func TestCanceled(t *testing.T) {
	e := startEmulator(t, emulator.Config{Servers: []string{"web"}})
	p := e.open(t, nil, providers.OpenOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Drives.ListDrives(ctx, providers.DriveFilter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ListDrives: %v, want context.Canceled", err)
	}
}

// TestGroupWalk: servers in nested groups are found; a server built
// through the API (as the CenturyLink API walkthrough does) joins the listing once built.
func TestGroupWalk(t *testing.T) {
	e := startEmulator(t, emulator.Config{Servers: []string{"web"}})
	p := e.open(t, nil, providers.OpenOptions{})
	ctx := context.Background()
	// The seed's login and create requests, into the Default Group (a
	// subgroup).
	resp, err := http.Post(e.url+"/v2/authentication/login", "application/json",
		strings.NewReader(`{"username":"`+user+`","password":"`+pass+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var lr struct{ BearerToken string }
	_ = json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", e.url+"/v2/servers/ALIAS", strings.NewReader(
		`{"name":"app","groupId":"8a03fcae8ddfe311b05f005056812345","sourceServerId":"WIN2012R2DTC-64","cpu":1,"memoryGB":2,"type":"standard"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+lr.BearerToken)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create server: %v %v", resp, err)
	}
	resp.Body.Close()
	ss, err := p.Servers.ListServers(ctx)
	if err != nil || len(ss) != 2 || ss[1].ID != "WA1ALIASAPP01" {
		t.Fatalf("ListServers = %+v, %v; want WEB01 and APP01 from the Default Group", ss, err)
	}
	// Windows templates have one operating-system disk.
	if len(ss[1].Drives) != 1 || !ss[1].Drives[0].Boot || ss[1].Drives[0].Size != 60<<30 {
		t.Errorf("windows server drives %+v", ss[1].Drives)
	}
	d, err := p.Drives.CreateDrive(ctx, onServer("WA1ALIASAPP01", "", 1<<30))
	if err != nil || d.UUID != "WA1ALIASAPP01:0:1" || d.Meta[centurylink.MetaOS] != "false" {
		t.Fatalf("CreateDrive on windows = %+v, %v", d, err)
	}
	if err := p.Drives.DeleteDrives(ctx, d.UUID); err != nil {
		t.Errorf("delete a data disk of a windows server: %v", err)
	}
}
