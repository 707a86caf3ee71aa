package chunker

import "github.com/cespare/xxhash/v2"

// Hash is the xxhash64 of b, the checksum drivecp records per chunk in
// checkpoints and compares when verifying.
func Hash(b []byte) uint64 { return xxhash.Sum64(b) }

// ZeroHash is Hash of n zero bytes, computed without an n-byte buffer.
func ZeroHash(n int64) uint64 {
	var zeros [32 << 10]byte
	d := xxhash.New()
	for n > 0 {
		k := min(n, int64(len(zeros)))
		d.Write(zeros[:k]) //nolint:errcheck // xxhash.Digest.Write never fails
		n -= k
	}
	return d.Sum64()
}
