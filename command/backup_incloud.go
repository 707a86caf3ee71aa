package command

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/internal/atomicfile"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
)

// runInCloudBackup is `backup` on a cloud whose backups stay in the cloud
// (snapshots or images): the same selection flags and --keep, no --dir.
func runInCloudBackup(c *cli.Context, p *providers.Provider) error {
	if c.IsSet("dir") {
		return withHint(usageErrorf("%s keeps backups in the cloud as %ss: --dir does not apply", p.Cloud, p.Features.Backup),
			"drop --dir; nothing is downloaded on %s", p.Cloud)
	}
	if c.Int("keep") < 0 {
		return usageErrorf("--keep must not be negative")
	}
	ids, err := inCloudSelection(c, p)
	if err != nil {
		return err
	}
	madePath, made, err := loadMade(p)
	if err != nil {
		return err
	}
	wo := waitOptionsFrom(c)
	wo.Timeout = c.Duration(flagTimeout)
	o := backup.InCloudOptions{Drives: ids, Keep: c.Int("keep"), Made: made,
		WaitSnapshot: func(ctx context.Context, s providers.Snapshot) (providers.Snapshot, error) {
			return waitSnapshot(ctx, p.Snapshots, s, wo)
		},
		WaitImage: func(ctx context.Context, i providers.Image) (providers.Image, error) { return waitImage(ctx, p, i, wo) },
	}
	results, runErr := backup.InCloud(c.Context, p, o)
	for _, r := range results {
		if r.Made != (backup.Made{}) {
			made[r.Made] = true
		}
		for _, k := range r.Forgotten {
			delete(made, k)
		}
	}
	if err := saveMade(madePath, made); err != nil {
		return fmt.Errorf("recording the backups made: %w", err)
	}
	if c.Bool(flagJSON) {
		if err := printJSON(c.App.Writer, map[string]any{"cloud": p.Cloud, "kind": p.Features.Backup, "downloaded": false,
			"drives": results}); err != nil {
			return err
		}
	} else {
		t := newTable(c.App.Writer, "DRIVE", "TARGET", "KIND", "ID", "NAME", "DELETED", "ERROR")
		for _, r := range results {
			t.row(r.Drive, dash(r.Target), r.Kind, dash(r.ID), dash(r.Name), dash(strings.Join(r.Deleted, ",")), dash(oneLine(r.Error)))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if !c.Bool(flagQuiet) {
		fmt.Fprintf(c.App.ErrWriter, "drivecp: note: %s has no byte path: the backups are %ss kept in the cloud; no image was downloaded\n",
			p.Cloud, p.Features.Backup)
	}
	return runErr
}

// inCloudSelection returns the drives the arguments name: IDs, --all or
// --tag.
func inCloudSelection(c *cli.Context, p *providers.Provider) ([]string, error) {
	ids, all, tags := dedupe(c.Args().Slice()), c.Bool("all"), nonEmpty(c.StringSlice("tag"))
	modes := 0
	for _, set := range []bool{len(ids) > 0, all, len(tags) > 0} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return nil, withHint(usageErrorf("name the drives to back up: drive IDs, --all or --tag (one of them)"),
			"run 'drivecp backup --help'")
	}
	if len(ids) > 0 {
		return ids, nil
	}
	list, err := p.Drives.ListDrives(c.Context, providers.DriveFilter{Tags: tags})
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		// Filtered here too: a cloud that does not filter by tag must not
		// turn --tag into --all.
		if len(tags) == 0 || slices.ContainsFunc(d.Tags, func(t string) bool { return slices.Contains(tags, t) }) {
			ids = append(ids, d.UUID)
		}
	}
	if len(ids) == 0 {
		return nil, usageErrorf("no %s to back up", p.Features.DriveNoun)
	}
	return ids, nil
}

// The backups drivecp made on a cloud are recorded in the state folder
// (0600; IDs and the names the cloud gave them, nothing else), so that
// retention and the replacement of a cloud's one snapshot per server
// recognise them even where the API does not keep the name drivecp gave.

func loadMade(p *providers.Provider) (string, map[backup.Made]bool, error) {
	dir, err := resume.DefaultDir()
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "backups-"+p.Cloud+"-"+strings.NewReplacer(":", "_", "/", "_").Replace(p.Endpoint)+".json")
	made := map[backup.Made]bool{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, made, nil
	case err != nil:
		return "", nil, err
	}
	var recs []backup.Made
	if err := json.Unmarshal(b, &recs); err != nil {
		return "", nil, fmt.Errorf("%s: %w (remove it to start a new record)", path, err)
	}
	for _, r := range recs {
		made[r] = true
	}
	return path, made, nil
}

func saveMade(path string, made map[backup.Made]bool) error {
	recs := slices.SortedFunc(maps.Keys(made), func(a, b backup.Made) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.Name, b.Name))
	})
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, b, atomicfile.Options{})
}
