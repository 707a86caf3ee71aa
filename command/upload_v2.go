package command

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// uploadFinishTimeout bounds the wait, after the last chunk, for the drive
// to leave `uploading`: the API assembles the drive asynchronously.
const uploadFinishTimeout = 10 * time.Minute

// runUploadV2 is `drivecp upload` over API 2.0: the chunked, resumable
// protocol with the transfer engine, or with --single the one-request direct
// upload. in is the opened image, with random access (raw or qcow2).
func runUploadV2(c *cli.Context, ts *transferSettings, in *imageInput) error {
	path, size := in.path, in.size
	if c.Bool(flagAssumeZeroed) {
		return usageErrorf("--assume-zeroed applies to --api v1 only: API 2.0 uploads send every chunk")
	}
	if c.Bool(flagSingle) && c.IsSet(flagUploadDrive) {
		return withHint(usageErrorf("--single creates a new drive and cannot continue one"),
			"drop --single to continue an interrupted chunked upload with --drive")
	}
	meta := metaRetry(ts.opts)
	cl, err := newTransferClients(c, ts.opts.Concurrency, meta)
	if err != nil {
		return err
	}
	name := c.String(flagUploadName)
	if name == "" {
		name = filepath.Base(path)
	}
	var (
		drive providers.Drive
		sum   transfer.Summary
	)
	allocated := allocatedBytes(in)
	verb := uploadVerb(in, allocated)
	if c.Bool(flagSingle) {
		// pieces is declared alone so that the result below lands in the
		// function's err, which the check after the if reads: a `:=` here
		// once shadowed it and a failed single upload exited 0.
		var pieces []chunker.Piece
		if pieces, err = planInput(in, chunker.DefaultChunkSize, false); err != nil {
			return err
		}
		// It keeps no checkpoint, but must not start a drive beside the
		// one an interrupted chunked upload of the image left.
		single := resume.Key{Direction: resume.Upload, API: resume.APIv2Single, Endpoint: cl.endpointHost, LocalPath: path, ChunkSize: ts.chunkSize}
		var env session.Env
		if env, err = sessionEnv(c); err != nil {
			return err
		}
		if err = env.OtherAPIUpload(single); err != nil {
			return err
		}
		noteSparseV2(c, pieces, size)
		drive, sum, err = uploadSingleV2(c, cl, ts, meta, verb, name, in.at, size)
	} else {
		var (
			pieces []chunker.Piece
			sess   *session.Session
		)
		if pieces, err = planInput(in, ts.chunkSize, true); err != nil {
			return err
		}
		noteSparseV2(c, pieces, size)
		sess, err = openUploadSession(c, cl.endpointHost, resume.APIv2, path, in.file, ts.chunkSize, len(pieces), c.String(flagUploadDrive))
		if err != nil {
			return err
		}
		// Deferred here, not in uploadChunkedV2, so that the checkpoint
		// goes only once the UUID is printed: a run killed before that
		// leaves a complete checkpoint, and its rerun prints the same
		// drive instead of creating a second one.
		defer sess.Close()
		if err := checkFormat(sess, in); err != nil {
			return err
		}
		drive, sum, err = uploadChunkedV2(c, cl, ts, meta, verb, sess, pieces, name, path, in.at, size)
	}
	if err != nil {
		return err
	}
	if ts.verify {
		if err := verifyRemoteV2(c, in.at, size, transfer.NewRangedSource(cl.v2, drive.UUID), ts); err != nil {
			return fmt.Errorf("drive %s: %w", drive.UUID, err)
		}
	}
	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, newUploadResult(drive.UUID, in, size, allocated, sum, ts.verify))
	}
	_, err = fmt.Fprintln(c.App.Writer, drive.UUID)
	return err
}

