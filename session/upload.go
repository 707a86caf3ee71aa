package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// StdinDriveName names a drive uploaded from standard input without a
// name.
const StdinDriveName = "stdin"

// ProgressFunc starts a progress display of total bytes for what
// ("upload", "download") and returns it with the function that ends it.
type ProgressFunc func(total int64, what string) (transfer.Progress, func())

// UploadOptions describe one upload.
type UploadOptions struct {
	// Env holds the checkpoint store, Restart and where notes go.
	Env
	// Image is what to send.
	Image Image
	// Mode chooses the transfer path: Offset (through Offset), Chunked or
	// Single (through Chunked).
	Mode    Mode
	Offset  OffsetAPI
	Chunked ChunkedAPI
	// Endpoint names the cloud's endpoint in checkpoint keys (a host,
	// never a URL or a credential).
	Endpoint string
	// ChunkSize is the size of the pieces.
	ChunkSize int64

	// Drive is the existing drive to write into; "" creates one named
	// Name (the image's base name when empty, StdinDriveName for standard
	// input). NameSet says the user gave Name, so that a rerun with
	// another one is refused.
	Drive   string
	Name    string
	NameSet bool
	// AssumeZeroed: Drive reads as zeros, so an offset upload skips zero
	// chunks.
	AssumeZeroed bool
	// DriveSize is the size of the drive a stream creates when the user
	// gave one (0: none).
	DriveSize int64

	// Engine are the transfer engine's options: concurrency, limits,
	// retries, stall timeout, event hooks. The session adds what the mode
	// and the checkpoint need.
	Engine transfer.Options
	// Meta is the retry policy of the requests around the transfer
	// (lookups, creation, listing, renaming).
	Meta transfer.Options
	// Waits bound the waits for a drive being created or assembled.
	Waits Waits
	// Progress starts the progress display; nil shows none.
	Progress ProgressFunc
	// Explain adds what the command knows to the failure of a request to
	// the cloud (how to reach the endpoint); nil leaves errors as they are.
	Explain func(error) error
	// Planned, when set, is given the plan and the drive size before
	// anything is sent.
	Planned func(pieces []chunker.Piece, size int64)
	// Sent, when set, is called once the bytes are all sent (and the
	// session finished), with the transfer's summary and, for a stream,
	// the bytes of its chunks that were not all zeros (-1 otherwise).
	Sent func(sum transfer.Summary, dataBytes int64)
}

// UploadResult is what an upload did.
type UploadResult struct {
	// Drive is the drive written, as the cloud describes it at the end.
	Drive   providers.Drive
	Summary transfer.Summary
	// DataBytes is, for a stream, the bytes of its chunks that were not
	// all zeros; -1 for a random-access image.
	DataBytes int64
	// Size is the image's size, as the drive holds it.
	Size int64

	sess *Session
}

// Close ends the upload's session: after success it removes the
// checkpoint. Call it once the result is printed, so that a run killed in
// between leaves a complete checkpoint and its rerun prints the same drive
// instead of creating a second one. It is safe on a nil result.
func (r *UploadResult) Close() error {
	if r == nil || r.sess == nil {
		return nil
	}
	return r.sess.Close()
}

func (o *UploadOptions) explain(err error) error {
	if o.Explain == nil || err == nil {
		return err
	}
	return o.Explain(err)
}

func (o *UploadOptions) progress(total int64, what string) (transfer.Progress, func()) {
	if o.Progress == nil {
		return nil, func() {}
	}
	return o.Progress(total, what)
}

func (o *UploadOptions) sent(sum transfer.Summary, data int64) {
	if o.Sent != nil {
		o.Sent(sum, data)
	}
}

// drives is the drive service of the chosen mode.
func (o *UploadOptions) drives() providers.DriveService {
	if o.Mode == Offset {
		return o.Offset.DriveService
	}
	return o.Chunked.DriveService
}

// name is the new drive's name.
func (o *UploadOptions) name() string {
	switch {
	case o.Name != "":
		return o.Name
	case o.Image.IsStdin():
		return StdinDriveName
	}
	return filepath.Base(o.Image.Path)
}

