// Package chunker splits drive images into fixed-size pieces and prepares
// them for transfer: it finds file-system holes, detects all-zero chunks,
// hashes chunks with xxhash64 and gzips them, with pooled buffers and
// compressors so memory stays bounded by the caller's concurrency rather
// than by the image size.
//
// The package does no I/O scheduling of its own; the transfer engine decides
// how many chunks are in flight and owns every buffer it gets from a
// BufferPool until it puts it back.
package chunker