// noteSparseV2 tells, unless --quiet, that an image of which pieces show a
// quarter or more to be holes costs an API 2.0 upload that much more: its
// protocols carry every byte, where API 1.0 writes skip zero chunks of a new
// drive (and gzip the rest).
func noteSparseV2(c *cli.Context, pieces []chunker.Piece, size int64) {
	var holes int64
	for _, p := range pieces {
		if p.Hole {
			holes += p.Length
		}
	}
	if c.Bool(flagQuiet) || holes < size/4 {
		return
	}
	fmt.Fprintf(c.App.ErrWriter, "drivecp: note: %s of this %s image are holes, which an API 2.0 upload must send as zeros; "+
		"--api v1 skips them (and gzips the rest)\n", units.FormatSize(holes), units.FormatSize(size))
}

// uploadChunkedV2 uploads img, planned as pieces, in numbered chunks into a
// drive made by /initupload/, the one --drive names, or the one an
// interrupted run of the same upload was writing (from the checkpoint of
// sess). It finishes sess but leaves closing it, which removes the
// checkpoint after success, to the caller, once the result is out.
func uploadChunkedV2(c *cli.Context, cl *clients, ts *transferSettings, meta transfer.Options, verb string, sess *session.Session,
	pieces []chunker.Piece, name, path string, img io.ReaderAt, size int64) (providers.Drive, transfer.Summary, error) {
	ctx := c.Context
	var (
		sum transfer.Summary
		err error
	)
	driveID := c.String(flagUploadDrive)

	getDrive := func(ctx context.Context, id string) (d providers.Drive, err error) {
		err = transfer.Do(ctx, meta, "drive lookup", 0, func(ctx context.Context) error {
			d, err = cl.v2.GetDrive(ctx, id)
			return err
		})
		return d, unreachableHint(err)
	}
	var drive providers.Drive
	if driveID != "" {
		if drive, err = getDrive(ctx, driveID); err != nil {
			return drive, sum, err
		}
		if err := checkResumableDrive(drive, path, size); err != nil {
			return drive, sum, err
		}
	} else {
		drive, err = sess.UploadTarget(ctx, getDrive, &session.Creation{API: "v2", Name: name, Size: size,
			What: "upload initialisation", Retry: meta,
			Create: func(ctx context.Context) (providers.Drive, error) { return cl.v2.InitUpload(ctx, name, size) },
			Drives: func(ctx context.Context) ([]providers.Drive, error) {
				return cl.v2.ListDrives(ctx, providers.DriveFilter{Names: []string{name}})
			},
		})
		if err != nil {
			return drive, sum, unreachableHint(err)
		}
		if drive.Size != size {
			return drive, sum, fmt.Errorf("drive %s was created with %d bytes for a %d-byte image: %w", drive.UUID, drive.Size, size, providers.ErrNotCloudSigma)
		}
	}

	// The identifier an earlier run used must be used again, or the server
	// may not recognise its chunks.
	id := sess.Extra(session.ExtraIdentifier)
	if id == "" {
		if id, err = transfer.ResumableIdentifier(img, size, ts.chunkSize); err != nil {
			return drive, sum, err
		}
		if err := sess.Record(map[string]string{session.ExtraIdentifier: id}); err != nil {
			return drive, sum, err
		}
	}
	sink := transfer.ResumableSink{U: cl.v2, Drive: drive.UUID, ChunkSize: ts.chunkSize, TotalSize: size,
		Identifier: id, Filename: filepath.Base(path)}
	// A drive this run created holds nothing: asking for each chunk would
	// only cost a round trip. Any other may hold chunks the checkpoint
	// does not know of (sent just before a crash, or by another machine).
	ts.opts.AskStored = driveID != "" || sess.Resumed()
	sess.Attach(&ts.opts, pieces)
	bar := newProgress(c, size, "upload")
	ts.opts.Progress = bar
	sum, err = transfer.UploadResumable(ctx, img, pieces, sink, ts.opts)
	bar.done()
	if err == nil {
		// The checkpoint stays until the drive is complete: a rerun after
		// a timeout here asks the server again instead of starting over.
		// A failed wait returns an empty drive: keep the one we know,
		// so the error names it (once it read "to drive :").
		var done providers.Drive
		if done, err = waitUploaded(c, cl.v2, drive.UUID); err == nil {
			drive = done
		}
	}
	if err = sess.Finish(ctx, err); err != nil {
		return drive, sum, fmt.Errorf("upload %s to drive %s: %w", path, drive.UUID, err)
	}
	printSummary(c, verb, sum)
	return drive, sum, nil
}

