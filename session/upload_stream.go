package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// streamSize is the size of the drive a stream upload writes: DriveSize,
// or the size the stream records, or (into Drive) the drive's own size,
// which it then returns too.
func (o *UploadOptions) streamSize(ctx context.Context) (int64, *providers.Drive, error) {
	img := o.Image
	if n := o.DriveSize; n > 0 {
		if img.Size >= 0 && n < img.Size {
			return 0, nil, failure.Usagef("--size %s is smaller than the %s image %s records", units.FormatSize(n), units.FormatSize(img.Size), img.Path)
		}
		return n, nil, nil
	}
	if img.Size >= 0 {
		return img.Size, nil, nil
	}
	if o.Drive != "" {
		d, err := o.getDrive(ctx, o.Drive)
		if err != nil {
			return 0, nil, o.explain(err)
		}
		return d.Size, &d, nil
	}
	what := "a " + string(img.Format) + " stream"
	if img.IsStdin() {
		what = "standard input"
	}
	return 0, nil, failure.WithHint(failure.Usagef("the size of %s is unknown: %s does not record it", img.Path, what),
		"give the drive's size with --size (at least the image's size), e.g. --size 10G")
}

// uploadStream uploads an image that can only be read once, in order: a
// compressed file, or standard input. The stream feeds the same parallel
// upload as a file (transfer.UploadStream).
//
// A file's upload resumes like a raw one: the file is decompressed again
// from its start and only the chunks the checkpoint lacks are sent.
// Standard input has no name to key a checkpoint on, so a pipe keeps none:
// a chunked upload of it continues into the drive given as Drive (the
// server says which chunks it holds); an offset one starts over.
func uploadStream(ctx context.Context, o UploadOptions) (res *UploadResult, err error) {
	img := o.Image
	size, target, err := o.streamSize(ctx)
	if err != nil {
		return nil, err
	}
	chunked := o.Mode != Offset
	pieces := chunker.Plan(size, o.ChunkSize, chunked)

	var sess *Session
	if !img.IsStdin() {
		if sess, _, err = o.openSession(len(pieces)); err != nil {
			return nil, err
		}
		defer closeOnError(sess, &err)
	}

	var drive providers.Drive
	switch {
	case o.Drive != "":
		if target != nil {
			drive = *target
		} else if drive, err = o.getDrive(ctx, o.Drive); err != nil {
			return nil, o.explain(err)
		}
		if chunked {
			if err := checkResumableDrive(drive, img.Path, size); err != nil {
				return nil, err
			}
		} else if drive.Size < size {
			return nil, failure.Usagef("%s (%s) does not fit drive %s (%s)", img.Path, units.FormatSize(size), o.Drive, units.FormatSize(drive.Size))
		}
	default:
		if drive, err = o.newDrive(ctx, sess, size); err != nil {
			return nil, o.explain(err)
		}
	}
	if chunked && drive.Size != size {
		return nil, sizeMismatch(drive, size)
	}

	eo := o.Engine
	if sess != nil {
		sess.Attach(&eo, pieces)
	}
	bar, done := o.progress(size, "upload")
	eo.Progress = bar
	var (
		sum transfer.Summary
		sr  transfer.StreamResult
	)
	if chunked {
		var sink transfer.ResumableSink
		if sink, err = o.streamSink(sess, drive, size); err != nil {
			done()
			return nil, err
		}
		eo.AskStored = o.Drive != "" || (sess != nil && sess.Resumed())
		sum, sr, err = transfer.UploadResumableStream(ctx, img.Stream, max(img.Size, 0), pieces, sink, eo)
		if err == nil {
			var finished providers.Drive
			if finished, err = waitUploaded(ctx, o.Chunked, drive.UUID, o.Waits); err == nil {
				drive = finished
			}
		}
	} else {
		eo.Gzip = o.Offset.Gzip
		// A drive this run (or the interrupted one) created reads as zeros.
		eo.SkipZero = (o.Drive == "" && o.Offset.FreshDriveZeroed) || o.AssumeZeroed
		sum, sr, err = transfer.UploadStream(ctx, img.Stream, max(img.Size, 0), pieces, transfer.OffsetSink{W: o.Offset, Drive: drive.UUID}, eo)
	}
	done()
	err = streamError(err, img, size)
	if sess != nil {
		err = sess.Finish(ctx, err)
	} else {
		err = pipeFailure(err, chunked, drive.UUID)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %s to drive %s: %w", img.Path, drive.UUID, err)
	}
	o.sent(sum, sr.DataBytes)
	return &UploadResult{Drive: drive, Summary: sum, DataBytes: sr.DataBytes, Size: size, sess: sess}, nil
}

// streamSink is the chunked upload's sink for a stream into drive. The
// identifier is the one the checkpoint recorded, or one derived from what
// a rerun of the same pipe knows before reading it, so that a rerun into
// the same drive without a checkpoint presents the identifier the server
// saw first.
func (o *UploadOptions) streamSink(sess *Session, drive providers.Drive, size int64) (transfer.ResumableSink, error) {
	id := ""
	if sess != nil {
		id = sess.Extra(ExtraIdentifier)
	}
	if id == "" {
		id = fmt.Sprintf("drivecp-%d-stream-%d", size, o.ChunkSize)
		if sess != nil {
			if err := sess.Record(map[string]string{ExtraIdentifier: id}); err != nil {
				return transfer.ResumableSink{}, err
			}
		}
	}
	return transfer.ResumableSink{U: o.Chunked, Drive: drive.UUID, ChunkSize: o.ChunkSize, TotalSize: size,
		Identifier: id, Filename: o.name()}, nil
}

// streamError turns the stream engine's verdicts on the input into usage
// errors with what to do: they are facts about the image, which a rerun of
// the same command would meet again.
func streamError(err error, img Image, size int64) error {
	switch {
	case errors.Is(err, transfer.ErrStreamTooLong):
		return failure.WithHint(failure.Usagef("%w", err), "the drive has %s: give a larger --size, or check that %s is the image you meant", units.FormatSize(size), img.Path)
	case errors.Is(err, transfer.ErrSourceChanged):
		return failure.WithHint(failure.Usagef("%w", err), "add --restart to upload it from the start")
	case errors.Is(err, transfer.ErrStreamTooShort):
		return failure.Usagef("%w: %s is truncated", err, img.Path)
	}
	return err
}

// pipeFailure adds to the failure of an upload from standard input, which
// keeps no checkpoint, what continuing it takes.
func pipeFailure(err error, chunked bool, drive string) error {
	if err == nil || errIsUsage(err) {
		return err
	}
	if chunked {
		return failure.WithHint(err, "standard input keeps no checkpoint: run the same pipe again with --drive %s and the same --size and --chunk-size; it is read again from the start and only the chunks the drive lacks are sent", drive)
	}
	return failure.WithHint(err, "an API 1.0 upload from standard input cannot be resumed: run it again (with --api v2, an interrupted pipe continues with --drive)")
}
