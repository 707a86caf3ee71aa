package command

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// demoTimer runs one step of the demo and records its time in the table.
type demoTimer func(name string, bytes int64, fn func() error) error

// demoSessions runs the demo's transfers through transfer sessions, as
// `drivecp upload` and `download` do.
type demoSessions struct {
	env      session.Env
	image    session.Image
	endpoint string
	n        int // chunks in flight
}

// upload sends the demo's image into a new drive in mode and returns the
// drive and what the transfer did.
func (ds *demoSessions) upload(ctx context.Context, mode session.Mode, offset session.OffsetAPI, chunked session.ChunkedAPI) (providers.Drive, transfer.Summary, error) {
	res, err := session.Upload(ctx, session.UploadOptions{Env: ds.env, Image: ds.image, Mode: mode, Offset: offset, Chunked: chunked,
		Endpoint: ds.endpoint, ChunkSize: chunker.DefaultChunkSize, Engine: transfer.Options{Concurrency: ds.n}})
	if err != nil {
		return providers.Drive{}, transfer.Summary{}, err
	}
	return res.Drive, res.Summary, res.Close()
}

// download reads drive into out in mode.
func (ds *demoSessions) download(ctx context.Context, mode session.Mode, offset session.OffsetAPI, chunked session.ChunkedAPI,
	drive providers.Drive, out string) (transfer.Summary, error) {
	d, err := session.PrepareDownload(ctx, session.DownloadOptions{Env: ds.env, Mode: mode, Offset: offset, Chunked: chunked,
		Endpoint: ds.endpoint, Known: &drive, Out: out, ChunkSize: chunker.DefaultChunkSize, Engine: transfer.Options{Concurrency: ds.n}})
	if err != nil {
		return transfer.Summary{}, err
	}
	sum, err := d.Run(ctx)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return sum, err
}

// demoV2 adds API 2.0's paths to the demo, beside API 1.0's: the chunked
// resumable upload and the ranged parallel download, then the one-request
// direct upload and the single-stream download, each download compared
// with the image. v2 is the cloud's API 2.0 transfer API.
func demoV2(ctx context.Context, ds *demoSessions, v2 session.ChunkedAPI, img, dir string, timed demoTimer) error {
	size := ds.image.Size
	var drive providers.Drive
	if err := timed("upload (API 2.0 chunked)", size, func() (err error) {
		drive, _, err = ds.upload(ctx, session.Chunked, session.OffsetAPI{}, v2)
		return err
	}); err != nil {
		return err
	}
	ranged := filepath.Join(dir, "back-ranged.img")
	if err := timed("download (API 2.0 ranged)", size, func() error {
		_, err := ds.download(ctx, session.Chunked, session.OffsetAPI{}, v2, drive, ranged)
		return err
	}); err != nil {
		return err
	}
	if err := sameContent(img, ranged); err != nil {
		return fmt.Errorf("demo: API 2.0 ranged download: %w", err)
	}

	var single providers.Drive
	if err := timed("upload (API 2.0 single)", size, func() (err error) {
		single, _, err = ds.upload(ctx, session.Single, session.OffsetAPI{}, v2)
		return err
	}); err != nil {
		return err
	}
	// The API grows a drive below its minimum size, so the single upload
	// is checked against the image's length of the drive.
	o := transfer.Options{Concurrency: ds.n}
	if _, err := transfer.Verify(ctx, ds.image.At, transfer.NewRangedSource(v2, single.UUID), size, chunker.DefaultChunkSize, o); err != nil {
		return fmt.Errorf("demo: API 2.0 single upload: %w", err)
	}
	stream := filepath.Join(dir, "back-stream.img")
	if err := timed("download (API 2.0 single stream)", size, func() error {
		_, err := ds.download(ctx, session.Single, session.OffsetAPI{}, v2, drive, stream)
		return err
	}); err != nil {
		return err
	}
	if err := sameContent(img, stream); err != nil {
		return fmt.Errorf("demo: API 2.0 single-stream download: %w", err)
	}
	return nil
}
