package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/internal/safename"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// DownloadOptions describe one download of a drive into a file.
type DownloadOptions struct {
	// Env holds the checkpoint store, Restart and where notes go.
	Env
	// Mode chooses the transfer path: Offset reads (through Offset),
	// Chunked parallel ranges or Single one stream (through Chunked).
	Mode    Mode
	Offset  OffsetAPI
	Chunked ChunkedAPI
	// Endpoint names the cloud's endpoint in checkpoint keys.
	Endpoint string
	// Drive is the drive to download, looked up first; Known, when set,
	// is the drive as the caller knows it, and no lookup is made.
	Drive string
	Known *providers.Drive
	// Out is the file to write (through Out.part). With RemoteName it is
	// empty and the file is named as the cloud suggests (Chunked and
	// Single modes), in the current folder.
	Out        string
	RemoteName bool
	// Force replaces an existing Out.
	Force bool
	// ChunkSize is the size of the pieces; an offset download caps it at
	// the API's largest read.
	ChunkSize int64
	// Engine are the transfer engine's options; Meta is the retry policy
	// of the requests around the transfer.
	Engine transfer.Options
	Meta   transfer.Options
	// Progress starts the progress display; nil shows none.
	Progress ProgressFunc
	// Explain adds what the command knows to the failure of a request to
	// the cloud; nil leaves errors as they are.
	Explain func(error) error
	// CheckOutput, when set, vets the output file once it is named (with
	// RemoteName, only after the cloud was asked).
	CheckOutput func(out string) error
	// FallbackNotes says on stderr (unless Quiet) when a ranged download
	// turns into one stream because the server ignores Range.
	FallbackNotes bool
	// Hashes collects every chunk's hash (DownloadResult.ChunkHashes).
	Hashes bool
}

// Download is a download prepared to run: the drive looked up, the file
// named and locked, the checkpoint loaded and checked. Run it, then Close
// it once the result is out.
type Download struct {
	o      DownloadOptions
	drive  providers.Drive
	out    string
	chunk  int64
	pieces []chunker.Piece
	single bool
	offset transfer.OffsetSource
	ranged *transfer.RangedSource
	sess   *Session
	hashes []uint64
}

func (o *DownloadOptions) explain(err error) error {
	if o.Explain == nil || err == nil {
		return err
	}
	return o.Explain(err)
}

// PrepareDownload looks the drive up (a drive that is gone while a
// checkpoint of its download remains says how to discard it), names and
// vets the output, and opens the checkpoint session, which locks
// FILE.part and checks the chunks already in it. The caller must Close
// the result.
func PrepareDownload(ctx context.Context, o DownloadOptions) (*Download, error) {
	d := &Download{o: o, out: o.Out, chunk: o.ChunkSize}
	if o.Known != nil {
		d.drive = *o.Known
	} else {
		drives := o.Offset.DriveService
		if o.Mode != Offset {
			drives = o.Chunked.DriveService
		}
		err := transfer.Do(ctx, o.Meta, "drive lookup", 0, func(ctx context.Context) (err error) {
			d.drive, err = drives.GetDrive(ctx, o.Drive)
			return err
		})
		if err != nil {
			return nil, o.explain(o.Env.goneDriveHint(err, o.Drive, o.Out))
		}
	}
	api := resume.APIv2
	if o.Mode == Offset {
		api = resume.APIv1
		d.offset = transfer.OffsetSource{R: o.Offset, Drive: d.drive.UUID}
		// The plan DownloadFile makes: chunks capped at the source's
		// largest read.
		if m := d.offset.MaxPiece(); m > 0 {
			d.chunk = min(d.chunk, m)
		}
	} else if err := d.prepareRanged(ctx); err != nil {
		return nil, err
	}
	d.pieces = chunker.Plan(d.drive.Size, d.chunk, false)
	key := resume.Key{API: api, Endpoint: o.Endpoint, Drive: d.drive.UUID, LocalPath: d.out, ChunkSize: d.chunk}
	sess, err := o.Env.OpenDownload(ctx, key, d.drive.Size, d.pieces, o.Engine.Concurrency)
	if err != nil {
		return nil, err
	}
	d.sess = sess
	if o.Hashes {
		d.hashes = make([]uint64, len(d.pieces))
	}
	return d, nil
}

