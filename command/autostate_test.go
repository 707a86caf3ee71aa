package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drivecp/drivecp/transfer"
)

func TestAutoMemoryKey(t *testing.T) {
	k := autoMemoryKey("upload", "v2", 4<<20, "https://user:secret@zrh.cloudsigma.com/api/2.0/?token=x")
	if k != "upload v2 chunk=4194304 zrh.cloudsigma.com" || strings.Contains(k, "secret") {
		t.Errorf("key %q", k)
	}
	if k := autoMemoryKey("download", "v1", 1<<20, ""); k != "download v1 chunk=1048576 default" {
		t.Errorf("key %q", k)
	}
}

// TestAutoMemory: a run records where its gate goes and, once, that it was
// retried; the next run of the same kind starts there, other kinds keep
// their own records, and a damaged file is an empty memory.
func TestAutoMemory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	m := openAutoMemory(dir, "upload v2")
	if got := m.start(); got != (transfer.AutoStart{}) {
		t.Fatalf("empty memory starts at %+v", got)
	}
	other := openAutoMemory(dir, "download v2")
	other.concurrency(6)
	for _, n := range []int{4, 8, 12, 8} {
		m.concurrency(n)
	}
	m.retried(transfer.RetryEvent{})
	if got := openAutoMemory(dir, "upload v2").start(); got != (transfer.AutoStart{Concurrency: 8, Refused: true}) {
		t.Errorf("next upload starts at %+v, want 8, refused", got)
	}
	if got := openAutoMemory(dir, "download v2").start(); got != (transfer.AutoStart{Concurrency: 6}) {
		t.Errorf("next download starts at %+v, want 6", got)
	}
	// Refused stays once seen.
	again := openAutoMemory(dir, "upload v2")
	again.concurrency(5)
	if got := openAutoMemory(dir, "upload v2").start(); got != (transfer.AutoStart{Concurrency: 5, Refused: true}) {
		t.Errorf("after a run without retries: %+v, want 5, still refused", got)
	}
	path := filepath.Join(dir, autoStateFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v, mode %v", err, fi.Mode())
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("left in the state folder: %v", left)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := openAutoMemory(dir, "upload v2").start(); got != (transfer.AutoStart{}) {
		t.Errorf("a damaged file starts at %+v", got)
	}
}
