package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// The end-to-end tests run the real binary, as a user would: TestMain builds
// it once, runCLI runs it with a clean environment and returns what it
// printed and its exit code.

// binPath is the drivecp binary built by TestMain ("" when -short skipped it).
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "drivecp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "drivecp")
	if slices.Contains(os.Args[1:], "-test.fuzzworker=true") || slices.Contains(os.Args[1:], "-test.fuzzworker") {
		// A fuzzing worker runs only the fuzz target, which needs no
		// binary; building one per worker start stalls fuzzing.
		return m.Run()
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building drivecp: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// cliResult is what one run of the binary produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args in an environment holding only PATH,
// a private HOME and XDG_STATE_HOME (so checkpoints stay in the test), and
// env (KEY=VALUE). It fails the test if the binary cannot be started or runs
// for more than two minutes.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := runCLIContext(t, context.Background(), env, args...)
	return r.stdout, r.stderr, r.code
}

func runCLIContext(t *testing.T, ctx context.Context, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(baseEnv(t), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running drivecp %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(errOut.String(), "panic:") || strings.Contains(errOut.String(), "goroutine ") {
		t.Errorf("drivecp %s crashed:\n%s", strings.Join(args, " "), errOut.String())
	}
	return cliResult{stdout: out.String(), stderr: errOut.String(), code: code}
}

// homes holds one private HOME per test, so that several runs within one
// test share checkpoints as consecutive runs of a user would.
var homes sync.Map // test name -> dir

func baseEnv(t *testing.T) []string {
	t.Helper()
	dir, ok := homes.Load(t.Name())
	if !ok {
		dir, _ = homes.LoadOrStore(t.Name(), t.TempDir())
		t.Cleanup(func() { homes.Delete(t.Name()) })
	}
	home := dir.(string)
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"TMPDIR=" + os.TempDir(),
	}
}

// startEmulator starts an in-process emulator with cfg (Addr and DataDir
// default to a free loopback port and a temp dir), stops it when the test
// ends, and returns it with the environment that points the binary at it.
func startEmulator(t *testing.T, cfg emulator.Config) (*emulator.Server, []string) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	srv, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := srv.Config()
	return srv, []string{
		"CLOUDSIGMA_ENDPOINT=" + srv.URL(),
		"CLOUDSIGMA_USERNAME=" + c.User,
		"CLOUDSIGMA_PASSWORD=" + c.Password,
	}
}

// assertOneErrorLine checks the age-style error contract: stderr holds a
// `drivecp: error:` line (and at most a hint line), never a stack trace.
func assertOneErrorLine(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	var errs int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "drivecp: error: "):
			errs++
		case strings.HasPrefix(l, "drivecp: hint: "), strings.HasPrefix(l, "drivecp: warning: "):
		default:
			t.Errorf("unexpected stderr line %q", l)
		}
	}
	if errs != 1 {
		t.Errorf("want exactly one error line, got %d:\n%s", errs, stderr)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nosuch"}, ExitUsage, `unknown command "nosuch"`},
		{[]string{"--bogus"}, ExitUsage, "flag provided but not defined"},
	} {
		_, stderr, code := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("drivecp %q: code %d stderr %q; want code %d containing %q", tc.args, code, stderr, tc.code, tc.want)
			continue
		}
		assertOneErrorLine(t, stderr)
	}
	_, env := startEmulator(t, emulator.Config{})
	_, stderr, code := runCLI(t, append(env, "CLOUDSIGMA_PASSWORD=wrong"), "drive", "list")
	if code != ExitAuth {
		t.Errorf("wrong password: code %d, stderr %q; want %d", code, stderr, ExitAuth)
	}
	assertOneErrorLine(t, stderr)
	stdout, _, code := runCLI(t, nil, "version")
	if code != 0 || stdout != "drivecp "+Version+"\n" {
		t.Errorf("version: %q, code %d", stdout, code)
	}
}

// startLossyEmulator serves an emulator through a proxy that handles the
// first request matching lose and then drops the connection instead of
// answering: the server acted, the client never learns it. hold, when set,
// runs between the two, with the answer still unsent.
func startLossyEmulator(t *testing.T, lose func(*http.Request) bool, hold func()) (*emulator.Server, []string) {
	t.Helper()
	srv, err := emulator.New(emulator.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	var once sync.Once
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		drop := false
		if lose(r) {
			once.Do(func() { drop = true })
		}
		if !drop {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if hold != nil {
			hold()
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(ts.Close)
	c := srv.Config()
	return srv, []string{"CLOUDSIGMA_ENDPOINT=" + ts.URL + "/", "CLOUDSIGMA_USERNAME=" + c.User, "CLOUDSIGMA_PASSWORD=" + c.Password}
}
