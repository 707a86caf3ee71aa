package emulator

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
)

// NewRand returns a generator that yields the same sequence for the same
// seed in every run, which is what makes injected faults reproducible.
func NewRand(seed int64) *mrand.Rand {
	s := uint64(seed)
	return mrand.New(mrand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

// SeededBytes returns n bytes that are a pure function of label (ChaCha8
// keyed by the label's first 32 bytes): content an emulator serves, such as
// a library image, that tests can recompute to check a copy.
func SeededBytes(label string, n int) []byte {
	var seed [32]byte
	copy(seed[:], label)
	b := make([]byte, n)
	_, _ = mrand.NewChaCha8(seed).Read(b) // ChaCha8.Read never fails
	return b
}

// NewUUID returns a random version 4 UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
