package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// TestE2EPasswordFile: the password may come from a file (first line, any
// line ending); a missing, empty or oversized file, or a password given
// twice, is one clear line and exit 2; the password is never printed.
func TestE2EPasswordFile(t *testing.T) {
	t.Parallel()
	srv, env := startEmulator(t, emulator.Config{})
	cfg := srv.Config()
	var noPass []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CLOUDSIGMA_PASSWORD=") {
			noPass = append(noPass, kv)
		}
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", cfg.Password+"\r\n# the rest of the file is not read\n")
	bare := write("bare", cfg.Password)
	for _, args := range [][]string{
		{"--password-file", good, "drive", "list"},
		{"drive", "list", "--password-file", bare},
	} {
		stdout, stderr, code := runCLI(t, noPass, args...)
		if code != 0 || !strings.HasPrefix(stdout, "UUID") {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}
	if _, stderr, code := runCLI(t, append(noPass, "CLOUDSIGMA_PASSWORD_FILE="+good), "drive", "list", "--debug"); code != 0 ||
		strings.Contains(stderr, cfg.Password) {
		t.Fatalf("from the environment: exit %d, or the password is in the trace:\n%s", code, stderr)
	}

	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{noPass, []string{"--password-file", filepath.Join(dir, "missing"), "drive", "list"}, "drivecp: error: password file: open "},
		{noPass, []string{"--password-file", write("empty", "\nsecret\n"), "drive", "list"}, "the first line is empty"},
		{noPass, []string{"--password-file", write("big", strings.Repeat("x", 5000)), "drive", "list"}, "no line ending in its first 4 KiB"},
		{env, []string{"--password-file", good, "drive", "list"}, "both a password and a password file are given"},
	} {
		stdout, stderr, code := runCLI(t, tc.env, tc.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
		assertOneErrorLine(t, stderr)
		if strings.Contains(stderr, cfg.Password) {
			t.Errorf("%v: the password is on stderr", tc.args)
		}
	}
}
