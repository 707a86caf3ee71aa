package command

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// flagUploadSize is upload's --size: the drive's size when a stream does
// not record its own.
const flagUploadSize = "size"

// stdinDriveName names a drive uploaded from standard input without --name.
const stdinDriveName = "stdin"

// streamSize is the size of the drive a stream upload writes: --size, or
// the size the stream records, or (with --drive) the drive's own size,
// which driveSize looks up only when it is needed.
func streamSize(c *cli.Context, in *imageInput, driveSize func() (int64, error)) (int64, error) {
	if s := c.String(flagUploadSize); s != "" {
		n, err := units.ParseSize(s)
		if err != nil || n <= 0 {
			return 0, usageErrorf("--size %q: give the drive's size, such as 10G", s)
		}
		if in.size >= 0 && n < in.size {
			return 0, usageErrorf("--size %s is smaller than the %s image %s records", units.FormatSize(n), units.FormatSize(in.size), in.path)
		}
		return n, nil
	}
	if in.size >= 0 {
		return in.size, nil
	}
	if c.IsSet(flagUploadDrive) {
		return driveSize()
	}
	what := "a " + string(in.format) + " stream"
	if in.isStdin() {
		what = "standard input"
	}
	return 0, withHint(usageErrorf("the size of %s is unknown: %s does not record it", in.path, what),
		"give the drive's size with --size (at least the image's size), e.g. --size 10G")
}

