package command

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// The end-to-end tests of the drive, snapshot, library-drive and job
// commands run the built binary against the emulator and check what a user
// or a script sees: stdout (tables, UUIDs, --json objects), stderr and the
// exit code.

// uuidLine matches a command's whole stdout when it printed one UUID.
var uuidLine = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$`)

// e2eJobDuration is how long the emulator's clone, snapshot and resize
// jobs take in these tests: long enough that every wait really polls,
// short enough to keep the tests quick.
const e2eJobDuration = 300 * time.Millisecond

// emulatorEnv starts an emulator for the test and returns the environment
// that points the binary at it.
func emulatorEnv(t *testing.T) []string {
	t.Helper()
	_, env := startEmulator(t, emulator.Config{JobDuration: e2eJobDuration})
	return env
}

// mustRun runs the binary and fails the test unless it exits 0 with an
// empty stderr; it returns stdout.
func mustRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	stdout, stderr, code := runCLI(t, env, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("drivecp %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// mustUUID runs a command that prints one UUID and returns it.
func mustUUID(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out := mustRun(t, env, args...)
	if !uuidLine.MatchString(out) {
		t.Fatalf("drivecp %s printed %q, want one UUID line", strings.Join(args, " "), out)
	}
	return strings.TrimSpace(out)
}

// mustFail runs a command that must fail with code and one error line
// containing want.
func mustFail(t *testing.T, env []string, code int, want string, args ...string) string {
	t.Helper()
	stdout, stderr, got := runCLI(t, env, args...)
	if got != code || !strings.Contains(stderr, want) {
		t.Fatalf("drivecp %s: exit %d, stderr %q; want exit %d containing %q", strings.Join(args, " "), got, stderr, code, want)
	}
	if stdout != "" {
		t.Errorf("drivecp %s: failed but printed %q on stdout", strings.Join(args, " "), stdout)
	}
	assertOneErrorLine(t, stderr)
	return stderr
}

// jsonObject runs a command with --json and decodes the object it prints.
func jsonObject(t *testing.T, env []string, args ...string) map[string]any {
	t.Helper()
	var obj map[string]any
	out := mustRun(t, env, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("drivecp %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return obj
}

// jsonList runs a list command with --json and decodes the objects.
func jsonList(t *testing.T, env []string, args ...string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	out := mustRun(t, env, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		t.Fatalf("drivecp %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return objs
}

// tableRow returns the line of a table whose first column is key.
func tableRow(t *testing.T, table, key string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	t.Fatalf("no row %s in:\n%s", key, table)
	return nil
}

func uuidsOf(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		if u, ok := o["uuid"].(string); ok {
			out = append(out, u)
		}
	}
	return out
}

// TestE2ECloneNoWait: --no-wait prints a clone before it is done, and job
// wait waits for it. Clones here take seconds, so the check that the copy
// is still being made cannot lose the race to a loaded machine.
func TestE2ECloneNoWait(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, emulator.Config{JobDuration: 3 * time.Second})
	id := mustUUID(t, env, "drive", "create", "--name", "web", "--size", "1G")
	quick := mustUUID(t, env, "drive", "clone", id, "--no-wait", "--name", "quick")
	obj := jsonObject(t, env, "drive", "info", quick)
	jobs, _ := obj["jobs"].([]any)
	if obj["status"] != "cloning_dst" || len(jobs) == 0 {
		t.Fatalf("--no-wait clone: status %v, jobs %v", obj["status"], obj["jobs"])
	}
	job, _ := jobs[len(jobs)-1].(map[string]any)["uuid"].(string)
	mustUUID(t, env, "job", "wait", job)
	if obj = jsonObject(t, env, "drive", "info", quick); obj["status"] != "unmounted" {
		t.Errorf("after job wait: status %v", obj["status"])
	}
	mustRun(t, env, "drive", "delete", "--yes", id, quick)
}

func TestE2EDriveLifecycle(t *testing.T) {
	t.Parallel()
	env := emulatorEnv(t)
	id := mustUUID(t, env, "drive", "create", "--name", "web", "--size", "1G", "--meta", "role=frontend")

	// Table and JSON listings, with filters.
	table := mustRun(t, env, "drive", "list")
	if !strings.HasPrefix(table, "UUID ") || !strings.Contains(strings.SplitN(table, "\n", 2)[0], "STORAGE TYPE") {
		t.Errorf("list header:\n%s", table)
	}
	row := tableRow(t, table, id)
	if strings.Join(row[1:4], " ") != "web 1 GiB" {
		t.Errorf("list row = %q", row)
	}
	if got := uuidsOf(jsonList(t, env, "drive", "list", "--name", "web,other")); len(got) != 1 || got[0] != id {
		t.Errorf("list --name web,other = %q", got)
	}
	if got := jsonList(t, env, "drive", "list", "--name", "nosuch"); len(got) != 0 {
		t.Errorf("list --name nosuch = %v", got)
	}

	info := mustRun(t, env, "drive", "info", id)
	for _, want := range []string{"UUID:          " + id, "Name:          web", "Size:          1 GiB (1073741824 bytes)", "Meta:          role=frontend"} {
		if !strings.Contains(info, want+"\n") {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	obj := jsonObject(t, env, "drive", "info", id)
	if obj["uuid"] != id || obj["name"] != "web" || obj["size"] != float64(1<<30) {
		t.Errorf("info --json = %v", obj)
	}

	// Edit merges metadata and renames; flags after the argument work.
	if got := mustUUID(t, env, "drive", "edit", id, "--name", "web2", "--meta", "tier=1", "--meta", "role="); got != id {
		t.Errorf("edit printed %s", got)
	}
	obj = jsonObject(t, env, "drive", "info", id)
	if meta, _ := obj["meta"].(map[string]any); obj["name"] != "web2" || len(meta) != 1 || meta["tier"] != "1" {
		t.Errorf("after edit: %v", obj)
	}
	const tag = "11111111-2222-4333-8444-555555555555"
	mustUUID(t, env, "drive", "edit", id, "--tag", tag)
	if got := uuidsOf(jsonList(t, env, "drive", "list", "--tag", tag, "--status", "unmounted,mounted")); len(got) != 1 || got[0] != id {
		t.Errorf("list --tag --status = %q", got)
	}
	if got := jsonList(t, env, "drive", "list", "--status", "mounted"); len(got) != 0 {
		t.Errorf("list --status mounted = %v", got)
	}
	mustFail(t, env, ExitUsage, "nothing to change", "drive", "edit", id)

	// Resize: refusing to shrink before calling the API, then growing.
	mustFail(t, env, ExitUsage, "below the current size", "drive", "resize", id, "--size", "512M")
	if got := mustUUID(t, env, "drive", "resize", id, "--size", "2G"); got != id {
		t.Errorf("resize printed %s", got)
	}
	if obj = jsonObject(t, env, "drive", "info", id); obj["size"] != float64(2<<30) || obj["status"] != "unmounted" {
		t.Errorf("after resize: size %v status %v", obj["size"], obj["status"])
	}
	mustFail(t, env, ExitUsage, "outside the dssd drive sizes", "drive", "resize", id, "--size", "1000T")
	mustFail(t, env, ExitUsage, "outside the dssd drive sizes", "drive", "create", "--name", "tiny", "--size", "1k")
	mustFail(t, env, ExitUsage, "invalid size", "drive", "create", "--name", "bad", "--size", "ten")

	// Clone waits and prints the ready copy; --no-wait prints it at once.
	clone := mustUUID(t, env, "drive", "clone", id, "--name", "copy")
	if obj = jsonObject(t, env, "drive", "info", clone); obj["status"] != "unmounted" || obj["name"] != "copy" || obj["size"] != float64(2<<30) {
		t.Errorf("clone after wait: %v", obj)
	}
	grown := mustUUID(t, env, "drive", "clone", id, "--size", "3G")
	if obj = jsonObject(t, env, "drive", "info", grown); obj["size"] != float64(3<<30) || obj["status"] != "unmounted" {
		t.Errorf("clone --size 3G: size %v status %v", obj["size"], obj["status"])
	}
	mustFail(t, env, ExitUsage, "a clone is at least as large", "drive", "clone", id, "--size", "1G")

	// Errors: unknown UUID 4, wrong password 3, no --yes without a terminal 2.
	mustFail(t, env, ExitNotFound, "drivecp: error: get drive", "drive", "info", "00000000-0000-0000-0000-000000000000")
	mustFail(t, env, ExitNotFound, "", "drive", "clone", "00000000-0000-0000-0000-000000000000")
	bad := append(append([]string(nil), env[:2]...), "CLOUDSIGMA_PASSWORD=wrong")
	mustFail(t, bad, ExitAuth, "401", "drive", "list")
	stderr := mustFail(t, env, ExitUsage, "stdin is not a terminal", "drive", "delete", clone)
	if !strings.Contains(stderr, "--yes") {
		t.Errorf("no hint about --yes: %q", stderr)
	}

	if out := mustRun(t, env, "drive", "delete", "--yes", clone, grown); out != "" {
		t.Errorf("delete printed %q", out)
	}
	mustFail(t, env, ExitNotFound, "", "drive", "info", clone)
	if got := uuidsOf(jsonList(t, env, "drive", "list")); len(got) != 1 || got[0] != id {
		t.Errorf("left after delete: %q", got)
	}
}

func TestE2EDriveAPI1(t *testing.T) {
	t.Parallel()
	env := emulatorEnv(t)
	id := mustUUID(t, env, "drive", "create", "--api", "v1", "--name", "old", "--size", "4M")
	row := tableRow(t, mustRun(t, env, "drive", "list", "--api", "v1"), id)
	if strings.Join(row[1:4], " ") != "old 4 MiB" {
		t.Errorf("v1 list row = %q", row)
	}
	info := mustRun(t, env, "drive", "info", "--api", "v1", id)
	if !strings.Contains(info, "Size:          4 MiB (4194304 bytes)\n") {
		t.Errorf("v1 info:\n%s", info)
	}
	if obj := jsonObject(t, env, "drive", "info", "--api", "v1", id); obj["drive"] != id || obj["name"] != "old" {
		t.Errorf("v1 info --json = %v", obj)
	}
	clone := mustUUID(t, env, "drive", "clone", "--api", "v1", id, "--size", "8M")
	if obj := jsonObject(t, env, "drive", "info", "--api", "v1", clone); obj["size"] != "8388608" {
		t.Errorf("v1 clone: %v", obj)
	}
	mustFail(t, env, ExitUsage, "a clone is at least as large", "drive", "clone", "--api", "v1", id, "--size", "1M")
	mustFail(t, env, ExitNotFound, "", "drive", "info", "--api", "v1", "00000000-0000-0000-0000-000000000000")
	mustRun(t, env, "drive", "delete", "--api", "v1", "--yes", id, clone)
	if out := mustRun(t, env, "drive", "list", "--api", "v1"); strings.Contains(out, id) {
		t.Errorf("v1 delete left %s:\n%s", id, out)
	}
	mustFail(t, env, ExitUsage, "--api", "drive", "list", "--api", "v3")
}

func TestE2ESnapshots(t *testing.T) {
	t.Parallel()
	env := emulatorEnv(t)
	drive := mustUUID(t, env, "drive", "create", "--name", "db", "--size", "1G")
	other := mustUUID(t, env, "drive", "create", "--name", "other", "--size", "1G")
	snap := mustUUID(t, env, "snapshot", "create", drive, "--name", "nightly")
	mustUUID(t, env, "snapshot", "create", other)

	table := mustRun(t, env, "snapshot", "list", "--drive", drive)
	if !strings.Contains(strings.SplitN(table, "\n", 2)[0], "DRIVE") {
		t.Errorf("snapshot list header:\n%s", table)
	}
	if row := tableRow(t, table, snap); row[1] != "nightly" || row[2] != drive {
		t.Errorf("snapshot row = %q", row)
	}
	if got := uuidsOf(jsonList(t, env, "snapshot", "list", "--drive", drive)); len(got) != 1 || got[0] != snap {
		t.Errorf("snapshot list --drive = %q", got)
	}
	if got := jsonList(t, env, "snapshot", "list"); len(got) != 2 {
		t.Errorf("snapshot list: %d snapshots", len(got))
	}
	info := mustRun(t, env, "snapshot", "info", snap)
	if !strings.Contains(info, "Drive:      "+drive+"\n") || !strings.Contains(info, "Status:     available\n") {
		t.Errorf("snapshot info:\n%s", info)
	}
	mustUUID(t, env, "snapshot", "edit", snap, "--name", "renamed", "--meta", "k=v")
	if obj := jsonObject(t, env, "snapshot", "info", snap); obj["name"] != "renamed" {
		t.Errorf("snapshot edit: %v", obj)
	}

	restored := mustUUID(t, env, "snapshot", "clone", snap, "--name", "restored")
	if obj := jsonObject(t, env, "drive", "info", restored); obj["status"] != "unmounted" || obj["size"] != float64(1<<30) {
		t.Errorf("snapshot clone: %v", obj)
	}
	mustFail(t, env, ExitNotFound, "", "snapshot", "clone", "00000000-0000-0000-0000-000000000000")
	mustFail(t, env, ExitUsage, "stdin is not a terminal", "snapshot", "delete", snap)
	mustRun(t, env, "snapshot", "delete", "--yes", snap)
	mustFail(t, env, ExitNotFound, "", "snapshot", "info", snap)
}

func TestE2EJobs(t *testing.T) {
	t.Parallel()
	env := emulatorEnv(t)
	src := mustUUID(t, env, "drive", "create", "--name", "src", "--size", "1G")
	clone := mustUUID(t, env, "drive", "clone", src, "--no-wait")
	obj := jsonObject(t, env, "drive", "info", clone)
	jobs, _ := obj["jobs"].([]any)
	if len(jobs) == 0 {
		t.Fatalf("cloning drive names no job: %v", obj)
	}
	job, _ := jobs[len(jobs)-1].(map[string]any)["uuid"].(string)

	if row := tableRow(t, mustRun(t, env, "job", "list"), job); len(row) < 4 {
		t.Errorf("job row = %q", row)
	}
	if got := uuidsOf(jsonList(t, env, "job", "list")); !strings.Contains(strings.Join(got, " "), job) {
		t.Errorf("job list --json lacks %s: %q", job, got)
	}
	if got := mustUUID(t, env, "job", "wait", job); got != job {
		t.Errorf("job wait printed %s", got)
	}
	info := mustRun(t, env, "job", "info", job)
	if !strings.Contains(info, "State:      success\n") || !strings.Contains(info, "Progress:   100%\n") {
		t.Errorf("job info after wait:\n%s", info)
	}
	if obj := jsonObject(t, env, "job", "info", job); obj["uuid"] != job {
		t.Errorf("job info --json = %v", obj)
	}
	mustFail(t, env, ExitNotFound, "", "job", "wait", "00000000-0000-0000-0000-000000000000")
}

func TestE2ELibdrives(t *testing.T) {
	t.Parallel()
	env := emulatorEnv(t)
	const debian = "6a1b7c3e-0d4f-4e2a-9b1c-000000000001"
	table := mustRun(t, env, "libdrive", "list")
	if !strings.HasPrefix(table, "UUID ") || !strings.Contains(table, "Debian 12 (emulated)") {
		t.Errorf("libdrive list:\n%s", table)
	}
	if row := tableRow(t, table, debian); !strings.Contains(strings.Join(row, " "), "linux Debian 12 64") {
		t.Errorf("libdrive row = %q", row)
	}
	linux := uuidsOf(jsonList(t, env, "libdrive", "list", "--os", "linux"))
	if len(linux) != 2 || linux[0] != debian {
		t.Errorf("libdrive list --os linux = %q", linux)
	}
	lib := jsonObject(t, env, "libdrive", "info", debian)
	if lib["os"] != "linux" || lib["distribution"] != "Debian" {
		t.Errorf("libdrive info --json = %v", lib)
	}
	if info := mustRun(t, env, "libdrive", "info", debian); !strings.Contains(info, "Distribution:  Debian\n") {
		t.Errorf("libdrive info:\n%s", info)
	}
	id := mustUUID(t, env, "libdrive", "clone", debian, "--name", "my-debian")
	obj := jsonObject(t, env, "drive", "info", id)
	if obj["status"] != "unmounted" || obj["name"] != "my-debian" || obj["size"] != lib["size"] {
		t.Errorf("libdrive clone: %v", obj)
	}
	mustFail(t, env, ExitNotFound, "", "libdrive", "info", "00000000-0000-0000-0000-000000000000")
	mustFail(t, env, ExitNotFound, "", "libdrive", "clone", "00000000-0000-0000-0000-000000000000")
}

func TestE2EWaitTimeout(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, emulator.Config{JobDuration: 5 * time.Second})
	src := mustUUID(t, env, "drive", "create", "--name", "src", "--size", "1G")
	stdout, stderr, code := runCLI(t, env, "drive", "clone", src, "--timeout", "100ms")
	if code != ExitFailure || stdout != "" || !strings.Contains(stderr, "timed out waiting for clone of "+src+" after 100ms") {
		t.Fatalf("clone --timeout 100ms: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	assertOneErrorLine(t, stderr)
	// The hint names the drive, which goes on cloning.
	m := regexp.MustCompile(`drivecp: hint: the drive is ([0-9a-f-]{36});`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no hint naming the new drive:\n%s", stderr)
	}
	if obj := jsonObject(t, env, "drive", "info", m[1]); obj["status"] != "cloning_dst" && obj["status"] != "unmounted" {
		t.Errorf("clone after the timeout: %v", obj["status"])
	}
}
