package command

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestE2ESingleUploadFailureExitsNonZero: a direct upload the server
// refuses must fail the command, not print an empty UUID and exit 0 (a
// shadowed err once lost the failure).
func TestE2ESingleUploadFailureExitsNonZero(t *testing.T) {
	img := writeMixedImage(t, 1<<20, 0)
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `[{"error_type":"validation","error_message":"refused"}]`, http.StatusBadRequest)
	}))
	defer direct.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/2.0/locations/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"meta":{"limit":0,"offset":0,"total_count":1},"objects":[{"id":"zrh","api_endpoint":%q,"upload_url":%q}]}`,
			"http://"+r.Host+"/api/2.0/", direct.URL)
	})
	api := httptest.NewServer(mux)
	defer api.Close()
	env := []string{"CLOUDSIGMA_ENDPOINT=" + api.URL, "CLOUDSIGMA_USERNAME=u@example.com", "CLOUDSIGMA_PASSWORD=p"}
	stdout, stderr, code := runCLI(t, env, "upload", img, "--single", "--retries", "1")
	if code == 0 || strings.TrimSpace(stdout) != "" {
		t.Fatalf("refused single upload: exit %d, stdout %q, want a failure and no UUID\n%s", code, stdout, stderr)
	}
	assertOneErrorLine(t, stderr)
}
