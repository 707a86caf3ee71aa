package command

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// emptyDriveName matches an error line that names a drive without its
// UUID ("to drive : ...").
var emptyDriveName = regexp.MustCompile(`drive[s]?( :|:? *$| \(| ,)`)

// TestE2EUploadErrorNamesItsDrive: when the wait for a finished API 2.0
// upload fails, the error line names the drive the chunks went to; a
// failed wait once replaced it with an empty drive and the line read
// "upload x to drive : ...", leaving the user no way to find it.
func TestE2EUploadErrorNamesItsDrive(t *testing.T) {
	t.Parallel()
	srv, _ := startEmulator(t, emulator.Config{})
	driveInfo := regexp.MustCompile(`^/api/2\.0/drives/[0-9a-f-]{36}/$`)
	h := srv.Handler()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && driveInfo.MatchString(r.URL.Path) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`[{"error_type": "permission", "error_message": "injected", "error_point": null}]`))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	c := srv.Config()
	env := []string{"CLOUDSIGMA_ENDPOINT=" + proxy.URL + "/", "CLOUDSIGMA_USERNAME=" + c.User, "CLOUDSIGMA_PASSWORD=" + c.Password}

	img := writeMixedImage(t, 3<<20, 1<<20)
	stdout, stderr, code := runCLI(t, env, "upload", img, "--name", "named")
	if code == 0 || stdout != "" {
		t.Fatalf("upload whose drive cannot be read back: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	drives := drivesNamed(t, srv, "named")
	if len(drives) != 1 {
		t.Fatalf("drives named after the upload: %v", drives)
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "drivecp: error: ") && (emptyDriveName.MatchString(l) || !strings.Contains(l, drives[0])) {
			t.Errorf("error line does not name drive %s: %s", drives[0], l)
		}
	}
	assertOneErrorLine(t, stderr)
}
