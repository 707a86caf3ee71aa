package imagefmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// recordedSize returns the decompressed size a seekable compressed file
// records about itself, or -1 when it records none:
//
//   - xz: the index at the end of each stream lists every block's
//     uncompressed size; the sum over all streams is exact.
//   - zstd: each frame header may carry the frame's content size; when every
//     frame does, the sum is exact (frames are walked by their block
//     headers, nothing is decompressed). One frame without it gives -1.
//   - gzip: the trailer's ISIZE is the length modulo 2^32 of the last member
//     only, so a 5 GiB image says 1 GiB and a multi-member (pigz) file says
//     nothing about the whole: never trusted, -1.
//   - bzip2 records no size: -1.
func recordedSize(f Format, r io.ReaderAt, fileSize int64) (int64, error) {
	switch f {
	case Xz:
		return xzSize(r, fileSize)
	case Zstd:
		return zstdSize(r, fileSize)
	}
	return -1, nil
}

// maxXzIndex bounds the index read into memory; an index lists 16 bytes or
// so per block, and xz -T makes blocks of tens of MiB.
const maxXzIndex = 16 << 20

func xzSize(r io.ReaderAt, fileSize int64) (int64, error) {
	var total int64
	pos := fileSize
	var four [4]byte
	for pos > 0 {
		// Stream padding: zero words between and after streams.
		if pos >= 4 {
			if _, err := r.ReadAt(four[:], pos-4); err != nil {
				return -1, fmt.Errorf("xz: %w", err)
			}
			if four == [4]byte{} {
				pos -= 4
				continue
			}
		}
		if pos < 24 {
			return -1, fmt.Errorf("%w: xz: truncated stream", ErrInvalid)
		}
		var foot [12]byte
		if _, err := r.ReadAt(foot[:], pos-12); err != nil {
			return -1, fmt.Errorf("xz: %w", err)
		}
		if string(foot[10:]) != "YZ" {
			return -1, fmt.Errorf("%w: xz: no stream footer at the end of the file", ErrInvalid)
		}
		indexSize := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
		if indexSize > maxXzIndex || indexSize > pos-24 {
			return -1, fmt.Errorf("%w: xz: index of %d bytes invalid", ErrInvalid, indexSize)
		}
		index := make([]byte, indexSize)
		if _, err := r.ReadAt(index, pos-12-indexSize); err != nil {
			return -1, fmt.Errorf("xz: %w", err)
		}
		blocks, usize, err := parseXzIndex(index)
		if err != nil {
			return -1, err
		}
		start := pos - 12 - indexSize - blocks - 12
		if start < 0 {
			return -1, fmt.Errorf("%w: xz: index describes more blocks than the file holds", ErrInvalid)
		}
		var head [6]byte
		if _, err := r.ReadAt(head[:], start); err != nil {
			return -1, fmt.Errorf("xz: %w", err)
		}
		if !bytes.Equal(head[:], []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
			return -1, fmt.Errorf("%w: xz: index does not match the stream", ErrInvalid)
		}
		if usize > 1<<62-total {
			return -1, fmt.Errorf("%w: xz: size overflows", ErrInvalid)
		}
		total += usize
		pos = start
	}
	return total, nil
}

// parseXzIndex returns the stored size of the blocks (padded to 4 bytes)
// and their uncompressed size.
func parseXzIndex(b []byte) (blocks, usize int64, err error) {
	bad := fmt.Errorf("%w: xz: malformed index", ErrInvalid)
	if len(b) < 8 || b[0] != 0 {
		return 0, 0, bad
	}
	p := 1
	varint := func() (int64, bool) {
		var v uint64
		for i := 0; i < 9 && p < len(b); i++ {
			c := b[p]
			p++
			v |= uint64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				return int64(v), v < 1<<62
			}
		}
		return 0, false
	}
	n, ok := varint()
	if !ok || n > int64(len(b))/2 {
		return 0, 0, bad
	}
	for range n {
		unpadded, ok1 := varint()
		u, ok2 := varint()
		if !ok1 || !ok2 || unpadded > 1<<62 || u > 1<<62-usize || blocks > 1<<62-unpadded {
			return 0, 0, bad
		}
		blocks += (unpadded + 3) &^ 3
		usize += u
	}
	return blocks, usize, nil
}