// prepareRanged readies a download through transfer URLs: without
// RemoteName nothing is asked before the transfer (the first ranges tell
// whether the server honours Range, and one round trip less matters on
// small drives); with it, the cloud is asked for the file's name first.
func (d *Download) prepareRanged(ctx context.Context) error {
	o := &d.o
	d.ranged = transfer.NewRangedSource(o.Chunked, d.drive.UUID)
	info := transfer.RangeInfo{Ranges: true, Total: -1}
	if o.RemoteName {
		err := transfer.Do(ctx, o.Meta, "download request", 0, func(ctx context.Context) (err error) {
			info, err = d.ranged.Probe(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("download drive %s: %w", d.drive.UUID, o.explain(err))
		}
	}
	if info.Total >= 0 && info.Total != d.drive.Size {
		return fmt.Errorf("download drive %s: the server offers %d bytes of a %d-byte drive", d.drive.UUID, info.Total, d.drive.Size)
	}
	if o.RemoteName {
		d.out = RemoteFileName(info.Name, d.drive.UUID)
		o.notef("saving drive %s as %s", d.drive.UUID, d.out)
	}
	if o.CheckOutput != nil {
		if err := o.CheckOutput(d.out); err != nil {
			return err
		}
	}
	d.single = o.Mode == Single
	if !info.Ranges && !d.single {
		d.single = true
		if o.FallbackNotes {
			o.notef("the download server ignores Range requests: downloading as one stream")
		}
	}
	return nil
}

// Drive is the drive being downloaded.
func (d *Download) Drive() providers.Drive { return d.drive }

// Out is the file the download writes.
func (d *Download) Out() string { return d.out }

// Offset is the offset source of an Offset download, for verification.
func (d *Download) Offset() transfer.OffsetSource { return d.offset }

// Ranged is the source of a Chunked or Single download, for verification.
func (d *Download) Ranged() *transfer.RangedSource { return d.ranged }

// ChunkHashes are the hashes of the drive's chunks (with Hashes): those
// done by an earlier run from the checkpoint, the rest as they arrive.
func (d *Download) ChunkHashes() []uint64 { return d.hashes }

// ChunkSize is the size of the download's chunks.
func (d *Download) ChunkSize() int64 { return d.chunk }

// Run transfers the drive into the file and finishes the session with the
// outcome (see Session.Finish), except for transfer.ErrExists (the file
// exists and Force is off), which it returns as it is.
func (d *Download) Run(ctx context.Context) (transfer.Summary, error) {
	o := &d.o
	eo := o.Engine
	d.sess.Attach(&eo, d.pieces)
	if d.hashes != nil {
		d.collectHashes(&eo)
	}
	rec := o.Env.newRecorder(o.Endpoint, d.drive.Size, d.chunk, driverecord.FromDownload)
	rec.bind(d.drive, false)
	rec.attach(&eo, d.pieces)
	var done func()
	if o.Progress != nil {
		eo.Progress, done = o.Progress(d.drive.Size, "download")
	}
	size := d.drive.Size
	fo := transfer.FileOptions{Force: o.Force, ChunkSize: d.chunk, Resume: d.sess.Resumed()}
	var (
		sum transfer.Summary
		err error
	)
	switch {
	case o.Mode == Offset:
		sum, err = transfer.DownloadFile(ctx, d.offset, size, d.out, fo, eo)
	case d.single:
		sum, err = transfer.StreamFile(ctx, d.ranged, size, d.out, fo, eo)
	default:
		sum, err = transfer.DownloadSegments(ctx, d.ranged, size, d.out, fo, eo)
		if errors.Is(err, transfer.ErrRangeIgnored) {
			if o.FallbackNotes {
				o.notef("the download server ignores Range requests: continuing as one stream")
			}
			d.single = true
			sum, err = transfer.StreamFile(ctx, d.ranged, size, d.out, fo, eo)
		}
	}
	if done != nil {
		done()
	}
	if errors.Is(err, transfer.ErrExists) {
		return sum, err
	}
	if err = d.sess.Finish(ctx, err); err == nil {
		rec.save()
	}
	return sum, err
}

// collectHashes records every chunk's hash as the engine acknowledges it,
// beside the checkpoint's own recording; those of an earlier run come
// from the checkpoint.
func (d *Download) collectHashes(eo *transfer.Options) {
	for i := range d.pieces {
		if h, ok := eo.Done.IsDone(i); ok {
			d.hashes[i] = h
		}
	}
	record, recordZero := eo.OnChunkDone, eo.OnChunkZero
	eo.OnChunkDone = func(i int, h uint64) {
		d.hashes[i] = h // each index is written by one worker, once
		if record != nil {
			record(i, h)
		}
	}
	eo.OnChunkZero = func(i int, h uint64) {
		d.hashes[i] = h
		if recordZero != nil {
			recordZero(i, h)
		}
	}
}

// Close ends the session: after a successful Run it removes the
// checkpoint. Call it once the result is out. Safe on nil and more than
// once.
func (d *Download) Close() error {
	if d == nil || d.sess == nil {
		return nil
	}
	return d.sess.Close()
}

// RemoteFileName turns the name the server suggested into a plain file
// name in the current folder (safename.FileName), or names the file after
// the drive when nothing usable is left.
func RemoteFileName(suggested, drive string) string {
	if name, err := safename.FileName(suggested); err == nil {
		return name
	}
	return drive + ".img"
}

// goneDriveHint explains a drive lookup that found no drive while the
// checkpoint of an earlier download of it (into out, or anywhere when out
// is "" as when the file is named by the cloud) remains: that saved
// progress can never be used, and the hint names the command that
// discards it. Other errors pass as they are.
func (e Env) goneDriveHint(err error, drive, out string) error {
	if !errors.Is(err, providers.ErrNotFound) || e.Store == nil {
		return err
	}
	cs, _ := e.Store.List() // unreadable checkpoints are not this hint's business
	abs := ""
	if out != "" {
		var absErr error
		if abs, absErr = AbsPath(out); absErr != nil {
			return err
		}
	}
	var ids []string
	for _, c := range cs {
		if c.Key.Direction == resume.Download && c.Key.Drive == drive && (abs == "" || c.Key.LocalPath == abs) {
			ids = append(ids, c.ID())
		}
	}
	if len(ids) == 0 {
		return err
	}
	return failure.WithHint(err, "the drive is gone, so the saved progress of its download is of no use: discard it with 'drivecp checkpoint rm %s'",
		strings.Join(ids, " "))
}
