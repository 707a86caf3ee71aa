package transfer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
)

// ResumableSink uploads into a drive through API 2.0's numbered, resumable
// chunks (providers.ResumableUploader). Piece p travels as chunk number
// p.Index+1, so the pieces must come from PlanResumable (or chunker.Plan
// with mergeTail), whose last piece carries the remainder exactly as the
// protocol numbers chunks. Chunks travel raw: the protocol has no
// Content-Encoding, so Put refuses gzip.
//
// It is a StoredChecker too: with Options.AskStored, Upload asks the server
// before each chunk and skips those it already holds, which is how a rerun
// resumes even without a local checkpoint.
type ResumableSink struct {
	// U is the API client.
	U providers.ResumableUploader
	// Drive is the UUID of the drive InitUpload created.
	Drive string
	// ChunkSize is the plan's nominal chunk size (resumableChunkSize).
	ChunkSize int64
	// TotalSize is the image size (resumableTotalSize); it must equal the
	// drive's size.
	TotalSize int64
	// Identifier names the file across runs (resumableIdentifier); see
	// ResumableIdentifier.
	Identifier string
	// Filename is the image's base name (resumableFilename).
	Filename string
}

var (
	_ Sink          = ResumableSink{}
	_ StoredChecker = ResumableSink{}
)

func (s ResumableSink) chunk(p chunker.Piece) providers.UploadChunk {
	return providers.UploadChunk{Number: p.Index + 1, ChunkSize: s.ChunkSize, TotalSize: s.TotalSize,
		Identifier: s.Identifier, Filename: s.Filename}
}

// Put sends the piece as its numbered chunk. A chunk the API refuses as
// invalid but reports stored is done: the retry of a chunk whose answer was
// lost may find the upload already complete, which a server may refuse.
func (s ResumableSink) Put(ctx context.Context, p chunker.Piece, body []byte, gzipped bool) error {
	if gzipped {
		return fmt.Errorf("chunk %d: %w: API 2.0 chunks are sent uncompressed", p.Index+1, providers.ErrInvalid)
	}
	err := s.U.PutChunk(ctx, s.Drive, s.chunk(p), body)
	var apiErr *providers.APIError
	if errors.Is(err, providers.ErrInvalid) && errors.As(err, &apiErr) {
		if stored, serr := s.U.ChunkStored(ctx, s.Drive, s.chunk(p)); serr == nil && stored {
			return nil
		}
	}
	return err
}

// Stored asks the server whether it already holds the piece's chunk.
func (s ResumableSink) Stored(ctx context.Context, p chunker.Piece) (bool, error) {
	return s.U.ChunkStored(ctx, s.Drive, s.chunk(p))
}

// PlanResumable plans f (size bytes) for the resumable protocol: pieces of
// chunkSize bytes, the last one carrying the remainder, holes marked so
// they are not read (they are still sent: the protocol needs every chunk).
func PlanResumable(f *os.File, size, chunkSize int64) ([]chunker.Piece, error) {
	return chunker.PlanFile(f, size, chunkSize, true)
}

// ResumableIdentifier derives the protocol's resumableIdentifier for an
// image from what a rerun sees unchanged: its size, the chunk size and the
// xxhash of its first and last chunkSize bytes. It deliberately ignores the file's
// name and modification time, so a renamed or touched image still resumes,
// while a different image of the same size almost surely gets another
// identifier. Reading two chunks costs nothing next to the upload.
func ResumableIdentifier(img io.ReaderAt, size, chunkSize int64) (string, error) {
	if size <= 0 {
		return ResumableIdentifierOf(size, chunkSize, 0, 0)
	}
	// The first and the last chunkSize bytes: one chunk each, even when
	// the merged last piece is up to twice as long.
	n := min(size, chunkSize)
	var hashes [2]uint64
	for i, p := range []chunker.Piece{{Offset: 0, Length: n}, {Offset: size - n, Length: n}} {
		buf := make([]byte, p.Length)
		c, err := chunker.ReadChunk(img, p, buf)
		if err != nil {
			return "", fmt.Errorf("resumable identifier: %w", err)
		}
		hashes[i] = c.Hash
	}
	return ResumableIdentifierOf(size, chunkSize, hashes[0], hashes[1])
}

// ResumableIdentifierOf is ResumableIdentifier of an image whose first and
// last min(size, chunkSize) bytes have the chunker.Hash values first and
// last: a caller that fingerprinted the image already (a checkpoint's
// resume.Source hashes the same bytes) need not read it again.
func ResumableIdentifierOf(size, chunkSize int64, first, last uint64) (string, error) {
	if size <= 0 || chunkSize <= 0 {
		return "", fmt.Errorf("resumable identifier: %w: empty image", providers.ErrInvalid)
	}
	d := xxhash.New()
	var word [8]byte
	for _, v := range []uint64{uint64(size), uint64(chunkSize), first, last} {
		binary.LittleEndian.PutUint64(word[:], v)
		_, _ = d.Write(word[:])
	}
	return fmt.Sprintf("drivecp-%d-%016x", size, d.Sum64()), nil
}

// UploadResumable uploads img's pieces into the drive behind sink with the
// engine (parallel, retried, bounded memory). It fixes the options the
// protocol needs whatever o says: raw bodies (no gzip) and every chunk sent,
// zero ones included, since the drive leaves `uploading` only when all its
// chunks arrived. o.AskStored is honoured: set it when the drive may already
// hold chunks (a rerun, --drive). sink is a ResumableSink, or a
// PendingSink resolved with one once the drive exists.
func UploadResumable(ctx context.Context, img io.ReaderAt, pieces []chunker.Piece, sink Sink, o Options) (Summary, error) {
	o.Gzip = false
	o.SkipZero = false
	return Upload(ctx, img, pieces, sink, o)
}
