package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// demoTimer runs one step of the demo and records its time in the table.
type demoTimer func(name string, bytes int64, fn func() error) error

// demoV2 adds API 2.0's paths to the demo, beside API 1.0's: the chunked
// resumable upload and the ranged parallel download, then the one-request
// direct upload and the single-stream download, each download compared
// with the image. v2 is the cloud's API 2.0 transfer API.
func demoV2(ctx context.Context, v2 providers.TransferAPI, f *os.File, img string, size int64, dir string, n int, timed demoTimer) error {
	o := transfer.Options{Concurrency: n}
	const chunk = chunker.DefaultChunkSize
	pieces, err := transfer.PlanResumable(f, size, chunk)
	if err != nil {
		return err
	}
	id, err := transfer.ResumableIdentifier(f, size, chunk)
	if err != nil {
		return err
	}
	drive, err := v2.Resumable.InitUpload(ctx, filepath.Base(img), size)
	if err != nil {
		return err
	}
	sink := transfer.ResumableSink{U: v2.Resumable, Drive: drive.UUID, ChunkSize: chunk, TotalSize: size, Identifier: id, Filename: filepath.Base(img)}
	if err := timed("upload (API 2.0 chunked)", size, func() error {
		if _, err := transfer.UploadResumable(ctx, f, pieces, sink, o); err != nil {
			return err
		}
		return demoWaitUploaded(ctx, v2.Drives, drive.UUID)
	}); err != nil {
		return err
	}
	src := transfer.NewRangedSource(v2.Downloader, drive.UUID)
	ranged := filepath.Join(dir, "back-ranged.img")
	if err := timed("download (API 2.0 ranged)", size, func() error {
		_, err := transfer.DownloadFile(ctx, src, size, ranged, transfer.FileOptions{}, o)
		return err
	}); err != nil {
		return err
	}
	if err := sameContent(img, ranged); err != nil {
		return fmt.Errorf("demo: API 2.0 ranged download: %w", err)
	}

	var single string
	if err := timed("upload (API 2.0 single)", size, func() error {
		var err error
		single, _, err = transfer.UploadDirect(ctx, v2.Direct, filepath.Base(img), f, size, o)
		return err
	}); err != nil {
		return err
	}
	// The API grows a drive below its minimum size, so the single upload
	// is checked against the image's length of the drive.
	if _, err := transfer.Verify(ctx, f, transfer.NewRangedSource(v2.Downloader, single), size, chunk, o); err != nil {
		return fmt.Errorf("demo: API 2.0 single upload: %w", err)
	}
	stream := filepath.Join(dir, "back-stream.img")
	if err := timed("download (API 2.0 single stream)", size, func() error {
		_, err := transfer.StreamFile(ctx, src, size, stream, transfer.FileOptions{}, o)
		return err
	}); err != nil {
		return err
	}
	if err := sameContent(img, stream); err != nil {
		return fmt.Errorf("demo: API 2.0 single-stream download: %w", err)
	}
	return nil
}

// demoWaitUploaded waits briefly for a chunked upload's drive to leave
// `uploading`, as the upload command does.
func demoWaitUploaded(ctx context.Context, drives providers.DriveService, id string) error {
	for deadline := time.Now().Add(time.Minute); ; {
		d, err := drives.GetDrive(ctx, id)
		if err != nil {
			return err
		}
		if d.State != providers.StateUploading {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("drive %s still %s after its last chunk", id, d.Status)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
