package session

import "github.com/drivecp/drivecp/providers"

// OffsetAPI is a transfer path that reads and writes drives at offsets
// (API 1.0's read and write): uploads write into any drive, zero chunks of
// a fresh drive need not travel, and bodies may be gzipped.
type OffsetAPI struct {
	providers.DriveService
	providers.OffsetWriter
	providers.OffsetReader
	// MaxPiece is the largest piece one read or write may carry, and so the
	// largest chunk of an offset transfer; 0: any.
	MaxPiece int64
	// Gzip: writes may carry a gzip-compressed piece.
	Gzip bool
	// FreshDriveZeroed: a drive this API creates reads as zeros, so an
	// upload into it skips zero chunks.
	FreshDriveZeroed bool
}

// OffsetAPIOf is the offset transfer path of t, a provider's transfer API
// with offset reads and writes.
func OffsetAPIOf(t providers.TransferAPI) OffsetAPI {
	return OffsetAPI{DriveService: t.Drives, OffsetWriter: t.OffsetWriter, OffsetReader: t.OffsetReader,
		MaxPiece: t.MaxPiece, Gzip: t.Gzip, FreshDriveZeroed: t.FreshDriveZeroed}
}

// ChunkedAPI is a transfer path with resumable numbered-chunk uploads
// into a drive the protocol creates, one-request uploads, and ranged
// downloads through transfer URLs (API 2.0).
type ChunkedAPI struct {
	providers.DriveService
	providers.DriveEditor
	providers.ResumableUploader
	providers.DirectUploader
	providers.Downloader
}

// ChunkedAPIOf is the chunked transfer path of t, a provider's transfer
// API with resumable uploads and ranged downloads; editor renames the
// drive a one-request upload made.
func ChunkedAPIOf(t providers.TransferAPI, editor providers.DriveEditor) ChunkedAPI {
	return ChunkedAPI{DriveService: t.Drives, DriveEditor: editor, ResumableUploader: t.Resumable,
		DirectUploader: t.Direct, Downloader: t.Downloader}
}

// Mode is how a transfer moves a drive's bytes.
type Mode int

const (
	// Offset reads and writes at offsets through an OffsetAPI.
	Offset Mode = iota
	// Chunked uploads numbered chunks and downloads ranges through a
	// ChunkedAPI.
	Chunked
	// Single moves the whole image in one request through a ChunkedAPI:
	// a direct upload, or one download stream.
	Single
)

// api names the mode as checkpoint keys do (resume.APIv1, ...) and as the
// --api flag of a delete hint does.
func (m Mode) api() string {
	if m == Offset {
		return "v1"
	}
	return "v2"
}
