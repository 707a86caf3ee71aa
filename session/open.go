package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// ExtraFormat is the checkpoint key recording the format an upload read
// its image as: the same file read as qcow2 and as raw plans different
// bytes, so a checkpoint of one must not resume the other.
const ExtraFormat = "format"

// Env is what the sessions of one command share: where checkpoints live,
// whether to discard them (--restart), and where notes go.
type Env struct {
	Store *resume.Store
	// Restart discards any checkpoint and starts over.
	Restart bool
	// Stderr receives notes and warnings; nil discards them.
	Stderr io.Writer
	// Quiet drops the informational notes (not the warnings).
	Quiet bool
	// Records, when set, learns what a successful transfer leaves a drive
	// holding (see driverecord), under Cloud and the transfer's endpoint.
	Records *driverecord.Store
	Cloud   string
}

func (e Env) stderr() io.Writer {
	if e.Stderr == nil {
		return io.Discard
	}
	return e.Stderr
}

// notef prints an informational line on stderr unless Quiet.
func (e Env) notef(format string, args ...any) {
	if !e.Quiet {
		fmt.Fprintf(e.stderr(), "drivecp: "+format+"\n", args...)
	}
}

// warnf prints a warning on stderr, even when Quiet.
func (e Env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr(), "drivecp: warning: "+format+"\n", args...)
}

// AbsPath is path made absolute and clean, the form checkpoint keys use.
func AbsPath(path string) (string, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return filepath.Clean(p), nil
}

// open opens the session of key (its local path made absolute) with total
// pieces.
func (e Env) open(key resume.Key, total int) (*Session, error) {
	abs, err := AbsPath(key.LocalPath)
	if err != nil {
		return nil, err
	}
	key.LocalPath = abs
	return Open(Config{Store: e.Store, Key: key, Total: total, Restart: e.Restart, Stderr: e.Stderr, Quiet: e.Quiet})
}

// UploadNames are the drive an upload writes as the user gave it.
type UploadNames struct {
	// Drive is the existing drive the upload writes into (--drive), or ""
	// when the upload creates its drive.
	Drive string
	// Name is the new drive's name: the one given, or the image's base
	// name. NameSet says it was given (--name).
	Name    string
	NameSet bool
}

// OpenUpload opens the session of an upload keyed by key (Drive as
// names.Drive), total pieces, of the image whose fingerprint is src, and
// checks that the image is still the one an earlier run was sending.
//
// A rerun must be the command that was interrupted: one whose --name,
// --drive, --api or --chunk-size contradicts the checkpoint is refused
// (a usage error, hint --restart) before anything is sent, where carrying
// on would pick one of the two silently (the drive of the interrupted run,
// or a second drive beside it).
func (e Env) OpenUpload(key resume.Key, src resume.Source, total int, names UploadNames) (*Session, error) {
	key.Direction, key.Drive = resume.Upload, names.Drive
	if err := e.OtherAPIUpload(key); err != nil {
		return nil, err
	}
	s, err := e.open(key, total)
	if err != nil {
		return nil, err
	}
	err = s.CheckSource(src)
	if err == nil {
		err = s.checkUploadOptions(names)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// uploadNameSum is the digest recorded as ExtraNameSum for the drive name
// name.
func uploadNameSum(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:8])
}

// checkUploadOptions records, on a first run, the name of the drive the
// upload creates; on a rerun it refuses a --name other than that one, and
// the lack of the --drive the interrupted run was writing into. (Another
// --drive or --chunk-size is refused by resume.Checkpoint.CheckKey.) A
// rerun without --name is the same command.
func (s *Session) checkUploadOptions(n UploadNames) error {
	if !s.resumed {
		if n.Drive == "" {
			s.saver.Update(func(c *resume.Checkpoint) { c.Extra[ExtraNameSum] = uploadNameSum(n.Name) })
		}
		return nil
	}
	var into, sum string
	s.saver.View(func(c *resume.Checkpoint) {
		if c.Extra[ExtraCreated] != "true" {
			into = c.Key.Drive
		}
		sum = c.Extra[ExtraNameSum]
	})
	switch {
	case into != "" && n.Drive == "":
		return s.changedError(fmt.Errorf("%w: the interrupted upload was writing into --drive %s (add it to continue), this run creates a drive",
			resume.ErrChanged, into))
	case n.NameSet && sum != "" && uploadNameSum(n.Name) != sum:
		what := "was creating its drive"
		if d := s.Extra(ExtraDrive); d != "" {
			what = "created drive " + d
		}
		return s.changedError(fmt.Errorf("%w: the interrupted upload %s with another name than --name %q", resume.ErrChanged, what, n.Name))
	}
	return nil
}

// CheckFormat records in the checkpoint the format the image at path is
// read as, or on a resume refuses a checkpoint made reading it as another
// (a checkpoint from before formats were recorded was a raw upload).
func (s *Session) CheckFormat(path, format string) error {
	if !s.Resumed() {
		return s.Record(map[string]string{ExtraFormat: format})
	}
	was, ok := s.extraValue(ExtraFormat)
	if !ok {
		was = string(imagefmt.Raw)
	}
	if was != format {
		return failure.WithHint(failure.Usagef("cannot resume: %s was uploaded as %s, and is now read as %s", path, was, format),
			"run it as before (with or without --force-raw), or add --restart to start over")
	}
	return nil
}

// ExtraBacking is the checkpoint key recording a digest of a qcow2 image's
// backing chain (Image.backingFingerprint).
const ExtraBacking = "backing"

// CheckBacking records the digest of img's backing chain in a new
// checkpoint, and refuses to resume one whose chain changed: the chunks
// already sent came from the old backing files.
func (s *Session) CheckBacking(img Image) error {
	now := img.backingFingerprint()
	if !s.Resumed() {
		if now == "" {
			return nil
		}
		return s.Record(map[string]string{ExtraBacking: now})
	}
	if was, _ := s.extraValue(ExtraBacking); was != now {
		return failure.WithHint(failure.Usagef("cannot resume: a backing file of %s changed since the interrupted run", img.Path),
			"add --restart to upload it again from the start")
	}
	return nil
}

// OpenDownload opens the session of a download keyed by key (the drive,
// the output file as LocalPath, the chunk size) of a drive of size bytes
// planned as pieces, checks the drive did not change size, and on a resume
// checks the chunks already in FILE.part with concurrency readers. Pass
// s.Resumed() on as transfer.FileOptions.Resume.
//
// Before anything else it locks FILE.part (LockOutput), so that no other
// run, of this drive or another, writes there until Close: checkpoint
// locks alone are per transfer, and two downloads of different drives into
// one file have different checkpoints.
func (e Env) OpenDownload(ctx context.Context, key resume.Key, size int64, pieces []chunker.Piece, concurrency int) (*Session, error) {
	unlockPart, err := LockOutput(key.LocalPath)
	if err != nil {
		return nil, err
	}
	key.Direction = resume.Download
	s, err := e.open(key, len(pieces))
	if err != nil {
		_ = unlockPart()
		return nil, err
	}
	s.unlockPart = unlockPart
	err = s.CheckDrive(size)
	if err == nil {
		err = s.CheckPart(ctx, transfer.PartPath(s.cfg.Key.LocalPath), pieces, concurrency)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}
