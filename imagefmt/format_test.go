package imagefmt

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zstdBytes compresses b as one frame; EncodeAll records the content size.
func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// zstdStreamBytes compresses b through the streaming encoder, whose frame
// header does not record the content size.
func zstdStreamBytes(t testing.TB, b []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDetect(t *testing.T) {
	qcow := readFixture(t, "plain-v3.qcow2")
	raw := rawContent(t)
	vhd := make([]byte, 4096)
	copy(vhd[4096-512:], "conectix")
	vdi := make([]byte, 1024)
	copy(vdi, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	copy(vdi[0x40:], []byte{0x7f, 0x10, 0xda, 0xbe})
	qcow1 := []byte("QFI\xfb\x00\x00\x00\x01" + strings.Repeat("\x00", 64))
	cases := []struct {
		name   string
		image  []byte
		want   Format
		refuse string // text the refusal must contain, "" when readable
	}{
		{"raw", raw, Raw, ""},
		{"empty", nil, Raw, ""},
		{"zeros", make([]byte, 4096), Raw, ""},
		{"qcow2 v3", qcow, Qcow2, ""},
		{"qcow2 v2", readFixture(t, "plain-v2.qcow2"), Qcow2, ""},
		{"gzip", gzipBytes(t, raw), Gzip, ""},
		{"xz", xzBytes(t, raw), Xz, ""},
		{"zstd", zstdBytes(t, raw), Zstd, ""},
		{"bzip2", readFixture(t, "content.raw.bz2"), Bzip2, ""},
		{"vmdk sparse", append([]byte("KDMV\x01\x00\x00\x00"), make([]byte, 504)...), VMDK, "qemu-img convert -f vmdk -O raw SRC DST"},
		{"vmdk descriptor", []byte("# Disk DescriptorFile\nversion=1\n"), VMDK, "vmdk images are not supported"},
		{"vhd fixed (footer)", vhd, VHD, "qemu-img convert -f vpc -O raw SRC DST"},
		{"vhd dynamic (header)", append([]byte("conectix"), make([]byte, 1024)...), VHD, "vhd images"},
		{"vhdx", append([]byte("vhdxfile"), make([]byte, 1024)...), VHDX, "qemu-img convert -f vhdx -O raw SRC DST"},
		{"vdi", vdi, VDI, "qemu-img convert -f vdi -O raw SRC DST"},
		{"qcow version 1", qcow1, Qcow1, "qemu-img convert -f qcow -O raw"},
		{"gzip of qcow2", gzipBytes(t, qcow), Gzip, "qcow2 compressed with gzip needs random access"},
		{"xz of qcow2", xzBytes(t, qcow), Xz, "xz -dc SRC > IMAGE"},
		{"zstd of qcow2", zstdBytes(t, qcow), Zstd, "qcow2 compressed with zstd"},
		{"bzip2 of qcow2", readFixture(t, "plain-v3.qcow2.bz2"), Bzip2, "qcow2 compressed with bzip2"},
		{"xz of vmdk", xzBytes(t, []byte("KDMV\x01\x00\x00\x00")), Xz, "xz -dc SRC > IMAGE && qemu-img convert -f vmdk -O raw IMAGE DST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Detect(bytes.NewReader(c.image), int64(len(c.image)))
			if got != c.want {
				t.Fatalf("format %q, want %q (err %v)", got, c.want, err)
			}
			if c.refuse == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ue *UnsupportedError
			if !errors.Is(err, ErrUnsupported) || !errors.As(err, &ue) || !strings.Contains(err.Error(), c.refuse) {
				t.Fatalf("error %v, want a refusal containing %q", err, c.refuse)
			}
			// A stream has no end to look at, but the start decides the
			// same for every format that has its magic there.
			switch {
			case c.want.IsStream():
				// A prefix may be too short to decode (bzip2 blocks), so
				// the refusal comes from the decoded stream.
				if _, err := OpenStream(bytes.NewReader(c.image)); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.refuse) {
					t.Fatalf("OpenStream: %v", err)
				}
			case c.name != "vhd fixed (footer)":
				if got, err := DetectPrefix(c.image[:min(len(c.image), streamPeek)]); got != c.want || !errors.Is(err, ErrUnsupported) {
					t.Fatalf("DetectPrefix: %q %v", got, err)
				}
			}
		})
	}
}

