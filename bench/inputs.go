package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/drivecp/drivecp/internal/qcow2write"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Inputs of `drivecp upload` besides the raw image file: the same content
// as a qcow2 file, compressed streams, or the raw image on standard input.
const (
	InputRaw   = ""
	InputQcow2 = "qcow2"
	InputGzip  = "gzip"
	InputXz    = "xz"
	InputZstd  = "zstd"
	InputBzip2 = "bzip2"
	InputStdin = "stdin"
)

// ErrNoWriter is returned by WriteInput when nothing here can write the
// format: Go's standard library only reads bzip2, so bzip2 files are made
// with the bzip2 program, when it is installed.
var ErrNoWriter = errors.New("no writer for this format")

// inputExt names the converted file of each input (the name is only for
// people: drivecp detects the format from the content).
var inputExt = map[string]string{InputQcow2: ".qcow2", InputGzip: ".gz", InputXz: ".xz", InputZstd: ".zst", InputBzip2: ".bz2"}

// WriteInput writes the raw image at src into a new file dst as input
// (qcow2, gzip, xz, zstd or bzip2), with the same content, as people get
// such files: qcow2 with the zero clusters unallocated; gzip, xz and zstd
// at their tools' default levels, zstd recording the content size in its
// frame header as the zstd program does for a file, xz single-threaded
// (ulikunitz/xz; one stream with its index, which records the size).
func WriteInput(ctx context.Context, src, dst, input string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if input == InputBzip2 {
		return writeBzip2(ctx, in, dst)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	r := &ctxReader{ctx: ctx, r: in}
	switch input {
	case InputQcow2:
		w, err := qcow2write.NewWriter(out, fi.Size())
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, bufio.NewReaderSize(r, 1<<20)); err != nil {
			return err
		}
		return w.Close()
	case InputGzip:
		return compressTo(out, r, func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil })
	case InputXz:
		return compressTo(out, r, func(w io.Writer) (io.WriteCloser, error) { return xz.NewWriter(w) })
	case InputZstd:
		return compressTo(out, r, func(w io.Writer) (io.WriteCloser, error) {
			enc, err := zstd.NewWriter(nil)
			if err == nil {
				enc.ResetContentSize(w, fi.Size())
			}
			return enc, err
		})
	}
	return fmt.Errorf("%w: %q", ErrNoWriter, input)
}

// compressTo copies r through the compressor newW makes into out.
func compressTo(out io.Writer, r io.Reader, newW func(io.Writer) (io.WriteCloser, error)) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	w, err := newW(bw)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeBzip2 runs the bzip2 program (default level 9, as people make
// .bz2 files) on in.
func writeBzip2(ctx context.Context, in *os.File, dst string) error {
	bin, err := exec.LookPath("bzip2")
	if err != nil {
		return fmt.Errorf("%w: bzip2 (Go only decompresses it; install the bzip2 program to measure it)", ErrNoWriter)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "-c")
	cmd.Stdin, cmd.Stdout = in, out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("bzip2: %w %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// inputPath is where the runner keeps the image converted to input.
func inputPath(workDir, input string) string {
	return filepath.Join(workDir, "input"+inputExt[input])
}
