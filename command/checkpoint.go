package command

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
)

func newCheckpointCommand() *cli.Command {
	return &cli.Command{
		Name:  "checkpoint",
		Usage: "list, show and remove the saved state of interrupted transfers",
		Description: "An interrupted upload or download keeps a checkpoint under $XDG_STATE_HOME/drivecp\n" +
			"(default ~/.local/state/drivecp); running the same command again resumes it.\n" +
			"IDs may be shortened to any unique prefix.",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list saved transfers, most recent first",
				Action: func(c *cli.Context) error {
					if c.NArg() != 0 {
						return usageErrorf("checkpoint list takes no arguments")
					}
					st, err := checkpointStore()
					if err != nil {
						return err
					}
					return runCheckpointList(c.App.Writer, c.App.ErrWriter, st, c.Bool(flagJSON))
				},
			},
			{
				Name:      "show",
				Usage:     "print the details of one saved transfer",
				ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("checkpoint show takes one ID, got %d", c.NArg())
					}
					st, err := checkpointStore()
					if err != nil {
						return err
					}
					return runCheckpointShow(c.App.Writer, st, c.Args().First(), c.Bool(flagJSON))
				},
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "discard saved transfers (the next run starts from the beginning)",
				ArgsUsage: "ID...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("checkpoint rm takes at least one ID")
					}
					st, err := checkpointStore()
					if err != nil {
						return err
					}
					return runCheckpointRemove(c.App.ErrWriter, st, c.Args().Slice())
				},
			},
		},
	}
}

// checkpointStore is the store upload, download and `checkpoint` share.
func checkpointStore() (*resume.Store, error) {
	dir, err := resume.DefaultDir()
	if err != nil {
		return nil, err
	}
	return &resume.Store{Dir: dir}, nil
}

// checkpointInfo is the --json form of a checkpoint: what a script needs to
// decide about it, never the per-chunk hashes.
type checkpointInfo struct {
	ID         string            `json:"id"`
	Direction  string            `json:"direction"`
	API        string            `json:"api"`
	Endpoint   string            `json:"endpoint"`
	Drive      string            `json:"drive,omitempty"`
	LocalPath  string            `json:"local_path"`
	ChunkSize  int64             `json:"chunk_size"`
	Size       int64             `json:"size"`
	ModTime    *time.Time        `json:"mod_time,omitempty"`
	DoneChunks int               `json:"done_chunks"`
	Chunks     int               `json:"chunks"`
	DoneBytes  int64             `json:"done_bytes"`
	Percent    float64           `json:"percent"`
	Extra      map[string]string `json:"extra,omitempty"`
	Created    time.Time         `json:"created"`
	Updated    time.Time         `json:"updated"`
}

func infoOf(c *resume.Checkpoint) checkpointInfo {
	done := c.DoneCount()
	in := checkpointInfo{
		ID: c.ID(), Direction: c.Key.Direction, API: c.Key.API, Endpoint: c.Key.Endpoint,
		Drive: checkpointDrive(c), LocalPath: c.Key.LocalPath, ChunkSize: c.Key.ChunkSize,
		Size: c.FileSize, DoneChunks: done, Chunks: c.Total, DoneBytes: doneBytes(c),
		Extra: c.Extra, Created: c.Created, Updated: c.Updated,
	}
	if !c.ModTime.IsZero() {
		t := c.ModTime
		in.ModTime = &t
	}
	if c.Total > 0 {
		in.Percent = float64(done) * 100 / float64(c.Total)
	}
	return in
}

// checkpointDrive is the drive a checkpoint is about: the key's, or the one
// an upload created and recorded in Extra.
func checkpointDrive(c *resume.Checkpoint) string {
	if c.Key.Drive != "" {
		return c.Key.Drive
	}
	return c.Extra[session.ExtraDrive]
}

// doneBytes estimates the bytes of the done chunks from the fixed-size
// plan: every chunk is ChunkSize long except the last, which holds the
// rest (how both plan shapes end, merged tail or not).
func doneBytes(c *resume.Checkpoint) int64 {
	if c.Total == 0 {
		return 0
	}
	var n int64
	for i := range c.Total {
		if _, ok := c.IsDone(i); !ok {
			continue
		}
		if i == c.Total-1 {
			n += c.FileSize - int64(c.Total-1)*c.Key.ChunkSize
		} else {
			n += c.Key.ChunkSize
		}
	}
	return max(n, 0)
}