func writeTemp(t testing.TB, name string, b []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOpenStreams(t *testing.T) {
	raw := rawContent(t)
	half := len(raw) / 2
	twoXz := append(append(xzBytes(t, raw[:half]), 0, 0, 0, 0), xzBytes(t, raw[half:])...)
	twoXz = append(twoXz, make([]byte, 8)...) // stream padding
	cases := []struct {
		name     string
		image    []byte
		format   Format
		fileSize int64 // Size when opened as a file
		pipeSize int64 // Size when read from a pipe
	}{
		{"gzip", gzipBytes(t, raw), Gzip, -1, -1},
		{"gzip two members", append(gzipBytes(t, raw[:half]), gzipBytes(t, raw[half:])...), Gzip, -1, -1},
		{"xz", xzBytes(t, raw), Xz, int64(len(raw)), -1},
		{"xz two streams with padding", twoXz, Xz, int64(len(raw)), -1},
		{"zstd one frame with size", zstdBytes(t, raw), Zstd, int64(len(raw)), int64(len(raw))},
		{"zstd two frames with sizes", append(zstdBytes(t, raw[:half]), zstdBytes(t, raw[half:])...), Zstd, int64(len(raw)), int64(half)},
		{"zstd without size", zstdStreamBytes(t, raw), Zstd, -1, -1},
		{"bzip2", readFixture(t, "content.raw.bz2"), Bzip2, -1, -1},
		{"raw", raw, Raw, int64(len(raw)), -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(src *Source, size int64) {
				t.Helper()
				defer src.Close()
				if src.Format != c.format || src.Size != size {
					t.Fatalf("format %q size %d, want %q %d", src.Format, src.Size, c.format, size)
				}
				var r io.Reader = src.Reader
				if r == nil {
					r = io.NewSectionReader(src.ReaderAt, 0, src.Size)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, raw) {
					t.Fatalf("decompressed %d bytes differ from the %d raw bytes", len(got), len(raw))
				}
			}
			src, err := Open(writeTemp(t, "image", c.image))
			if err != nil {
				t.Fatal(err)
			}
			check(src, c.fileSize)
			src, err = OpenStream(bytes.NewReader(c.image))
			if err != nil {
				t.Fatal(err)
			}
			check(src, c.pipeSize)
		})
	}
}

func TestOpenStreamRefusesQcow2(t *testing.T) {
	_, err := OpenStream(bytes.NewReader(readFixture(t, "plain-v3.qcow2")))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "random access") {
		t.Fatalf("error %v", err)
	}
}

// A window larger than MaxZstdWindow would let a stream make the decoder
// allocate it: refused while reading.
func TestZstdWindowLimit(t *testing.T) {
	big := zstdStreamBytes(t, bytes.Repeat([]byte("drivecp "), 1<<15), zstd.WithWindowSize(1<<29))
	if _, err := OpenStream(bytes.NewReader(big)); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "window") {
		t.Fatalf("error %v, want the window refused", err)
	}
	// In a later frame the refusal comes from Read.
	small := zstdStreamBytes(t, bytes.Repeat([]byte("x"), 8<<10))
	src, err := OpenStream(bytes.NewReader(append(small, big...)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := io.Copy(io.Discard, src.Reader); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "window") {
		t.Fatalf("error %v, want the window refused", err)
	}
	ok := zstdStreamBytes(t, bytes.Repeat([]byte("drivecp "), 1<<15), zstd.WithWindowSize(MaxZstdWindow))
	src, err = OpenStream(bytes.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if n, err := io.Copy(io.Discard, src.Reader); err != nil || n != 8<<15 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestRecordedSizeCorrupt(t *testing.T) {
	raw := rawContent(t)
	x := xzBytes(t, raw)
	x[len(x)-8] = 0xff // backward size
	x[len(x)-7] = 0xff
	if _, err := xzSize(bytes.NewReader(x), int64(len(x))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("xz with a bad index: %v", err)
	}
	z := zstdBytes(t, raw)
	if _, err := zstdSize(bytes.NewReader(z[:len(z)/2]), int64(len(z)/2)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("truncated zstd: %v", err)
	}
}

// An xz block header asking for a 3 GiB dictionary would make the
// decoder allocate it before reading a byte.
func TestXzDictLimit(t *testing.T) {
	x := xzBytes(t, []byte("drivecp"))
	if d, ok := xzFirstDict(x); !ok || d > MaxXzDict {
		t.Fatalf("dictionary of a small stream: %d %v", d, ok)
	}
	// The block header is 12 bytes in: size byte, flags, then the LZMA2
	// filter (id 0x21, one property byte holding the dictionary code).
	i := bytes.Index(x[12:], []byte{0x21, 0x01}) + 12
	x[i+2] = 39 // 3 GiB; the header CRC no longer matches, but the limit is checked first
	var err error
	alloc := allocDuring(func() { _, err = OpenStream(bytes.NewReader(x)) })
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "3072 MiB dictionary") {
		t.Fatalf("error %v", err)
	}
	if alloc > 8<<20 {
		t.Fatalf("allocated %d bytes", alloc)
	}
}

// A named pipe (e.g. bash's <(zstdcat ...)) is read as a stream and closed
// by Close like a file.
func TestOpenFifo(t *testing.T) {
	raw := rawContent(t)
	path := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(path); err != nil {
		t.Skip("no fifo:", err)
	}
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = w.Write(gzipBytes(t, raw))
		w.Close()
	}()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	if src.Format != Gzip || src.Size != -1 || src.ReaderAt != nil {
		t.Fatalf("format %q size %d", src.Format, src.Size)
	}
	got, err := io.ReadAll(src.Reader)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err == nil {
		t.Fatal("Close left the fifo open")
	}
}
