package command

import (
	"context"
	"fmt"
	"io"

	"github.com/drivecp/drivecp/backupstore"
	"github.com/drivecp/drivecp/internal/units"
)

// storeVerifyResult is `verify --store --json`.
type storeVerifyResult struct {
	Backups []backupstore.VerifyReport `json:"backups"`
	OK      bool                       `json:"ok"`
}

// runStoreVerify re-hashes every chunk of one backup (o.ID) or of all, and
// prints OK or the bad chunks with their files. A bad backup is an error
// (exit 1).
func runStoreVerify(ctx context.Context, w io.Writer, o backupsOptions) error {
	st, err := openStore(ctx, o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	var list []*backupstore.Manifest
	if o.ID != "" {
		m, err := st.Load(o.ID)
		if err != nil {
			return storeNotFound(err, o.Store)
		}
		list = append(list, m)
	} else if list, err = st.List(); err != nil {
		return err
	}
	res := storeVerifyResult{Backups: []backupstore.VerifyReport{}, OK: true}
	bad := 0
	for _, m := range list {
		rep, err := st.Verify(ctx, m)
		if err != nil {
			return fmt.Errorf("verify %s: %w", m.ID, err)
		}
		res.Backups = append(res.Backups, rep)
		if !rep.OK() {
			res.OK = false
			bad++
		}
		if o.JSON {
			continue
		}
		if rep.OK() {
			fmt.Fprintf(w, "OK %s: %s, %s, SHA-256 %s\n", m.ID, units.FormatSize(m.Size), plural(rep.Chunks, "stored chunk"), m.SHA256)
			continue
		}
		fmt.Fprintf(w, "BAD %s\n", m.ID)
		if len(rep.Bad) == 0 {
			fmt.Fprintf(w, "the chunks do not hash to the image's SHA-256 %s\n", m.SHA256)
			continue
		}
		t := newTable(w, "CHUNK", "OFFSET", "FILE", "PROBLEM")
		for _, b := range rep.Bad {
			t.row(fmt.Sprint(b.Index), fmt.Sprint(int64(b.Index)*m.ChunkSize), b.Path, b.Error)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if o.JSON {
		if err := printJSON(w, res); err != nil {
			return err
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s of %d in %s damaged (see above)", plural(bad, "backup"), len(list), o.Store)
	}
	if len(list) == 0 && !o.JSON {
		_, err := fmt.Fprintf(w, "no backups in %s\n", o.Store)
		return err
	}
	return nil
}
