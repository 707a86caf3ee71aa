package session

import (
	"context"
	"path/filepath"

	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// uploadChunked uploads a random-access image in numbered chunks into a
// drive the protocol creates, the one Drive names, or the one an
// interrupted run of the same upload was writing (from the checkpoint).
func uploadChunked(ctx context.Context, o UploadOptions) (res *UploadResult, err error) {
	img, size := o.Image, o.Image.Size
	pieces, err := img.Plan(o.ChunkSize, true)
	if err != nil {
		return nil, err
	}
	if o.Planned != nil {
		o.Planned(pieces, size)
	}
	sess, fp, err := o.openSession(len(pieces))
	if err != nil {
		return nil, err
	}
	defer closeOnError(sess, &err)

	eo := o.Engine
	// A drive this run created holds nothing: asking for each chunk would
	// only cost a round trip. Any other may hold chunks the checkpoint
	// does not know of (sent just before a crash, or by another machine).
	eo.AskStored = o.Drive != "" || sess.Resumed()
	sess.Attach(&eo, pieces)
	rec := o.Env.newRecorder(o.Endpoint, size, o.ChunkSize, driverecord.FromUpload)
	rec.attach(&eo, pieces)
	tgt := startTarget(ctx, func(ctx context.Context) (providers.Drive, transfer.Sink, error) {
		drive, err := o.chunkedDrive(ctx, sess, size)
		if err != nil {
			return drive, nil, err
		}
		// The identifier an earlier run used must be used again, or the
		// server may not recognise its chunks.
		id := sess.Extra(ExtraIdentifier)
		if id == "" {
			if id, err = fp.identifier(); err != nil {
				return drive, nil, err
			}
			if err := sess.Record(map[string]string{ExtraIdentifier: id}); err != nil {
				return drive, nil, err
			}
		}
		rec.bind(drive, true)
		return drive, transfer.ResumableSink{U: o.Chunked, Drive: drive.UUID, ChunkSize: o.ChunkSize, TotalSize: size,
			Identifier: id, Filename: filepath.Base(img.Path)}, nil
	})
	bar, done := o.progress(size, "upload")
	eo.Progress = bar
	sum, err := transfer.UploadResumable(ctx, img.At, pieces, tgt.sink, eo)
	done()
	drive, failed := tgt.finish(err)
	if failed != nil {
		return nil, failed
	}
	if err == nil {
		// The checkpoint stays until the drive is complete: a rerun after
		// a timeout here asks the server again instead of starting over.
		// A failed wait returns an empty drive: keep the one we know,
		// so the error names it (once it read "to drive :").
		var finished providers.Drive
		if finished, err = waitUploaded(ctx, o.Chunked, drive.UUID, o.Waits); err == nil {
			drive = finished
		}
	}
	if err = sess.Finish(ctx, err); err != nil {
		return nil, uploadFailed(img.Path, drive, err)
	}
	rec.save()
	o.sent(sum, -1)
	return &UploadResult{Drive: drive, Summary: sum, DataBytes: -1, Size: size, sess: sess}, nil
}

// chunkedDrive is the drive a chunked upload writes: --drive's, checked
// for a resumable upload of the image, or a new one of size bytes.
func (o *UploadOptions) chunkedDrive(ctx context.Context, sess *Session, size int64) (providers.Drive, error) {
	if o.Drive != "" {
		drive, err := o.getDrive(ctx, o.Drive)
		if err != nil {
			return drive, o.explain(err)
		}
		return drive, checkResumableDrive(drive, o.Image.Path, size)
	}
	drive, err := o.newDrive(ctx, sess, size)
	if err != nil {
		return drive, o.explain(err)
	}
	if drive.Size != size {
		return drive, sizeMismatch(drive, size)
	}
	return drive, nil
}
