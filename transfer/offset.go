package transfer

import (
	"context"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
)

// OffsetSink uploads into a drive through offset writes (API 1.0).
type OffsetSink struct {
	W     providers.OffsetWriter
	Drive string
}

// Put writes the piece at its offset.
func (s OffsetSink) Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error {
	return s.W.WriteAt(ctx, s.Drive, p.Offset, body, gzipped)
}

// OffsetSource reads a drive through offset reads (API 1.0).
type OffsetSource struct {
	R     providers.OffsetReader
	Drive string
}

// ReadPiece reads the piece's bytes at its offset.
func (s OffsetSource) ReadPiece(ctx context.Context, p chunker.Piece, dst []byte) error {
	return s.R.ReadAt(ctx, s.Drive, p.Offset, dst[:p.Length])
}

// MaxPiece is the reader's largest request.
func (s OffsetSource) MaxPiece() int64 { return s.R.MaxReadSize() }
