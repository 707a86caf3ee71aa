package cloudsigma

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestV2ContentNegotiation: the API answers JSON to an Accept of
// application/json, application/xml with JSON, */* or none, and to
// ?format=json; a request that can only take XML or another type is 406;
// Accept-Encoding: gzip gets a gzip-compressed JSON answer. Transfers are
// not JSON and are left alone.
func TestV2ContentNegotiation(t *testing.T) {
	c := newV2(t, -1)
	tests := []struct {
		name, path, accept, encoding string
		status                       int
		gzipped                      bool
	}{
		{"no Accept", "capabilities/", "", "", 200, false},
		{"json", "capabilities/", "application/json", "", 200, false},
		{"any", "drives/", "*/*", "", 200, false},
		{"json and xml", "drives/", "application/xml, application/json", "", 200, false},
		{"xml and any", "drives/", "application/xml, */*;q=0.1", "", 200, false},
		{"application/*", "libdrives/", "application/*", "", 200, false},
		{"xml only", "drives/", "application/xml", "", 406, false},
		{"html", "drives/", "text/html", "", 406, false},
		{"json refused by q=0", "drives/", "application/json;q=0", "", 406, false},
		{"format=json beats Accept", "drives/?format=json", "application/xml", "", 200, false},
		{"format=xml", "drives/?format=xml", "application/json", "", 406, false},
		{"last format wins", "drives/?format=xml&format=json", "", "", 200, false},
		{"gzip", "libdrives/", "application/json", "gzip", 200, true},
		{"gzip among others", "capabilities/", "", "deflate, gzip;q=0.5", 200, true},
		{"gzip refused", "capabilities/", "", "gzip;q=0", 200, false},
		{"gzip on an error", "drives/11111111-2222-4333-8444-555555555555/", "", "gzip", 404, true},
		{"gzip on a schema", "drives/schema/", "", "gzip", 200, true},
		{"transfer is not negotiated", "drives/11111111-2222-4333-8444-555555555555/download/", "application/octet-stream", "", 404, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", c.base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(DefaultUser, DefaultPassword)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			if tt.encoding != "" {
				req.Header.Set("Accept-Encoding", tt.encoding)
			} else {
				// Without this Go's transport asks for gzip itself.
				req.Header.Set("Accept-Encoding", "identity")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			gz := resp.Header.Get("Content-Encoding") == "gzip"
			if gz != tt.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip %v", resp.Header.Get("Content-Encoding"), tt.gzipped)
			}
			if gz {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			if !json.Valid(body) {
				t.Fatalf("body is not JSON: %q", body)
			}
			if tt.status == 406 {
				var el []map[string]any
				if json.Unmarshal(body, &el) != nil || len(el) != 1 || el[0]["error_type"] != "validation" {
					t.Fatalf("406 body %s", body)
				}
			}
		})
	}
}
