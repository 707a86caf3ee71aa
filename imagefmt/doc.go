// Package imagefmt recognises and opens the drive images people actually
// have, so the upload pipeline can read them without a temporary copy.
//
// # Contract
//
// Detect looks at content only, never at a file name, and returns the
// Format. Formats drivecp cannot read (VMDK, VHD, VHDX, VDI, qcow version 1,
// a compressed qcow2) come back as an *UnsupportedError that names the
// format and the qemu-img command that converts it; errors.Is(err,
// ErrUnsupported) holds for all of them so the command layer maps them to
// exit code 2 without looking at text.
//
// Open (a seekable file) and OpenStream (standard input or any io.Reader)
// return a *Source:
//
//   - Format: what the content is.
//   - Size: the virtual size in bytes: the file size for raw, the header's
//     virtual size for qcow2, what a compressed stream records about itself
//     (xz index, zstd frame headers) or -1 when nothing does, in which case
//     the caller needs --size.
//   - Extents: the sorted, merged, non-overlapping byte ranges that may hold
//     non-zero data; everything outside them reads as zeros and need never
//     be read. nil means "unknown: read everything" (raw files, streams, or
//     a qcow2 so fragmented that the list would exceed MaxExtents). An empty
//     non-nil slice means the whole image reads as zeros.
//   - ReaderAt: non-nil for random-access formats (raw, qcow2); safe for
//     concurrent use; reads past Size return io.EOF.
//   - Reader: non-nil for streams (gzip, xz, zstd, bzip2): the decompressed
//     raw image, read once from the start.
//
// Close releases the file and any backing files.
//
// # Memory
//
// A qcow2 header is validated before the reader library sees it, so what it
// claims cannot make drivecp allocate more than the file could justify: the
// L1 table is at most MaxL1Entries entries and must lie inside the file,
// clusters are 512 B..2 MiB, every L2 table and data cluster must lie
// inside the file, an L2 table may not be shared by two L1 entries, and a
// backing chain is at most MaxBackingDepth deep and may not loop. Such
// images fail with an error for which errors.Is(err, ErrInvalid) holds.
// The zstd decoder refuses windows above MaxZstdWindow.
package imagefmt
