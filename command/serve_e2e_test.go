package command

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// servedBinary is a `drivecp serve` run in the background.
type servedBinary struct {
	cmd    *exec.Cmd
	lines  []string // stdout up to and including the export line
	stderr strings.Builder
	done   chan error
}

// startServe runs the binary with args and env (added to baseEnv) and
// reads its stdout until the export line, which must come within 30 s.
// The process is killed when the test ends unless stop ended it first.
func startServe(t *testing.T, env []string, args ...string) *servedBinary {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedBinary{cmd: exec.CommandContext(ctx, binPath, args...), done: make(chan error, 1)}
	s.cmd.Env = append(baseEnv(t), env...)
	s.cmd.Stderr = &s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		for range lines {
		}
	})
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("drivecp %s ended without an export line; stdout %q, stderr %q", strings.Join(args, " "), s.lines, s.stderr.String())
			}
			s.lines = append(s.lines, l)
			if strings.HasPrefix(l, "export ") {
				go func() {
					for range lines { // keep the pipe drained
					}
				}()
				return s
			}
		case <-timeout:
			t.Fatalf("drivecp %s printed no export line in 30 s", strings.Join(args, " "))
		}
	}
}

// stop interrupts the server as Ctrl-C would and returns its exit code.
func (s *servedBinary) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGINT")
		return -1
	}
}

// TestE2EServeEvalExport: serve prints the endpoint, the user and the
// password, one per line, and ends with an export line; a POSIX shell that
// evaluates that line, credentials with quotes and spaces included, points
// drivecp at the emulator. SIGINT stops it with exit 0 and leaves no
// temporary data folder behind.
func TestE2EServeEvalExport(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	tmp := t.TempDir()
	user, password := "ops@example.com", `it's a "s3cret" $HOME`
	s := startServe(t, []string{"TMPDIR=" + tmp}, "serve", "--addr", "127.0.0.1:0", "--user", user, "--password", password,
		"--operation-time", "100ms")
	if len(s.lines) != 4 || !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/$`).MatchString(s.lines[0]) ||
		s.lines[1] != user || s.lines[2] != password {
		t.Fatalf("serve printed %q; want the URL, the user, the password and the export line", s.lines)
	}
	export := s.lines[3]
	// As a user types eval "$(drivecp serve | tail -n 1)".
	cmd := exec.Command(sh, "-c", `eval "$1" && exec "$0" drive create --name evaluated --size 1G`, binPath, export)
	cmd.Env = baseEnv(t) // no CLOUDSIGMA_* but what the line exports
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c 'eval LINE; drivecp drive create': %v\n%s", err, out)
	}
	list := exec.Command(sh, "-c", `eval "$1" && exec "$0" drive list`, binPath, export)
	list.Env = baseEnv(t)
	out, err = list.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "UUID") || !strings.Contains(string(out), "evaluated") {
		t.Fatalf("sh -c 'eval LINE; drivecp drive list': %v\n%s", err, out)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGINT; stderr %q", code, s.stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("serve left %d entries in TMPDIR, e.g. %s", len(left), left[0].Name())
	}
}

// TestE2EServeCloudChoice: plain `serve`, `serve --cloud cloudsigma`,
// `--cloud cloudsigma serve` and DRIVECP_CLOUD=cloudsigma print the same
// banner (but for the port); an unknown cloud is a usage error naming the
// known ones, and a taken address a failure with a hint.
func TestE2EServeCloudChoice(t *testing.T) {
	port := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	banner := func(s *servedBinary) string { return port.ReplaceAllString(strings.Join(s.lines, "\n"), "ADDR") }
	plain := startServe(t, nil, "serve", "--addr", "127.0.0.1:0")
	want := banner(plain)
	if !strings.HasSuffix(want, "export DRIVECP_CLOUD=cloudsigma CLOUDSIGMA_ENDPOINT=http://ADDR/ "+
		"CLOUDSIGMA_USERNAME=user@example.com CLOUDSIGMA_PASSWORD=secret") {
		t.Errorf("plain serve: %q", want)
	}
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"serve", "--cloud", "cloudsigma", "--addr", "127.0.0.1:0"}},
		{nil, []string{"--cloud", "cloudsigma", "serve", "--addr", "127.0.0.1:0"}},
		{[]string{"DRIVECP_CLOUD=cloudsigma"}, []string{"serve", "--addr", "127.0.0.1:0"}},
	} {
		if got := banner(startServe(t, tc.env, tc.args...)); got != want {
			t.Errorf("%v drivecp %s:\n%s\nwant\n%s", tc.env, strings.Join(tc.args, " "), got, want)
		}
	}
	stderr := mustFail(t, nil, ExitUsage, `unknown cloud "nosuch"`, "serve", "--cloud", "nosuch")
	for _, name := range []string{"cloudsigma", "onlinelabs", "e24cloud", "centurylink"} {
		if !strings.Contains(stderr, name) {
			t.Errorf("unknown cloud: %s is not listed: %q", name, stderr)
		}
	}
	taken := port.FindString(plain.lines[0])
	mustFail(t, nil, ExitFailure, "another emulator already listening", "serve", "--addr", taken)
}