// getDrive looks a drive up under the Meta retry policy.
func (o *UploadOptions) getDrive(ctx context.Context, id string) (d providers.Drive, err error) {
	err = transfer.Do(ctx, o.Meta, "drive lookup", 0, func(ctx context.Context) error {
		d, err = o.drives().GetDrive(ctx, id)
		return err
	})
	return d, err
}

// creation is the creation of the upload's new drive of size bytes.
func (o *UploadOptions) creation(size int64) *Creation {
	name := o.name()
	c := &Creation{API: o.Mode.api(), Name: name, Size: size, What: "drive creation", Retry: o.Meta,
		Create: func(ctx context.Context) (providers.Drive, error) {
			return o.Offset.CreateDrive(ctx, providers.DriveSpec{Name: name, Size: size})
		},
		Drives: func(ctx context.Context) ([]providers.Drive, error) {
			return o.drives().ListDrives(ctx, providers.DriveFilter{Names: []string{name}})
		},
	}
	if o.Mode != Offset {
		c.What = "upload initialisation"
		c.Create = func(ctx context.Context) (providers.Drive, error) { return o.Chunked.InitUpload(ctx, name, size) }
	}
	return c
}

// checkpointAPI is the API the upload's checkpoint key names.
func (o *UploadOptions) checkpointAPI() string {
	switch o.Mode {
	case Offset:
		return resume.APIv1
	case Single:
		return resume.APIv2Single
	}
	return resume.APIv2
}

// openSession opens the checkpoint session of an upload of the image's
// file in total pieces, fingerprinting the image once, and checks the
// format it is read as.
func (o *UploadOptions) openSession(total int) (*Session, fingerprint, error) {
	fp, err := fingerprintOf(o.Image, o.ChunkSize)
	if err != nil {
		return nil, fp, err
	}
	key := resume.Key{API: o.checkpointAPI(), Endpoint: o.Endpoint, LocalPath: o.Image.Path, ChunkSize: o.ChunkSize}
	s, err := o.Env.OpenUpload(key, fp.src, total, UploadNames{Drive: o.Drive, Name: o.name(), NameSet: o.NameSet})
	if err != nil {
		return nil, fp, err
	}
	if err := s.CheckFormat(o.Image.Path, string(o.Image.Format)); err != nil {
		_ = s.Close()
		return nil, fp, err
	}
	if err := s.CheckBacking(o.Image); err != nil {
		_ = s.Close()
		return nil, fp, err
	}
	return s, fp, nil
}

// Upload sends the image into a drive: the one Drive names, the one an
// interrupted run of the same upload created, or a new one, which it
// waits for until it can be written. A file keeps a checkpoint; standard
// input keeps none. After success the caller must Close the result once
// it has printed it (see UploadResult.Close); after a failure there is
// nothing to close.
func Upload(ctx context.Context, o UploadOptions) (*UploadResult, error) {
	switch {
	case o.Image.At == nil:
		return uploadStream(ctx, o)
	case o.Mode == Single:
		return uploadSingle(ctx, o)
	case o.Mode == Chunked:
		return uploadChunked(ctx, o)
	}
	return uploadOffset(ctx, o)
}

// newDrive returns the drive a new-drive upload writes (Session.
// UploadTarget, or a plain creation without a session), once it is no
// longer being created.
func (o *UploadOptions) newDrive(ctx context.Context, sess *Session, size int64) (providers.Drive, error) {
	var (
		d   providers.Drive
		err error
	)
	if sess != nil {
		d, err = sess.UploadTarget(ctx, o.getDrive, o.creation(size))
	} else {
		d, _, err = o.creation(size).createCounting(ctx)
	}
	if err != nil {
		return d, err
	}
	ready, err := WaitReady(ctx, o.drives(), d, o.Waits)
	if err != nil {
		return d, fmt.Errorf("drive %s: %w", d.UUID, err)
	}
	return ready, nil
}

