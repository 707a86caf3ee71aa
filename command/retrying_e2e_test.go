package command

import (
	"net/http"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/providers/cloudsigma/wire"
)

// TestE2EManagementRetries: a management read whose connection drops is
// repeated and the command succeeds; a creation whose answer is lost is not
// repeated (that would make a second drive) and says what may have happened.
func TestE2EManagementRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ api, path string }{{"v1", "/drives/info"}, {"v2", "/api/2.0/drives/detail/"}} {
		t.Run("list "+tc.api, func(t *testing.T) {
			t.Parallel()
			srv, env := startLossyEmulator(t, func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == tc.path }, nil)
			d, err := srv.Store().CreateDrive(wire.Drive{Name: "kept", Size: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runCLI(t, env, "drive", "list", "--api", tc.api)
			if code != 0 || !strings.Contains(stdout, d.UUID) || stderr != "" {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
		})
	}
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		srv, env := startLossyEmulator(t, func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == "/api/2.0/drives/" }, nil)
		_, stderr, code := runCLI(t, env, "drive", "create", "--name", "once", "--size", "1G")
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s", code, stderr)
		}
		assertOneErrorLine(t, stderr)
		if !strings.Contains(stderr, "drivecp: hint: the drive may have been created: check with 'drivecp drive list --name once'") {
			t.Errorf("no hint about a possible drive:\n%s", stderr)
		}
		if ids := drivesNamed(t, srv, "once"); len(ids) != 1 {
			t.Errorf("drives named once: %v, want the one the lost answer made", ids)
		}
	})
}

func TestListCommand(t *testing.T) {
	for name, want := range map[string]string{
		"":        "drivecp drive list",
		"web-01":  "drivecp drive list --name web-01",
		"my disk": `drivecp drive list --name "my disk"`,
	} {
		if got := listCommand(name); got != want {
			t.Errorf("listCommand(%q) = %q, want %q", name, got, want)
		}
	}
}