// checkResumableDrive refuses a --drive that a chunked upload of the image
// cannot continue: it must still be `uploading`, and of the image's size,
// since the protocol fixes the drive's size at /initupload/.
func checkResumableDrive(d providers.Drive, path string, size int64) error {
	if d.State != providers.StateUploading {
		return withHint(usageErrorf("drive %s is %s, not uploading: --drive only continues an interrupted API 2.0 upload", d.UUID, d.Status),
			"upload without --drive to create a new drive, or use --api v1 --drive to overwrite an existing one")
	}
	if d.Size != size {
		return withHint(usageErrorf("%s has %d bytes (%s) but drive %s was started for %d bytes (%s)",
			path, size, units.FormatSize(size), d.UUID, d.Size, units.FormatSize(d.Size)),
			"a chunked upload continues only with the image it started with")
	}
	return nil
}

// uploadSingleV2 sends f in one direct-upload request, names the new drive
// (the request cannot) and waits for it to be ready.
func uploadSingleV2(c *cli.Context, cl *clients, ts *transferSettings, meta transfer.Options, verb string,
	name string, img io.ReaderAt, size int64) (providers.Drive, transfer.Summary, error) {
	ctx := c.Context
	bar := newProgress(c, size, "upload")
	o := ts.opts
	o.Progress = bar
	id, sum, err := transfer.UploadDirect(ctx, cl.v2, name, img, size, o)
	bar.done()
	if err != nil {
		return providers.Drive{}, sum, unreachableHint(err)
	}
	printSummary(c, verb, sum)
	err = transfer.Do(ctx, meta, "drive rename", 0, func(ctx context.Context) error {
		_, err := cl.v2.EditDrive(ctx, id, providers.DriveEdit{Name: &name})
		return err
	})
	if err != nil && !c.Bool(flagQuiet) {
		// The image arrived; only its name is missing.
		fmt.Fprintf(c.App.ErrWriter, "drivecp: warning: drive %s uploaded but not renamed to %q: %v\n", id, name, err)
	}
	d, err := waitUploaded(c, cl.v2, id)
	if err == nil && d.Size > size && !c.Bool(flagQuiet) {
		// The API grows a direct upload to its minimum drive size: say so,
		// or the drive's size surprises whoever downloads it.
		fmt.Fprintf(c.App.ErrWriter, "drivecp: note: drive %s has %s, more than the %s image: the cloud's minimum drive size; the bytes past the image read as zeros\n",
			d.UUID, units.FormatSize(d.Size), units.FormatSize(size))
	}
	return d, sum, err
}

// waitUploaded polls the drive until it leaves `uploading`, for at most
// uploadFinishTimeout.
func waitUploaded(c *cli.Context, drives providers.DriveService, id string) (providers.Drive, error) {
	o := waitOptions{Timeout: uploadFinishTimeout}
	if !c.Bool(flagQuiet) && isTerminal(c.App.ErrWriter) {
		o.Progress = c.App.ErrWriter
	}
	var d providers.Drive
	check := func(ctx context.Context) (bool, string, error) {
		var err error
		d, err = drives.GetDrive(ctx, id)
		if err != nil {
			return false, "", err
		}
		return d.State != providers.StateUploading, d.Status, nil
	}
	// Asked at once, right after the last chunk: the drive is usually
	// done, and poll's first sleep was a quarter second of idle link.
	if done, _, err := check(c.Context); err == nil && done {
		return d, nil
	}
	err := waitFor(c.Context, o, "drive "+id+" finishing its upload", check)
	if err != nil {
		return d, withHint(err, "run the same command again: it asks the server which chunks it is missing")
	}
	return d, nil
}
