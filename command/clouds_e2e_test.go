package command

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveCloud starts `drivecp serve --cloud NAME` on a free port and returns
// the environment its last line exports, as `eval` would set it.
func serveCloud(t *testing.T, cloud string, extra ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"--cloud", cloud, "serve", "--addr", "127.0.0.1:0", "--operation-time", "200ms"}, extra...)
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = baseEnv(t)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve --cloud %s ended without an export line", cloud)
			}
			if rest, ok := strings.CutPrefix(l, "export "); ok {
				go func() {
					for range lines { // keep the pipe drained
					}
				}()
				env := strings.Fields(rest)
				for i, kv := range env {
					k, v, ok := strings.Cut(kv, "=")
					if uq, quoted := strings.CutPrefix(v, "'"); quoted && strings.HasSuffix(uq, "'") {
						v = strings.TrimSuffix(uq, "'")
					}
					if !ok || strings.ContainsAny(v, `'"\ `) {
						t.Fatalf("export line %q needs a shell to read; the test reads VAR=value and VAR='value'", l)
					}
					env[i] = k + "=" + v
				}
				return env
			}
		case <-timeout:
			t.Fatalf("serve --cloud %s printed no export line in 30 s", cloud)
		}
	}
}

// TestE2EOtherClouds runs the binary against the emulators of the clouds
// without a byte path: what they offer works through the same verbs, what
// they lack ends with one line naming the cloud (exit 2), and backup keeps
// snapshots or images in the cloud with retention.
func TestE2EOtherClouds(t *testing.T) {
	for _, tc := range []struct {
		cloud, secretVar, kind string
	}{
		{"onlinelabs", "ONLINELABS_TOKEN", "snapshot"},
		{"e24cloud", "E24CLOUD_API_SECRET", "image"},
	} {
		t.Run(tc.cloud, func(t *testing.T) {
			env := serveCloud(t, tc.cloud)
			if !strings.Contains(strings.Join(env, " "), "DRIVECP_CLOUD="+tc.cloud) {
				t.Fatalf("export line %q does not choose the cloud", env)
			}
			id := strings.TrimSpace(mustRun(t, env, "drive", "create", "--name", "data", "--size", "10G"))
			if id == "" || strings.Contains(id, "\n") {
				t.Fatalf("drive create printed %q, want one ID", id)
			}
			if got := mustRun(t, env, "drive", "list"); !strings.Contains(got, id) {
				t.Errorf("drive list lacks %s:\n%s", id, got)
			}
			mustRun(t, env, "server", "list")

			img := filepath.Join(t.TempDir(), "disk.img")
			if err := os.WriteFile(img, make([]byte, 1<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			mustFail(t, env, ExitUsage, tc.cloud+" cannot transfer drive images", "upload", img)
			mustFail(t, env, ExitUsage, tc.cloud+" cannot", "download", id, "-o", filepath.Join(t.TempDir(), "x"))
			mustFail(t, env, ExitUsage, tc.cloud+" cannot", "libdrive", "list")
			mustFail(t, env, ExitNotFound, "", "drive", "info", "424242")

			var bad []string
			for _, kv := range env {
				if strings.HasPrefix(kv, tc.secretVar+"=") {
					kv = tc.secretVar + "=wrong"
				}
				bad = append(bad, kv)
			}
			mustFail(t, bad, ExitAuth, "", "drive", "list")

			// Two runs with --keep 1: the second deletes the first's backup.
			var first string
			for run := range 2 {
				if run > 0 {
					time.Sleep(1100 * time.Millisecond) // backup names carry the second
				}
				stdout, stderr, code := runCLI(t, env, "backup", id, "--keep", "1", "--json")
				if code != 0 || !strings.Contains(stderr, "no image was downloaded") {
					t.Fatalf("backup run %d: exit %d\nstdout: %s\nstderr: %s", run, code, stdout, stderr)
				}
				var rep struct {
					Kind   string `json:"kind"`
					Drives []struct {
						ID      string   `json:"id"`
						Deleted []string `json:"deleted"`
						Error   string   `json:"error"`
					} `json:"drives"`
				}
				if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Drives) != 1 || rep.Kind != tc.kind {
					t.Fatalf("backup run %d --json: %v\n%s", run, err, stdout)
				}
				d := rep.Drives[0]
				switch {
				case d.ID == "" || d.Error != "":
					t.Fatalf("backup run %d: %+v", run, d)
				case run == 0:
					first = d.ID
				case len(d.Deleted) != 1 || d.Deleted[0] != first:
					t.Errorf("second backup deleted %v, want the first one (%s)", d.Deleted, first)
				}
			}
			mustFail(t, env, ExitUsage, "--dir does not apply", "backup", id, "--dir", t.TempDir())
		})
	}
}

// TestE2EServeExportLine: the last line of `drivecp serve` points a client
// at the CloudSigma emulator, with nothing else in the environment.
func TestE2EServeExportLine(t *testing.T) {
	env := serveCloud(t, "cloudsigma")
	if got := mustRun(t, env, "drive", "list"); !strings.HasPrefix(got, "UUID") {
		t.Errorf("drive list through the exported environment: %q", got)
	}
}

// olRequest sends one request to the Online Labs emulator as the API guide
// does with curl (servers are made and started outside drivecp).
func olRequest(t *testing.T, env []string, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, envValue(env, "ONLINELABS_ENDPOINT")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", envValue(env, "ONLINELABS_TOKEN"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, out, err)
	}
	return out
}

