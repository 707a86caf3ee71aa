package command

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenUploadImage feeds arbitrary files through what `drivecp upload`
// does with its IMAGE before any network: detect the format, open it
// (qcow2 headers and tables, compressed stream headers), plan the chunks
// and read the first and last of them. Nothing may panic or hang, a refusal
// is a usage error (exit 2: bad input, never a crash or exit 1), and a file
// that opens can be planned and its first and last chunks read. The seeds are the qcow2 fixtures, a raw
// image and a gzip stream; go test runs only them, `go test -fuzz` mutates.
func FuzzOpenUploadImage(f *testing.F) {
	for _, name := range []string{"plain-v3.qcow2", "plain-v2.qcow2", "compressed.qcow2", "small-clusters.qcow2", "overlay.qcow2"} {
		b, err := os.ReadFile(filepath.Join(qcowFixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3}, 4096))
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(bytes.Repeat([]byte("raw image "), 1000))
	w.Close()
	f.Add(gz.Bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "image")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := openInput(path, false, nil)
		if err != nil {
			if code := ExitCode(err); code != ExitUsage {
				t.Fatalf("refusal of a %d-byte file exits %d, want %d: %v", len(data), code, ExitUsage, err)
			}
			return
		}
		defer in.Close()
		if in.At == nil {
			// A compressed stream: read a bounded prefix, as an upload
			// would read its first chunks.
			_, _ = io.CopyN(io.Discard, in.Stream, 1<<20)
			return
		}
		if in.Size > 64<<30 {
			// A header may claim any virtual size: planning it whole is
			// the upload's business (bounded there by the chunk size),
			// not this test's memory.
			buf := make([]byte, 64<<10)
			_, _ = in.At.ReadAt(buf, 0)
			_, _ = in.At.ReadAt(buf, in.Size-int64(len(buf)))
			return
		}
		pieces, err := in.Plan(64<<10, false)
		if err != nil {
			return
		}
		if len(pieces) > 0 {
			buf := make([]byte, 64<<10)
			for _, p := range []int{0, len(pieces) - 1} {
				_, _ = in.At.ReadAt(buf[:pieces[p].Length], pieces[p].Offset)
			}
		}
	})
}
