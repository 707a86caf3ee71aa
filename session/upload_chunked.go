package session

import (
	"context"
	"fmt"
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

	var drive providers.Drive
	if o.Drive != "" {
		if drive, err = o.getDrive(ctx, o.Drive); err != nil {
			return nil, o.explain(err)
		}
		if err := checkResumableDrive(drive, img.Path, size); err != nil {
			return nil, err
		}
	} else {
		if drive, err = o.newDrive(ctx, sess, size); err != nil {
			return nil, o.explain(err)
		}
		if drive.Size != size {
			return nil, sizeMismatch(drive, size)
		}
	}

	// The identifier an earlier run used must be used again, or the server
	// may not recognise its chunks.
	id := sess.Extra(ExtraIdentifier)
	if id == "" {
		if id, err = fp.identifier(); err != nil {
			return nil, err
		}
		if err := sess.Record(map[string]string{ExtraIdentifier: id}); err != nil {
			return nil, err
		}
	}
	sink := transfer.ResumableSink{U: o.Chunked, Drive: drive.UUID, ChunkSize: o.ChunkSize, TotalSize: size,
		Identifier: id, Filename: filepath.Base(img.Path)}
	eo := o.Engine
	// A drive this run created holds nothing: asking for each chunk would
	// only cost a round trip. Any other may hold chunks the checkpoint
	// does not know of (sent just before a crash, or by another machine).
	eo.AskStored = o.Drive != "" || sess.Resumed()
	sess.Attach(&eo, pieces)
	rec := o.Env.newRecorder(o.Endpoint, drive, size, o.ChunkSize, driverecord.FromUpload)
	rec.attach(&eo, pieces, true)
	bar, done := o.progress(size, "upload")
	eo.Progress = bar
	sum, err := transfer.UploadResumable(ctx, img.At, pieces, sink, eo)
	done()
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
		return nil, fmt.Errorf("upload %s to drive %s: %w", img.Path, drive.UUID, err)
	}
	rec.save()
	o.sent(sum, -1)
	return &UploadResult{Drive: drive, Summary: sum, DataBytes: -1, Size: size, sess: sess}, nil
}
