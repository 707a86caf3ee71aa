package chunker

import (
	"bytes"
	"encoding/binary"
)

// IsZero reports whether b is all zero bytes.
//
// Past a short prefix it compares b with itself shifted by 64 bytes: if the
// first 64 bytes are zero and b[i] == b[i+64] everywhere, every byte is zero
// by induction. That hands the bulk of the work to bytes.Equal, whose
// assembly uses the widest vector registers the CPU has, and needs no zero
// buffer to compare against. It returns at the first differing block, so
// data that is not zero costs next to nothing. Measured on a 2-CPU AMD EPYC
// it scans zeros at about 110 GB/s, against 60 GB/s for a portable loop that
// ORs eight 64-bit words at a time (BenchmarkIsZero).
func IsZero(b []byte) bool {
	const shift = 64
	if len(b) < 2*shift {
		return isZeroWords(b)
	}
	return isZeroWords(b[:shift]) && bytes.Equal(b[shift:], b[:len(b)-shift])
}

// isZeroWords is the portable word-at-a-time check, for short slices where
// the call into bytes.Equal does not pay for itself.
func isZeroWords(b []byte) bool {
	for len(b) >= 64 {
		w := binary.LittleEndian.Uint64(b[0:8]) |
			binary.LittleEndian.Uint64(b[8:16]) |
			binary.LittleEndian.Uint64(b[16:24]) |
			binary.LittleEndian.Uint64(b[24:32]) |
			binary.LittleEndian.Uint64(b[32:40]) |
			binary.LittleEndian.Uint64(b[40:48]) |
			binary.LittleEndian.Uint64(b[48:56]) |
			binary.LittleEndian.Uint64(b[56:64])
		if w != 0 {
			return false
		}
		b = b[64:]
	}
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
