package session

import (
	"context"
	"fmt"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// uploadSingle sends a random-access image in one direct-upload request,
// names the new drive (the request cannot) and waits for it to be ready.
// It keeps no checkpoint, but must not start a drive beside the one an
// interrupted chunked upload of the image left.
func uploadSingle(ctx context.Context, o UploadOptions) (*UploadResult, error) {
	img, size := o.Image, o.Image.Size
	pieces, err := img.Plan(chunker.DefaultChunkSize, false)
	if err != nil {
		return nil, err
	}
	key := resume.Key{Direction: resume.Upload, API: resume.APIv2Single, Endpoint: o.Endpoint, LocalPath: img.Path, ChunkSize: o.ChunkSize}
	if err := o.Env.OtherAPIUpload(key); err != nil {
		return nil, err
	}
	if o.Planned != nil {
		o.Planned(pieces, size)
	}
	name := o.name()
	bar, done := o.progress(size, "upload")
	eo := o.Engine
	eo.Progress = bar
	id, sum, err := transfer.UploadDirect(ctx, o.Chunked, name, img.At, size, eo)
	done()
	if err != nil {
		return nil, o.explain(err)
	}
	o.sent(sum, -1)
	err = transfer.Do(ctx, o.Meta, "drive rename", 0, func(ctx context.Context) error {
		_, err := o.Chunked.EditDrive(ctx, id, providers.DriveEdit{Name: &name})
		return err
	})
	if err != nil && !o.Quiet {
		// The image arrived; only its name is missing.
		fmt.Fprintf(o.stderr(), "drivecp: warning: drive %s uploaded but not renamed to %q: %v\n", id, name, err)
	}
	d, err := waitUploaded(ctx, o.Chunked, id, o.Waits)
	if err != nil {
		return nil, err
	}
	if d.Size > size {
		// The API grows a direct upload to its minimum drive size: say so,
		// or the drive's size surprises whoever downloads it.
		o.notef("note: drive %s has %s, more than the %s image: the cloud's minimum drive size; the bytes past the image read as zeros",
			d.UUID, units.FormatSize(d.Size), units.FormatSize(size))
	}
	return &UploadResult{Drive: d, Summary: sum, DataBytes: -1, Size: size}, nil
}
