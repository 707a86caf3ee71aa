package httpclient

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestAuthOnlyToConfiguredHosts(t *testing.T) {
	var apiAuth, otherAuth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiAuth = r.Header.Get("Authorization")
		if ua := r.Header.Get("User-Agent"); ua != "drivecp/test" {
			t.Errorf("User-Agent = %q", ua)
		}
	}))
	defer api.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth = r.Header.Get("Authorization")
	}))
	defer other.Close()

	apiURL, _ := url.Parse(api.URL)
	var trace bytes.Buffer
	c := New(Options{Version: "test", Username: "u@example.com", Password: "s3cret",
		AuthHosts: []string{apiURL.Host}, Trace: &trace})
	for _, u := range []string{api.URL, other.URL} {
		req, _ := http.NewRequest(http.MethodGet, u+"/x?sig=abc", nil)
		req.Header.Set("Authorization", "Basic leaked") // must be dropped for other hosts
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if !strings.HasPrefix(apiAuth, "Basic ") || apiAuth == "Basic leaked" {
		t.Errorf("API host got Authorization %q", apiAuth)
	}
	if otherAuth != "" {
		t.Errorf("other host got Authorization %q", otherAuth)
	}
	for _, secret := range []string{"s3cret", "abc", apiAuth} {
		if strings.Contains(trace.String(), secret) {
			t.Errorf("trace leaks %q: %s", secret, trace.String())
		}
	}
}

func TestRefusesBasicAuthOverPlainHTTPToRemoteHost(t *testing.T) {
	c := New(Options{Username: "u", Password: "p", AuthHosts: []string{"api.example.com"}})
	_, err := c.Get("http://api.example.com/api/2.0/drives/")
	if !errors.Is(err, ErrInsecureAuth) {
		t.Fatalf("err = %v, want ErrInsecureAuth", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true, "localhost": true,
		"10.0.0.1": false, "example.com": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v", host, got)
		}
	}
}

func TestDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := New(Options{}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302 returned to the caller", resp.StatusCode)
	}
}