// uploadOffset is an upload of a random-access image by offset writes.
func uploadOffset(ctx context.Context, o UploadOptions) (res *UploadResult, err error) {
	img, size := o.Image, o.Image.Size
	pieces, err := img.Plan(o.ChunkSize, false)
	if err != nil {
		return nil, err
	}
	sess, _, err := o.openSession(len(pieces))
	if err != nil {
		return nil, err
	}
	defer closeOnError(sess, &err)

	eo := o.Engine
	// A fresh drive reads as zeros: zero chunks need not travel. An
	// interrupted run's drive is one too, where it wrote nothing.
	eo.SkipZero = o.Offset.FreshDriveZeroed
	if o.Drive != "" {
		eo.SkipZero = o.AssumeZeroed
	}
	eo.Gzip = o.Offset.Gzip
	sess.Attach(&eo, pieces)
	rec := o.Env.newRecorder(o.Endpoint, size, o.ChunkSize, driverecord.FromUpload)
	rec.attach(&eo, pieces)
	tgt := startTarget(ctx, func(ctx context.Context) (providers.Drive, transfer.Sink, error) {
		drive, err := o.offsetDrive(ctx, sess, size)
		if err != nil {
			return drive, nil, err
		}
		rec.bind(drive, true)
		return drive, transfer.OffsetSink{W: o.Offset, Drive: drive.UUID}, nil
	})
	bar, done := o.progress(size, "upload")
	eo.Progress = bar
	sum, err := transfer.Upload(ctx, img.At, pieces, tgt.sink, eo)
	done()
	drive, failed := tgt.finish(err)
	if failed != nil {
		return nil, failed
	}
	if err = sess.Finish(ctx, err); err != nil {
		return nil, uploadFailed(img.Path, drive, err)
	}
	rec.zeros(pieces, eo.SkipZero, eo.Done)
	rec.save()
	o.sent(sum, -1)
	return &UploadResult{Drive: drive, Summary: sum, DataBytes: -1, Size: size, sess: sess}, nil
}

// offsetDrive is the drive an offset upload writes: --drive's, which the
// image must fit, or a new one of size bytes.
func (o *UploadOptions) offsetDrive(ctx context.Context, sess *Session, size int64) (providers.Drive, error) {
	if o.Drive == "" {
		drive, err := o.newDrive(ctx, sess, size)
		return drive, o.explain(err)
	}
	drive, err := o.getDrive(ctx, o.Drive)
	if err != nil {
		return drive, o.explain(err)
	}
	if drive.Size < size {
		return drive, failure.Usagef("%s (%s) does not fit drive %s (%s)", o.Image.Path, units.FormatSize(size), o.Drive, units.FormatSize(drive.Size))
	}
	return drive, nil
}

// uploadFailed says which upload failed, and into which drive when it
// got as far as one.
func uploadFailed(path string, drive providers.Drive, err error) error {
	if drive.UUID == "" {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	return fmt.Errorf("upload %s to drive %s: %w", path, drive.UUID, err)
}

// closeOnError closes sess when *err is set: an upload that fails leaves
// nothing for its caller to close, and no checkpoint when it failed before
// doing anything (see Session.Abandon).
func closeOnError(sess *Session, err *error) {
	if *err != nil && sess != nil {
		_ = sess.Abandon()
	}
}

// sizeMismatch is the error of a drive the chunked protocol created with
// another size than asked: the cloud does not behave as its API says.
func sizeMismatch(d providers.Drive, size int64) error {
	return fmt.Errorf("drive %s was created with %d bytes for a %d-byte image: %w", d.UUID, d.Size, size, providers.ErrProtocol)
}

// checkResumableDrive refuses a drive given to continue a chunked upload
// that cannot be continued with the image at path of size bytes: it must
// still be uploading, and of the image's size, since the protocol fixes
// the drive's size when the upload starts.
func checkResumableDrive(d providers.Drive, path string, size int64) error {
	if d.State != providers.StateUploading {
		return failure.WithHint(failure.Usagef("drive %s is %s, not uploading: --drive only continues an interrupted API 2.0 upload", d.UUID, d.Status),
			"upload without --drive to create a new drive, or use --api v1 --drive to overwrite an existing one")
	}
	if d.Size != size {
		return failure.WithHint(failure.Usagef("%s has %d bytes (%s) but drive %s was started for %d bytes (%s)",
			path, size, units.FormatSize(size), d.UUID, d.Size, units.FormatSize(d.Size)),
			"a chunked upload continues only with the image it started with")
	}
	return nil
}

// errIsUsage reports whether err is a usage error.
func errIsUsage(err error) bool {
	var ue *failure.Usage
	return errors.As(err, &ue)
}