// runUploadStream is `drivecp upload` of an image that can only be read
// once, in order: a gzip, xz, zstd or bzip2 file, or standard input. The
// stream feeds the same parallel upload as a file (transfer.UploadStream).
//
// A file's upload resumes like a raw one: the file is decompressed again
// from its start and only the chunks the checkpoint lacks are sent. Standard
// input has no name to key a checkpoint on, so a pipe keeps none: through
// API 2.0 an interrupted pipe continues with --drive UUID (the server says
// which chunks it holds); through API 1.0 it starts over.
func runUploadStream(c *cli.Context, ts *transferSettings, in *imageInput) error {
	if c.Bool(flagSingle) {
		return usageErrorf("--single cannot send %s: drop --single to upload it in chunks", in.path)
	}
	if ts.verify {
		return withHint(usageErrorf("--verify reads the image a second time, which %s (a %s stream) cannot be", in.path, in.format),
			"drop --verify, or download the drive and compare it with the decompressed image")
	}
	if ts.api == "v2" && c.Bool(flagAssumeZeroed) {
		return usageErrorf("--assume-zeroed applies to --api v1 only: API 2.0 uploads send every chunk")
	}
	if !c.IsSet(flagUploadDrive) && c.Bool(flagAssumeZeroed) {
		return usageErrorf("--assume-zeroed only applies with --drive")
	}
	ctx := c.Context
	meta := metaRetry(ts.opts)
	var (
		cl  *clients
		err error
	)
	if ts.api == "v2" {
		cl, err = newTransferClients(c, ts.opts.Concurrency, meta)
	} else {
		cl, err = newOffsetClients(c, ts)
	}
	if err != nil {
		return err
	}
	var drives providers.DriveService = cl.v1
	if ts.api == "v2" {
		drives = cl.v2
	}
	getDrive := func(ctx context.Context, id string) (d providers.Drive, err error) {
		err = transfer.Do(ctx, meta, "drive lookup", 0, func(ctx context.Context) error {
			d, err = drives.GetDrive(ctx, id)
			return err
		})
		return d, unreachableHint(err)
	}
	driveID := c.String(flagUploadDrive)
	var target *providers.Drive
	size, err := streamSize(c, in, func() (int64, error) {
		d, err := getDrive(ctx, driveID)
		if err != nil {
			return 0, err
		}
		target = &d
		return d.Size, nil
	})
	if err != nil {
		return err
	}
	pieces := chunker.Plan(size, ts.chunkSize, ts.api == "v2")

	api := resume.APIv1
	if ts.api == "v2" {
		api = resume.APIv2
	}
	var sess *session.Session
	if !in.isStdin() {
		if sess, err = openUploadSession(c, cl.endpointHost, api, in.path, in.file, ts.chunkSize, len(pieces), driveID); err != nil {
			return err
		}
		defer sess.Close()
		if err := checkFormat(sess, in); err != nil {
			return err
		}
	}

	name := c.String(flagUploadName)
	if name == "" {
		name = filepath.Base(in.path)
		if in.isStdin() {
			name = stdinDriveName
		}
	}
	create := &session.Creation{API: ts.api, Name: name, Size: size, What: "drive creation", Retry: meta,
		Create: func(ctx context.Context) (providers.Drive, error) {
			if ts.api == "v2" {
				return cl.v2.InitUpload(ctx, name, size)
			}
			return cl.v1.CreateDrive(ctx, providers.DriveSpec{Name: name, Size: size})
		},
		Drives: func(ctx context.Context) ([]providers.Drive, error) {
			return drives.ListDrives(ctx, providers.DriveFilter{Names: []string{name}})
		},
	}
	if ts.api == "v2" {
		create.What = "upload initialisation"
	}

	var drive providers.Drive
	switch {
	case driveID != "":
		if target != nil {
			drive = *target
		} else if drive, err = getDrive(ctx, driveID); err != nil {
			return err
		}
		if ts.api == "v2" {
			if err := checkResumableDrive(drive, in.path, size); err != nil {
				return err
			}
		} else if drive.Size < size {
			return usageErrorf("%s (%s) does not fit drive %s (%s)", in.path, units.FormatSize(size), driveID, units.FormatSize(drive.Size))
		}
	case sess != nil:
		if drive, err = sess.UploadTarget(ctx, getDrive, create); err != nil {
			return unreachableHint(err)
		}
	default:
		if drive, _, err = create.CreateCounting(ctx); err != nil {
			return unreachableHint(err)
		}
	}
	if ts.api == "v2" && drive.Size != size {
		return fmt.Errorf("drive %s was created with %d bytes for a %d-byte image: %w", drive.UUID, drive.Size, size, providers.ErrNotCloudSigma)
	}

	resumed := sess != nil && sess.Resumed()
	o := ts.opts
	if sess != nil {
		sess.Attach(&o, pieces)
	}
	bar := newProgress(c, size, "upload")
	o.Progress = bar
	var (
		sum transfer.Summary
		res transfer.StreamResult
	)
	if ts.api == "v2" {
		id := ""
		if sess != nil {
			id = sess.Extra(session.ExtraIdentifier)
		}
		if id == "" {
			// Derived from what a rerun of the same pipe knows before
			// reading it, so a rerun with --drive and no checkpoint
			// presents the identifier the server saw first.
			id = fmt.Sprintf("drivecp-%d-stream-%d", size, ts.chunkSize)
			if sess != nil {
				if err := sess.Record(map[string]string{session.ExtraIdentifier: id}); err != nil {
					return err
				}
			}
		}
		sink := transfer.ResumableSink{U: cl.v2, Drive: drive.UUID, ChunkSize: ts.chunkSize, TotalSize: size,
			Identifier: id, Filename: name}
		o.AskStored = driveID != "" || resumed
		sum, res, err = transfer.UploadResumableStream(ctx, in.stream, max(in.size, 0), pieces, sink, o)
		if err == nil {
			var done providers.Drive
			if done, err = waitUploaded(c, cl.v2, drive.UUID); err == nil {
				drive = done
			}
		}
	} else {
		o.Gzip = true
		// A drive this run (or the interrupted one) created reads as zeros.
		o.SkipZero = driveID == "" || c.Bool(flagAssumeZeroed)
		sum, res, err = transfer.UploadStream(ctx, in.stream, max(in.size, 0), pieces, transfer.OffsetSink{W: cl.v1, Drive: drive.UUID}, o)
	}
	bar.done()
	err = streamError(err, in, size)
	if sess != nil {
		err = sess.Finish(ctx, err)
	} else {
		err = pipeFailure(err, ts.api, drive.UUID)
	}
	if err != nil {
		return fmt.Errorf("upload %s to drive %s: %w", in.path, drive.UUID, err)
	}
	// A stream's allocated bytes are its chunks that were not all zeros.
	printSummary(c, uploadVerb(in, res.DataBytes), sum)
	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, newUploadResult(drive.UUID, in, size, res.DataBytes, sum, false))
	}
	_, err = fmt.Fprintln(c.App.Writer, drive.UUID)
	return err
}

// streamError turns the stream engine's verdicts on the input into usage
// errors (exit 2) with what to do: they are facts about the image, which
// a rerun of the same command would meet again.
func streamError(err error, in *imageInput, size int64) error {
	switch {
	case errors.Is(err, transfer.ErrStreamTooLong):
		return withHint(usageErrorf("%w", err), "the drive has %s: give a larger --size, or check that %s is the image you meant", units.FormatSize(size), in.path)
	case errors.Is(err, transfer.ErrSourceChanged):
		return withHint(usageErrorf("%w", err), "add --restart to upload it from the start")
	case errors.Is(err, transfer.ErrStreamTooShort):
		return usageErrorf("%w: %s is truncated", err, in.path)
	}
	return err
}

// pipeFailure adds to the failure of an upload from standard input, which
// keeps no checkpoint, what continuing it takes.
func pipeFailure(err error, api, drive string) error {
	if err == nil {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	if api == "v2" {
		return withHint(err, "standard input keeps no checkpoint: run the same pipe again with --drive %s and the same --size and --chunk-size; it is read again from the start and only the chunks the drive lacks are sent", drive)
	}
	return withHint(err, "an API 1.0 upload from standard input cannot be resumed: run it again (with --api v2, an interrupted pipe continues with --drive)")
}
