package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/backup"
	"github.com/drivecp/drivecp/internal/units"
)

func newVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a backup image against its manifest, or the backups of a store, and name the bad chunks",
		ArgsUsage: "FILE | --store DIR [BACKUP]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "manifest", Usage: "the manifest to check against (default FILE" + backup.ManifestSuffix + ")"},
			&cli.StringFlag{Name: "store", Usage: "re-hash every chunk of BACKUP (default: of every backup) in this backup store"},
		},
		Action: func(c *cli.Context) error {
			if c.IsSet("store") {
				if c.NArg() > 1 || c.IsSet("manifest") {
					return usageErrorf("verify --store takes at most one BACKUP and no --manifest")
				}
				return runStoreVerify(c.Context, c.App.Writer, backupsOptions{Store: c.String("store"), ID: c.Args().First(), JSON: c.Bool(flagJSON)})
			}
			args, err := exactArgs(c, "FILE")
			if err != nil {
				return err
			}
			return runVerify(c.Context, c.App.Writer, args[0], c.String("manifest"), c.Bool(flagJSON))
		},
	}
}

// runVerify checks image against its manifest and prints OK or the bad
// chunks. A mismatch is an error (exit 1); a missing or unusable manifest
// or image is bad input (exit 2).
func runVerify(ctx context.Context, w io.Writer, image, manifest string, asJSON bool) error {
	if manifest == "" {
		manifest = backup.ManifestPath(image)
	}
	if fi, err := os.Stat(image); err != nil {
		return usageErrorf("verify: %w", err)
	} else if !fi.Mode().IsRegular() {
		return usageErrorf("verify: %s is not a regular file", image)
	}
	m, err := backup.ReadManifest(manifest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return withHint(usageErrorf("verify: no manifest %s", manifest),
			"a backup's manifest is IMAGE%s beside it; name another with --manifest", backup.ManifestSuffix)
	case err != nil:
		return usageErrorf("verify: %w", err)
	}
	rep, err := backup.Verify(ctx, image, m)
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(w, rep); err != nil {
			return err
		}
	} else if err := printVerifyReport(w, rep, m); err != nil {
		return err
	}
	if rep.OK {
		return nil
	}
	switch {
	case len(rep.Bad) > 0:
		return fmt.Errorf("%s does not match its manifest: %s", image, plural(len(rep.Bad), "bad chunk"))
	case rep.SizeMismatch():
		return fmt.Errorf("%s does not match its manifest: %d bytes, want %d", image, rep.Size, rep.WantSize)
	}
	return fmt.Errorf("%s does not match its manifest: whole-file xxh64 %s, want %s", image, rep.XXH64, m.XXH64)
}

func printVerifyReport(w io.Writer, rep backup.VerifyReport, m *backup.Manifest) error {
	if rep.OK {
		_, err := fmt.Fprintf(w, "OK %s: %s, %s of %s, xxh64 %s\n", rep.Image, units.FormatSize(rep.Size),
			plural(rep.Chunks, "chunk"), units.FormatSize(m.ChunkSize), rep.XXH64)
		return err
	}
	fmt.Fprintf(w, "BAD %s\n", rep.Image)
	if rep.SizeMismatch() {
		fmt.Fprintf(w, "size: %d bytes, the manifest says %d\n", rep.Size, rep.WantSize)
	}
	if len(rep.Bad) == 0 {
		return nil
	}
	t := newTable(w, "CHUNK", "OFFSET", "LENGTH", "PROBLEM")
	for _, b := range rep.Bad {
		problem := fmt.Sprintf("xxh64 %s, want %s", b.Got, b.Want)
		if b.Missing {
			problem = "missing (file too short)"
		}
		t.row(fmt.Sprint(b.Index), fmt.Sprint(b.Offset), fmt.Sprint(b.Length), problem)
	}
	return t.flush()
}
