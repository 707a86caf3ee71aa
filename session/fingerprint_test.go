package session

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/transfer"
)

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// unreadable fails every read: an identifier derived from the
// fingerprint must not read the image again.
type unreadable struct{}

func (unreadable) ReadAt([]byte, int64) (int, error) {
	return 0, errors.New("read the image a second time")
}

// TestFingerprintIdentifier: a raw image's chunked-upload identifier comes
// from the checkpoint fingerprint's hashes, without reading the image
// again, and equals the one hashing the chunks gives; a format whose
// virtual bytes are not the file's reads its own chunks.
func TestFingerprintIdentifier(t *testing.T) {
	dir := t.TempDir()
	const chunk = 16 << 10
	for _, size := range []int{chunk / 2, 3*chunk + 5} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7 / 3)
		}
		path := filepath.Join(dir, "disk.img")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := transfer.ResumableIdentifier(f, int64(size), chunk)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := fingerprintOf(Image{Path: path, File: f, Format: imagefmt.Raw, Size: int64(size), At: unreadable{}}, chunk)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fp.identifier()
		if err != nil || got != want {
			t.Errorf("size %d: identifier %q, %v; want %q", size, got, err, want)
		}

		// A qcow2's virtual image is other bytes than its file.
		virtual := bytes.Repeat([]byte{9}, size)
		fp.img.Format, fp.img.At = imagefmt.Qcow2, bytes.NewReader(virtual)
		other, _ := transfer.ResumableIdentifier(bytes.NewReader(virtual), int64(size), chunk)
		if got, err := fp.identifier(); err != nil || got != other || got == want {
			t.Errorf("size %d, qcow2: identifier %q, %v; want %q", size, got, err, other)
		}
		f.Close()
	}
}
