package backup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Marks of the temporary snapshots and clones a run makes.
const (
	// TempPrefix starts the name of every temporary resource:
	// TempPrefix + source drive UUID + "-" + run ID.
	TempPrefix = "drivecp-tmp-"
	// MetaBackup, MetaRun and MetaSource are the metadata keys of a
	// temporary snapshot; MetaBackup is TempMark on temporaries and
	// KeptMark on a snapshot kept with KeepSnapshot.
	MetaBackup = "drivecp:backup"
	MetaRun    = "drivecp:run"
	MetaSource = "drivecp:source"
	TempMark   = "tmp"
	KeptMark   = "kept"
)

// timestampLayout names images by their UTC time: sortable, and without
// colons, which some file systems refuse.
const timestampLayout = "20060102T150405Z"

// TempName is the name of a temporary snapshot or clone of drive made by
// run.
func TempName(drive, run string) string { return TempPrefix + drive + "-" + run }

// tempSource returns the source drive UUID marked in a temporary's name,
// and whether the name is such a mark. Drive UUIDs have a fixed length,
// which separates the two dash-joined parts.
func tempSource(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, TempPrefix)
	if !ok || len(rest) < 38 || rest[36] != '-' {
		return "", false
	}
	return rest[:36], true
}

// runIDLayout starts every run ID: the UTC time the run began.
const runIDLayout = "20060102T150405"

// newRunID returns a short random run identifier.
func newRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return now.UTC().Format(runIDLayout) + "-" + hex.EncodeToString(b[:])
}

// runTime returns when the run of a run ID made by newRunID began.
func runTime(run string) (time.Time, bool) {
	if len(run) < len(runIDLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(runIDLayout, run[:len(runIDLayout)])
	return t, err == nil
}

// sanitizeName turns a drive name into a file-name part: letters, digits,
// dot, dash and underscore kept, runs of anything else become one
// underscore, no leading dot or dash (hidden files, options), at most 64
// bytes. An empty result becomes "drive".
func sanitizeName(name string) string {
	var b strings.Builder
	under := false
	for _, r := range name {
		ok := r == '.' || r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
			under = false
		case !under:
			b.WriteByte('_')
			under = true
		}
	}
	s := strings.TrimLeft(b.String(), ".-_")
	if len(s) > 64 {
		s = s[:64]
	}
	s = strings.TrimRight(s, "._")
	if s == "" {
		return "drive"
	}
	return s
}

// driveDir returns the backup folder of a drive inside dir, creating it
// (mode 0700). An existing folder ending in -UUID is reused, so renaming a
// drive does not orphan its earlier backups and state; when there is none
// the folder is <sanitised name>-<uuid>.
func driveDir(dir, uuid, name string) (string, error) {
	if len(uuid) == 0 || strings.ContainsAny(uuid, `/\`) || uuid == "." || uuid == ".." {
		return "", fmt.Errorf("drive UUID %q cannot name a folder", uuid)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasSuffix(e.Name(), "-"+uuid) {
			return filepath.Join(dir, e.Name()), nil
		}
	}
	p := filepath.Join(dir, sanitizeName(name)+"-"+uuid)
	if err := os.Mkdir(p, 0o700); err != nil {
		return "", err
	}
	return p, nil
}

// newTarget picks the image name for a backup made at now in driveDir,
// adding a counter if one of that second already exists. Names sort
// by time.
func newTarget(driveDir string, now time.Time) string {
	base := now.UTC().Format(timestampLayout)
	name := base + ImageSuffix
	for i := 2; ; i++ {
		_, err1 := os.Lstat(filepath.Join(driveDir, name))
		_, err2 := os.Lstat(filepath.Join(driveDir, name+PartSuffix))
		if os.IsNotExist(err1) && os.IsNotExist(err2) {
			return name
		}
		name = fmt.Sprintf("%s_%d%s", base, i, ImageSuffix) // "_" sorts after ".", so later is later
	}
}