func runCheckpointList(stdout, stderr io.Writer, st *resume.Store, asJSON bool) error {
	cs, err := st.List()
	// Unreadable files are reported, not fatal: the readable ones are what
	// the user came for, and `checkpoint rm` clears the others.
	if err != nil {
		var warned bool
		for _, e := range unwrapJoined(err) {
			var le *resume.LoadError
			if errors.As(e, &le) {
				warned = true
				fmt.Fprintf(stderr, "drivecp: warning: checkpoint %s is unreadable (%v); remove it with 'drivecp checkpoint rm %s'\n",
					le.ID, describeLoadError(le.Err), le.ID)
			}
		}
		if !warned {
			return err
		}
	}
	if asJSON {
		infos := make([]checkpointInfo, 0, len(cs))
		for _, c := range cs {
			infos = append(infos, infoOf(c))
		}
		return printJSON(stdout, infos)
	}
	if len(cs) == 0 {
		_, err := fmt.Fprintln(stderr, "drivecp: no saved transfers")
		return err
	}
	t := newTable(stdout, "ID", "DIRECTION", "API", "DRIVE", "LOCAL PATH", "DONE", "%", "UPDATED")
	for _, c := range cs {
		in := infoOf(c)
		drive := in.Drive
		if drive == "" {
			drive = "-"
		}
		t.row(in.ID, in.Direction, in.API, drive, in.LocalPath,
			fmt.Sprintf("%d/%d", in.DoneChunks, in.Chunks), fmt.Sprintf("%.1f", in.Percent),
			in.Updated.Local().Format("2006-01-02 15:04:05"))
	}
	return t.flush()
}

// unwrapJoined returns the errors an errors.Join holds, or err itself.
func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// describeLoadError shortens a load failure to its kind for a warning.
func describeLoadError(err error) string {
	switch {
	case errors.Is(err, resume.ErrVersion):
		return "written by another drivecp version"
	case errors.Is(err, resume.ErrCorrupt):
		return "truncated or damaged"
	}
	return err.Error()
}

// resolveCheckpoint turns an ID or unique prefix into a full ID, with exit
// codes for the user's mistakes: 2 for a malformed or ambiguous ID, 4 for
// none.
func resolveCheckpoint(st *resume.Store, prefix string) (string, error) {
	id, err := st.Resolve(prefix)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", withHint(fmt.Errorf("checkpoint %s: %w", prefix, providers.ErrNotFound), "'drivecp checkpoint list' shows the saved transfers")
	case errors.Is(err, resume.ErrBadID):
		return "", usageErrorf("%q is not a checkpoint ID (16 hex digits, or a prefix of them)", prefix)
	case err != nil:
		return "", usageErrorf("%w", err)
	}
	return id, nil
}

func runCheckpointShow(w io.Writer, st *resume.Store, prefix string, asJSON bool) error {
	id, err := resolveCheckpoint(st, prefix)
	if err != nil {
		return err
	}
	c, err := st.Load(id)
	if err != nil {
		return session.LoadError(id, err)
	}
	in := infoOf(c)
	if asJSON {
		return printJSON(w, in)
	}
	t := newTable(w, "FIELD", "VALUE")
	t.row("id", in.ID)
	t.row("direction", in.Direction)
	t.row("api", in.API)
	t.row("endpoint", in.Endpoint)
	if in.Drive != "" {
		d := in.Drive
		if in.Extra[session.ExtraCreated] == "true" {
			d += " (created by the upload)"
		}
		t.row("drive", d)
	}
	t.row("local path", in.LocalPath)
	t.row("size", fmt.Sprintf("%s (%d bytes)", units.FormatSize(in.Size), in.Size))
	if in.ModTime != nil {
		t.row("source modified", in.ModTime.Local().Format(time.RFC3339))
	}
	t.row("chunk size", units.FormatSize(in.ChunkSize))
	t.row("done", fmt.Sprintf("%d of %d chunks (%.1f%%, %s)", in.DoneChunks, in.Chunks, in.Percent, units.FormatSize(in.DoneBytes)))
	for _, k := range slices.Sorted(maps.Keys(in.Extra)) {
		v := in.Extra[k]
		if k == session.ExtraCreated || k == session.ExtraDrive && in.Drive == v {
			continue // shown with the drive
		}
		t.row(strings.ReplaceAll(k, "_", " "), v)
	}
	t.row("created", in.Created.Local().Format(time.RFC3339))
	t.row("updated", in.Updated.Local().Format(time.RFC3339))
	return t.flush()
}

func runCheckpointRemove(stderr io.Writer, st *resume.Store, prefixes []string) error {
	// Resolve every ID before removing any, so a typo removes nothing.
	ids := make([]string, 0, len(prefixes))
	for _, p := range prefixes {
		id, err := resolveCheckpoint(st, p)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		// A transfer still running would write the checkpoint again.
		unlock, err := st.Lock(id)
		if errors.Is(err, resume.ErrLocked) {
			return withHint(usageErrorf("checkpoint %s: a drivecp process is running this transfer", id),
				"stop it first (Ctrl-C saves its progress), then remove the checkpoint")
		}
		if err != nil {
			return err
		}
		err = st.Remove(id)
		_ = unlock()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		fmt.Fprintf(stderr, "drivecp: removed checkpoint %s\n", id)
	}
	return nil
}
