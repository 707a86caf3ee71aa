package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLockPart(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.img")
	unlock, err := LockPart(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockPart(out); !errors.Is(err, ErrPartLocked) {
		t.Fatalf("second lock: %v, want ErrPartLocked", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(PartPath(out)); !os.IsNotExist(err) {
		t.Errorf("the empty FILE.part the lock created is left: %v", err)
	}

	// A FILE.part renamed into place while locked: the next run locks the
	// new FILE.part, not the published file.
	unlock, err = LockPart(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(PartPath(out), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(PartPath(out), out); err != nil {
		t.Fatal(err)
	}
	unlock2, err := LockPart(out)
	if err != nil {
		t.Fatalf("lock after the rename: %v", err)
	}
	if err := errors.Join(unlock(), unlock2()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "data" {
		t.Errorf("published file: %q %v", b, err)
	}

	// A FILE.part that is a symbolic link is refused, not followed.
	if err := os.Symlink(out, PartPath(out)); err != nil {
		t.Fatal(err)
	}
	if _, err := LockPart(out); !errors.Is(err, ErrNotRegular) {
		t.Errorf("symlinked FILE.part: %v, want ErrNotRegular", err)
	}
	if _, err := LockPart(filepath.Join(t.TempDir(), "nope", "x.img")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}
