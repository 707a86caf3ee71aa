package command

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/driverecord"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
)

// killMoment is one moment at which a store command is killed: the
// command, and what shows the moment has come.
type killMoment struct {
	what  string
	args  []string
	ready func() bool
	// mayFinish marks a command too quick to catch reliably (prune): it
	// is killed at its first observable step, and finishing first is
	// accepted.
	mayFinish bool
}

// TestBackupStoreKilledAtTenMomentsE2E kills backup, restore and prune
// with SIGKILL at ten moments, one after another on the same store. After
// each kill, verify --store is clean; the command then runs again to its
// end; at the end every kept backup restores identical.
func TestBackupStoreKilledAtTenMomentsE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	srv, env := startEmulator(t, emulator.Config{JobDuration: 50 * time.Millisecond, ConnBandwidth: 8 << 20})
	requireV2Snapshots(t, srv)
	const size = 32 << 20
	drive, data := backupTestDrive(t, srv, "moments", size, 80)
	store := filepath.Join(t.TempDir(), "store")
	count := func(pattern string) int {
		m, _ := filepath.Glob(filepath.Join(store, pattern))
		return len(m)
	}
	exists := func(pattern string) func() bool { return func() bool { return count(pattern) > 0 } }
	tempDrive := func() bool {
		for _, d := range srv.Store().ListDrives() {
			if strings.HasPrefix(d.Name, backup.TempPrefix) {
				return true
			}
		}
		return false
	}
	contents := map[string][]byte{} // backup ID → the image it must restore to
	// Backups are named by the second of their snapshot: each backup
	// starts in a second of its own.
	nextSecond := func() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) }
	night := func(seed uint64, chunks ...int) {
		data = rewriteChunks(data, seed, chunks...)
		writeBehind(t, srv, drive, 0, data)
	}
	learn := func() {
		for _, b := range storeBackupList(t, env, store) {
			if _, ok := contents[b.ID]; !ok {
				contents[b.ID] = data
			}
		}
	}
	backupArgs := []string{"backup", drive, "--store", store, "-q"}
	mustRun(t, env, backupArgs...)
	learn()
	first := storeBackupList(t, env, store)[0].ID
	out := filepath.Join(t.TempDir(), "restored.img")
	target := newDrive(t, srv, "target", size)
	mustRun(t, env, "restore", "--store", store, first, "--drive", target, "-q")
	recordPending := func() bool {
		r := savedRecord(t, target, driverecord.FromRestore)
		return r != nil && len(r.Pending) > 0
	}
	var intoTarget string // the backup restored into target last
	manifests := func() int { return count("backups/*.json") }
	chunkFiles := func() int { return count("chunks/*/*") }

	moments := []func() killMoment{
		func() killMoment {
			night(1, 0, 3)
			nextSecond()
			return killMoment{what: "backup, while its clone is made", args: backupArgs, ready: tempDrive}
		},
		func() killMoment {
			nextSecond()
			return killMoment{what: "backup, during the download", args: backupArgs, ready: exists("staging/*/*.part")}
		},
		func() killMoment {
			night(4, 7) // a chunk the store lacks
			nextSecond()
			n := chunkFiles()
			return killMoment{what: "backup, while storing chunks", args: backupArgs, ready: func() bool { return chunkFiles() > n }}
		},
		func() killMoment {
			night(2, 5)
			nextSecond()
			n := manifests()
			return killMoment{what: "backup, once its manifest is written", args: backupArgs, ready: func() bool { return manifests() > n }}
		},
		func() killMoment {
			return killMoment{what: "restore to a file", args: []string{"restore", "--store", store, first, "-o", out, "--force", "-q"},
				ready: func() bool { _, err := os.Stat(out + ".part"); return err == nil }}
		},
		func() killMoment {
			return killMoment{what: "restore into a new drive", args: []string{"restore", "--store", store, first, "--name", "killed-restore", "-q"},
				ready: func() bool { return len(srv.Store().ListDrives()) > 0 && hasDriveNamed(srv, "killed-restore") }}
		},
		func() killMoment {
			last := storeBackupList(t, env, store)
			intoTarget = last[len(last)-1].ID
			return killMoment{what: "incremental restore into a drive", args: []string{"restore", "--store", store, intoTarget, "--drive", target, "--incremental", "-q"},
				ready: recordPending}
		},
		func() killMoment {
			night(3, 1, 2, 6)
			nextSecond()
			n := chunkFiles()
			return killMoment{what: "backup of a third night, while storing chunks", args: backupArgs, ready: func() bool { return chunkFiles() > n }}
		},
		func() killMoment {
			n := manifests()
			return killMoment{what: "forget --keep-last 2 --prune, once a manifest is gone",
				args:  []string{"backups", "forget", "--store", store, "--keep-last", "2", "--prune", "-q"},
				ready: func() bool { return manifests() < n }, mayFinish: true}
		},
		func() killMoment {
			mustRun(t, env, "backups", "forget", "--store", store, "--keep-last", "1", "-q")
			// Thousands of unreferenced chunks, as years of forgotten
			// backups leave, so that prune runs long enough to be caught.
			rng := rand.New(rand.NewPCG(10, 10))
			for range 4000 {
				var h backupstore.Hash
				for i := range h {
					h[i] = byte(rng.Uint32())
				}
				name := h.String()
				dir := filepath.Join(store, "chunks", name[:2])
				os.MkdirAll(dir, 0o700)
				if err := os.WriteFile(filepath.Join(dir, name), []byte{0}, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			n := chunkFiles()
			return killMoment{what: "prune, once a chunk is gone", args: []string{"backups", "prune", "--store", store, "-q"},
				ready: func() bool { return chunkFiles() < n }}
		},
	}
	for i, next := range moments {
		m := next()
		finished := killAt(t, env, m)
		t.Logf("moment %d: %s: killed=%v", i+1, m.what, !finished)
		if vout, verr, code := runCLI(t, env, "verify", "--store", store); code != 0 {
			t.Fatalf("after killing %s: verify --store exit %d\n%s%s", m.what, code, vout, verr)
		}
		if !finished {
			if _, stderr, code := runCLI(t, env, m.args...); code != 0 {
				t.Fatalf("%s, run again after the kill: exit %d\n%s", m.what, code, stderr)
			}
		}
		learn()
	}
	kept := storeBackupList(t, env, store)
	if len(kept) != 1 {
		t.Errorf("%d backups kept, want 1 after forget --keep-last 1", len(kept))
	}
	for _, b := range kept {
		if !bytes.Equal(restoreTo(t, env, store, b.ID), contents[b.ID]) {
			t.Errorf("backup %s does not restore identical", b.ID)
		}
	}
	if !bytes.Equal(driveBytes(t, srv, target, size), contents[intoTarget]) {
		t.Errorf("the incremental restore killed and run again left drive %s unlike backup %s", target, intoTarget)
	}
	assertNoTemporaries(t, srv)
}

// killAt runs the command of m and kills it with SIGKILL at its moment. It
// reports whether the command finished first (allowed only when
// m.mayFinish, and then it must have succeeded).
func killAt(t *testing.T, env []string, m killMoment) (finished bool) {
	t.Helper()
	cmd := exec.Command(binPath, m.args...)
	cmd.Env = append(baseEnv(t), env...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for !m.ready() {
		select {
		case err := <-done:
			if m.mayFinish && err == nil {
				return true
			}
			t.Fatalf("%s ended (%v) before the moment to kill it\n%s", m.what, err, errOut.String())
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("the moment to kill %s did not come", m.what)
		case <-time.After(time.Millisecond):
		}
	}
	cmd.Process.Kill()
	<-done
	return false
}

// storeBackupList returns the backups of a store, oldest first.
func storeBackupList(t *testing.T, env []string, store string) []backupSummary {
	t.Helper()
	var list []backupSummary
	if err := json.Unmarshal([]byte(mustRun(t, env, "backups", "list", "--store", store, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// hasDriveNamed reports whether the emulator has a drive of that name.
func hasDriveNamed(srv *emulator.Server, name string) bool {
	for _, d := range srv.Store().ListDrives() {
		if d.Name == name {
			return true
		}
	}
	return false
}
