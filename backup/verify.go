package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"

	"github.com/drivecp/drivecp/chunker"
)

// BadChunk is a chunk of an image that does not match its manifest.
type BadChunk struct {
	Index  int    `json:"index"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Want   string `json:"want"`
	// Got is the chunk's xxhash64, or empty when the chunk is missing
	// (the file ends before it does).
	Got     string `json:"got,omitempty"`
	Missing bool   `json:"missing,omitempty"`
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Image    string     `json:"image"`
	OK       bool       `json:"ok"`
	Size     int64      `json:"size"`      // the file's size
	WantSize int64      `json:"want_size"` // the manifest's
	Chunks   int        `json:"chunks"`
	Bad      []BadChunk `json:"bad,omitempty"`
	// XXH64 is the whole file's xxhash64, set when the sizes match.
	XXH64 string `json:"xxh64,omitempty"`
}

// SizeMismatch reports whether the file was truncated or extended.
func (r VerifyReport) SizeMismatch() bool { return r.Size != r.WantSize }

// Verify checks the image at path against m: its size, every chunk's
// xxhash64, and the whole file's xxhash64. Mismatches go into the report,
// which is OK only when there are none; the error is for failures to check
// (unreadable file, cancellation, a manifest that is inconsistent). Chunks
// that the file is too short to hold are reported as missing; bytes past
// the manifest's size make the size mismatch. SHA-256 is not recomputed:
// the per-chunk hashes already cover every byte, and the SHA-256 is there for
// `sha256sum`.
func Verify(ctx context.Context, path string, m *Manifest) (VerifyReport, error) {
	rep := VerifyReport{Image: path, WantSize: m.Size, Chunks: len(m.Chunks)}
	if err := m.check(); err != nil {
		return rep, err
	}
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	rep.Size = fi.Size()
	pieces, err := chunker.PlanFile(f, m.Size, m.ChunkSize, false)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	whole := xxhash.New()
	r := chunker.NewReader(f)
	buf := make([]byte, m.ChunkSize)
	for _, p := range pieces {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		want := m.Chunks[p.Index].XXH64
		c, err := r.ReadChunk(p, buf)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			rep.Bad = append(rep.Bad, BadChunk{Index: p.Index, Offset: p.Offset, Length: p.Length, Want: want, Missing: true})
			continue
		case err != nil:
			return rep, fmt.Errorf("verify %s: %w", path, err)
		}
		whole.Write(c.Data) //nolint:errcheck // hash writes never fail
		if got := formatHash(c.Hash); got != want {
			rep.Bad = append(rep.Bad, BadChunk{Index: p.Index, Offset: p.Offset, Length: p.Length, Want: want, Got: got})
		}
	}
	if !rep.SizeMismatch() {
		rep.XXH64 = formatHash(whole.Sum64())
	}
	// The whole-file hash is implied by the chunk hashes; comparing it still
	// catches a manifest whose chunk list and whole hash disagree.
	rep.OK = len(rep.Bad) == 0 && !rep.SizeMismatch() && rep.XXH64 == m.XXH64
	return rep, nil
}