// zstdFrameContentSize parses the frame header at the start of b and
// returns its content size when recorded.
func zstdFrameContentSize(b []byte) (int64, bool) {
	size, _, ok := zstdFrameHeader(b)
	return size, ok && size >= 0
}

// zstdFrameHeader parses a zstd frame header: content size (-1 when absent),
// header length, and whether it parsed.
func zstdFrameHeader(b []byte) (size int64, hlen int, ok bool) {
	if len(b) < 5 || binary.LittleEndian.Uint32(b) != 0xfd2fb528 {
		return 0, 0, false
	}
	fhd := b[4]
	single := fhd&0x20 != 0
	if fhd&0x08 != 0 { // reserved bit
		return 0, 0, false
	}
	hlen = 5
	if !single {
		hlen++ // window descriptor
	}
	hlen += []int{0, 1, 2, 4}[fhd&3]
	fcsLen := []int{0, 2, 4, 8}[fhd>>6]
	if fcsLen == 0 && single {
		fcsLen = 1
	}
	if len(b) < hlen+fcsLen {
		return 0, 0, false
	}
	fcs := b[hlen : hlen+fcsLen]
	hlen += fcsLen
	switch fcsLen {
	case 0:
		return -1, hlen, true
	case 1:
		return int64(fcs[0]), hlen, true
	case 2:
		return int64(binary.LittleEndian.Uint16(fcs)) + 256, hlen, true
	case 4:
		return int64(binary.LittleEndian.Uint32(fcs)), hlen, true
	}
	v := binary.LittleEndian.Uint64(fcs)
	if v > 1<<62 {
		return 0, 0, false
	}
	return int64(v), hlen, true
}

// zstdSize sums the content sizes of every frame of a seekable file, or -1
// when a frame does not record one. Only headers are read.
func zstdSize(r io.ReaderAt, fileSize int64) (int64, error) {
	var total int64
	var pos int64
	buf := make([]byte, 18)
	bad := func(what string) (int64, error) {
		return -1, fmt.Errorf("%w: zstd: %s at offset %d", ErrInvalid, what, pos)
	}
	for pos < fileSize {
		n, err := r.ReadAt(buf, pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return -1, fmt.Errorf("zstd: %w", err)
		}
		if n < 8 {
			return bad("truncated frame")
		}
		magic := binary.LittleEndian.Uint32(buf)
		if magic&0xfffffff0 == 0x184d2a50 { // skippable frame
			pos += 8 + int64(binary.LittleEndian.Uint32(buf[4:]))
			continue
		}
		size, hlen, ok := zstdFrameHeader(buf[:n])
		if !ok {
			return bad("malformed frame header")
		}
		if size < 0 {
			return -1, nil
		}
		checksum := buf[4]&0x04 != 0
		pos += int64(hlen)
		for {
			var bh [3]byte
			if _, err := r.ReadAt(bh[:], pos); err != nil {
				return bad("truncated block")
			}
			v := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
			last, typ, bsize := v&1 != 0, (v>>1)&3, int64(v>>3)
			pos += 3
			switch typ {
			case 1: // RLE: one byte on disk
				pos++
			case 3:
				return bad("reserved block type")
			default:
				pos += bsize
			}
			if last {
				break
			}
		}
		if checksum {
			pos += 4
		}
		if pos > fileSize {
			return bad("truncated frame")
		}
		if size > 1<<62-total {
			return bad("content size overflow")
		}
		total += size
	}
	return total, nil
}