// TestE2EOnlineLabsVerbs: attach refused on a running server and done with
// --stop, snapshots, images made of them, tasks, --no-wait and --json.
func TestE2EOnlineLabsVerbs(t *testing.T) {
	env := serveCloud(t, "onlinelabs")
	images := jsonList(t, env, "image", "list")
	if len(images) == 0 {
		t.Fatal("the emulator offers no public image")
	}
	srv := olRequest(t, env, http.MethodPost, "/servers", `{"name":"web","image":"`+images[0]["id"].(string)+
		`","organization":"`+envValue(env, "ONLINELABS_ORGANIZATION")+`"}`)["server"].(map[string]any)["id"].(string)
	vol := strings.TrimSpace(mustRun(t, env, "drive", "create", "--name", "data", "--size", "10G"))
	other := strings.TrimSpace(mustRun(t, env, "drive", "create", "--name", "more", "--size", "20G"))

	// Stopped: attach goes through at once.
	if got := strings.TrimSpace(mustRun(t, env, "drive", "attach", vol, "--server", srv)); got != srv {
		t.Errorf("attach printed %q, want the server %s", got, srv)
	}
	if info := mustRun(t, env, "server", "info", srv); !strings.Contains(info, vol) {
		t.Errorf("server info lacks the attached volume:\n%s", info)
	}
	// Running: refused with a hint, then done with --stop, which starts it again.
	olRequest(t, env, http.MethodPost, "/servers/"+srv+"/action", `{"action":"poweron"}`)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(mustRun(t, env, "server", "list"), "running") {
		if time.Now().After(deadline) {
			t.Fatal("the server did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stderr := mustFail(t, env, ExitUsage, "only while it is stopped", "drive", "attach", other, "--server", srv)
	if !strings.Contains(stderr, "--stop") {
		t.Errorf("no hint about --stop: %q", stderr)
	}
	mustRun(t, env, "drive", "attach", other, "--server", srv, "--stop")
	s := jsonObject(t, env, "server", "info", srv)
	if s["state"] != "running" || !strings.Contains(mustRun(t, env, "server", "info", srv), other) {
		t.Errorf("after attach --stop: state %v, want running with %s attached", s["state"], other)
	}
	mustRun(t, env, "drive", "detach", other, "--stop")

	// Snapshots, --no-wait, images of snapshots, tasks.
	snap := strings.TrimSpace(mustRun(t, env, "snapshot", "create", vol, "--name", "s1"))
	found := false
	for _, o := range jsonList(t, env, "snapshot", "list") {
		found = found || o["id"] == snap
	}
	if !found {
		t.Errorf("snapshot list --json lacks %s", snap)
	}
	quick := strings.TrimSpace(mustRun(t, env, "snapshot", "create", vol, "--name", "s2", "--no-wait"))
	if quick == "" || quick == snap {
		t.Errorf("--no-wait printed %q", quick)
	}
	img := strings.TrimSpace(mustRun(t, env, "image", "create", "--name", "golden", "--snapshot", snap))
	if info := jsonObject(t, env, "image", "info", img); info["name"] != "golden" {
		t.Errorf("image info --json: %v", info)
	}
	mustFail(t, env, ExitUsage, "makes images of a snapshot", "image", "create", "--name", "x", "--drive", vol)
	if jobs := mustRun(t, env, "job", "list"); !strings.Contains(jobs, "server_batch_poweron") {
		t.Errorf("job list lacks the power-on task:\n%s", jobs)
	}
	mustRun(t, env, "image", "delete", "--yes", img)
	mustFail(t, env, ExitUsage, "not yours to delete", "image", "delete", "--yes", images[0]["id"].(string))
	mustFail(t, env, ExitNotFound, "", "server", "info", "00000000-0000-4000-8000-000000000000")

	// The rest of the verbs: info, edit, job wait, deletions.
	if info := mustRun(t, env, "drive", "info", vol); !strings.Contains(info, "data") {
		t.Errorf("drive info:\n%s", info)
	}
	mustRun(t, env, "drive", "edit", other, "--name", "renamed")
	if info := jsonObject(t, env, "drive", "info", other); info["name"] != "renamed" {
		t.Errorf("after drive edit: %v", info)
	}
	var task string
	for _, j := range jsonList(t, env, "job", "list") {
		task, _ = j["id"].(string)
	}
	if got := strings.TrimSpace(mustRun(t, env, "job", "wait", task)); got != task {
		t.Errorf("job wait printed %q, want %s", got, task)
	}
	if info := mustRun(t, env, "snapshot", "info", quick); !strings.Contains(info, "s2") {
		t.Errorf("snapshot info:\n%s", info)
	}
	mustRun(t, env, "snapshot", "delete", "--yes", quick)
	mustFail(t, env, ExitNotFound, "", "snapshot", "info", quick)
	mustRun(t, env, "drive", "delete", "--yes", other)
	mustFail(t, env, ExitNotFound, "", "drive", "info", other)
}

// TestE2EE24CloudVerbs: disk images made of a storage volume, and server
// deletion that never guesses what happens to the volumes.
func TestE2EE24CloudVerbs(t *testing.T) {
	env := serveCloud(t, "e24cloud")
	servers := jsonList(t, env, "server", "list")
	if len(servers) != 1 {
		t.Fatalf("server list --json: %v", servers)
	}
	vm := fmt.Sprint(servers[0]["id"])
	vols := jsonList(t, env, "drive", "list")
	if len(vols) < 2 {
		t.Fatalf("drive list --json: %v", vols)
	}
	vol := fmt.Sprint(vols[0]["id"])
	img := strings.TrimSpace(mustRun(t, env, "image", "create", "--name", "golden", "--drive", vol))
	if info := mustRun(t, env, "image", "info", img); !strings.Contains(info, "golden") || !strings.Contains(info, "available") {
		t.Errorf("image info after a waited create:\n%s", info)
	}
	mustFail(t, env, ExitUsage, "makes images of a drive", "image", "create", "--name", "x", "--snapshot", "s")
	mustRun(t, env, "image", "delete", "--yes", img)

	mustFail(t, env, ExitUsage, "--keep-drives", "server", "delete", vm, "--yes")
	mustFail(t, env, ExitUsage, "--keep-drives", "server", "delete", vm, "--yes", "--keep-volumes", "--delete-volumes")
	mustRun(t, env, "server", "delete", vm, "--yes", "--keep-volumes")
	mustFail(t, env, ExitNotFound, "", "server", "info", vm)
	if got := jsonList(t, env, "drive", "list"); len(got) != len(vols) {
		t.Errorf("--keep-volumes left %d volumes, want %d", len(got), len(vols))
	}
}

// TestE2ECenturyLinkVerbs: disks added to and removed from servers, the
// one snapshot per server, and a backup that replaces only its own.
func TestE2ECenturyLinkVerbs(t *testing.T) {
	env := serveCloud(t, "centurylink")
	servers := jsonList(t, env, "server", "list")
	if len(servers) == 0 {
		t.Fatal("no servers")
	}
	srv := strings.TrimSpace(strings.Fields(mustRun(t, env, "server", "list"))[5]) // first ID after the header
	disk := strings.TrimSpace(mustRun(t, env, "drive", "create", "--server", srv, "--size", "10G", "--path", "/data"))
	if !strings.HasPrefix(disk, srv+":") {
		t.Fatalf("drive create printed %q, want a disk of %s", disk, srv)
	}
	if list := mustRun(t, env, "drive", "list", "--server", strings.ToLower(srv)); !strings.Contains(list, disk) ||
		!strings.Contains(strings.SplitN(list, "\n", 2)[0], "SERVERS") {
		t.Errorf("drive list --server %s lacks %s or its SERVERS column:\n%s", srv, disk, list)
	}
	mustFail(t, env, ExitNotFound, "", "drive", "list", "--server", "WA1NOSUCH01")

	// --no-wait prints the operation, the only thing a later run can follow
	// here, and job wait follows it to the end.
	disksBefore := len(jsonList(t, env, "drive", "list", "--server", srv))
	stdout, stderr, code := runCLI(t, env, "drive", "create", "--server", srv, "--size", "5G", "--no-wait")
	op := strings.TrimSpace(stdout)
	if code != 0 || op == "" || strings.Contains(op, srv) || !strings.Contains(stderr, "job wait "+op) {
		t.Fatalf("drive create --no-wait: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if info := mustRun(t, env, "job", "info", op); !strings.Contains(info, op) || strings.Contains(info, "-1%") {
		t.Errorf("job info %s:\n%s", op, info)
	}
	if got := strings.TrimSpace(mustRun(t, env, "job", "wait", op)); got != op {
		t.Errorf("job wait printed %q, want %s", got, op)
	}
	if ds := jsonList(t, env, "drive", "list", "--server", srv); len(ds) != disksBefore+1 {
		t.Errorf("after a disk was added to %d, drive list --server --json has %d", disksBefore, len(ds))
	}
	mustFail(t, env, ExitUsage, "cannot list operations", "job", "list")

	mustRun(t, env, "drive", "resize", disk, "--size", "20G")
	if info := mustRun(t, env, "drive", "info", disk); !strings.Contains(info, "20 GiB") {
		t.Errorf("after resize:\n%s", info)
	}
	mustFail(t, env, ExitUsage, "operating-system disk", "drive", "delete", "--yes", srv+":0:0")
	mustRun(t, env, "drive", "delete", "--yes", disk)

	mustRun(t, env, "snapshot", "create", srv, "--expire-days", "3")
	mustFail(t, env, ExitUsage, "keeps one per server", "snapshot", "create", srv)
	mustRun(t, env, "snapshot", "create", srv, "--replace")
	// A snapshot drivecp's backup did not make is not replaced by it.
	_, stderr, code = runCLI(t, env, "backup", srv+":0:0")
	if code != ExitFailure || !strings.Contains(stderr, "backup of 1 of 1 drives failed") {
		t.Fatalf("backup over a user's snapshot: exit %d\n%s", code, stderr)
	}
	mustRun(t, env, "snapshot", "delete", "--yes", srv) // a snapshot here is named by its server
	for run := range 2 {
		if _, stderr, code := runCLI(t, env, "backup", srv+":0:0", "--keep", "1"); code != 0 {
			t.Fatalf("backup run %d: exit %d\n%s", run, code, stderr)
		}
	}
	mustRun(t, env, "snapshot", "restore", "--yes", srv)
	// The snapshot is known by its server's name whoever takes it: one a
	// user takes after deleting drivecp's is still not drivecp's. Its name
	// is its creation time to the second, so take it in another second.
	mustRun(t, env, "snapshot", "delete", "--yes", srv)
	time.Sleep(1100 * time.Millisecond)
	mustRun(t, env, "snapshot", "create", srv)
	if _, stderr, code := runCLI(t, env, "backup", srv+":0:0", "--keep", "1"); code != ExitFailure || !strings.Contains(stderr, "backup of 1 of 1 drives failed") {
		t.Fatalf("backup over a user's snapshot taken after drivecp's: exit %d\n%s", code, stderr)
	}
	mustFail(t, env, ExitUsage, "centurylink cannot", "download", srv+":0:0", "-o", filepath.Join(t.TempDir(), "x"))
	mustFail(t, env, ExitNotFound, "", "server", "info", "WA1NOSUCH01")
}

// TestE2ECenturyLinkTokenExpires: a bearer token that expires while a
// command waits for an operation makes drivecp log in again, not fail.
func TestE2ECenturyLinkTokenExpires(t *testing.T) {
	env := serveCloud(t, "centurylink", "--token-ttl", "300ms", "--operation-time", "1500ms")
	stdout, stderr, code := runCLI(t, env, "snapshot", "create", "WA1ALIASWEB01")
	if code != 0 || strings.TrimSpace(stdout) == "" {
		t.Fatalf("snapshot create across an expired token: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "mypassword") {
		t.Errorf("the password is on stderr: %s", stderr)
	}
}
