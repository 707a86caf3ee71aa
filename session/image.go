package session

import (
	"fmt"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/transfer"
)

// StdinPath is the Image.Path of standard input.
const StdinPath = "-"

// Image is what an upload sends: a raw or qcow2 file read at random
// (At), or a compressed file or standard input read once (Stream).
type Image struct {
	// Path is the image as the user named it; StdinPath for standard input.
	Path string
	// File is the opened file, which a checkpoint fingerprints; nil for
	// standard input.
	File *os.File
	// Format is what the content is (raw when read as it is).
	Format imagefmt.Format
	// Size is the virtual size in bytes, -1 when a stream records none.
	Size int64
	// At reads the virtual image (raw, qcow2); nil for streams.
	At io.ReaderAt
	// Stream yields the decompressed image once; nil for random access.
	Stream io.Reader
	// Extents are the ranges that may hold data; nil means unknown.
	Extents []imagefmt.Extent
	// Backing are the backing files a qcow2 image reads through, which a
	// resumed upload checks as it checks the image's own file.
	Backing []imagefmt.BackingFile
}

// backingFingerprint is a digest of the image's backing chain (paths,
// sizes, modification times), "" without one: a checkpoint records it, so
// that a backing file replaced between runs is caught like a changed image
// (only the top file's first and last chunks are fingerprinted otherwise).
func (img Image) backingFingerprint() string {
	if len(img.Backing) == 0 {
		return ""
	}
	d := xxhash.New()
	for _, b := range img.Backing {
		fmt.Fprintf(d, "%s\x00%d\x00%d\x00", b.Path, b.Size, b.ModTime.UnixNano())
	}
	return fmt.Sprintf("%016x", d.Sum64())
}

// IsStdin reports whether the image is standard input.
func (img Image) IsStdin() bool { return img.File == nil }

// Plan plans a random-access image in chunkSize pieces (mergeTail as for
// chunker.Plan) and marks the pieces that need not be read: holes of a raw
// file (SEEK_HOLE), and pieces outside every data extent of a qcow2.
func (img Image) Plan(chunkSize int64, mergeTail bool) ([]chunker.Piece, error) {
	if img.Format == imagefmt.Raw && img.File != nil {
		return chunker.PlanFile(img.File, img.Size, chunkSize, mergeTail)
	}
	pieces := chunker.Plan(img.Size, chunkSize, mergeTail)
	if img.Extents != nil {
		markOutside(pieces, img.Extents)
	}
	return pieces, nil
}

// markOutside sets Hole on every piece of ps (sorted by offset) that
// overlaps none of the sorted, non-overlapping extents: it reads as zeros
// and need never be read. One pass over both lists.
func markOutside(ps []chunker.Piece, extents []imagefmt.Extent) {
	e := 0
	for i := range ps {
		p := &ps[i]
		for e < len(extents) && extents[e].Off+extents[e].Len <= p.Offset {
			e++
		}
		p.Hole = e == len(extents) || extents[e].Off >= p.End()
	}
}

// fingerprint is the image's one reading for identity: its file's size,
// modification time and the hashes of its first and last chunkSize bytes
// (resume.SourceOf), which the checkpoint records and compares, and from
// which a raw image's chunked-upload identifier is derived without reading
// those chunks again.
type fingerprint struct {
	src       resume.Source
	img       Image
	chunkSize int64
}

// fingerprintOf reads the fingerprint of img's file in chunkSize pieces.
func fingerprintOf(img Image, chunkSize int64) (fingerprint, error) {
	src, err := resume.SourceOf(img.File, chunkSize)
	if err != nil {
		return fingerprint{}, err
	}
	return fingerprint{src: src, img: img, chunkSize: chunkSize}, nil
}

// identifier is the chunked upload's resumable identifier
// (transfer.ResumableIdentifier). A raw file's virtual image is the file's
// bytes, so the fingerprint's hashes are the identifier's; another format
// (a qcow2's virtual bytes are not the file's) reads its own two chunks.
func (fp fingerprint) identifier() (string, error) {
	if fp.img.Format == imagefmt.Raw && fp.src.Size == fp.img.Size {
		return transfer.ResumableIdentifierOf(fp.img.Size, fp.chunkSize, fp.src.FirstHash, fp.src.LastHash)
	}
	return transfer.ResumableIdentifier(fp.img.At, fp.img.Size, fp.chunkSize)
}
