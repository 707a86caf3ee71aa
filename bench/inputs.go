package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

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
		return writeQcow2(ctx, in, fi.Size(), out)
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

// The qcow2 files writeQcow2 makes: version 3, 64 KiB clusters, 16-bit
// refcounts (qemu-img's defaults), no compression, no backing file.
const (
	qcowClusterBits = 16
	qcowCluster     = 1 << qcowClusterBits
	qcowL2Entries   = qcowCluster / 8 // 8-byte entries per L2 table
	qcowRefEntries  = qcowCluster / 2 // 16-bit refcounts per block
	qcowHeaderLen   = 104
	qcowCopied      = uint64(1) << 63 // refcount 1: written in place
)

// writeQcow2 writes the image in (size bytes) as a qcow2 file whose
// clusters that read as zeros are unallocated, as qemu-img convert makes
// it. It reads the image twice: once to find the clusters that hold data,
// so the layout (header, L1 table, refcount table and blocks, L2 tables,
// then the data clusters in guest order) is known before anything is
// written, and once to copy them.
func writeQcow2(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
	nClusters := (size + qcowCluster - 1) / qcowCluster
	used := make([]bool, nClusters)
	buf := make([]byte, qcowCluster)
	zero := make([]byte, qcowCluster)
	var nData int64
	for i := range used {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := readCluster(in, buf, int64(i), size)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, zero[:len(b)]) {
			used[i] = true
			nData++
		}
	}
	l1Size := (nClusters + qcowL2Entries - 1) / qcowL2Entries
	l2Used := make([]bool, l1Size)
	var nL2 int64
	for i, u := range used {
		if u && !l2Used[int64(i)/qcowL2Entries] {
			l2Used[int64(i)/qcowL2Entries] = true
			nL2++
		}
	}
	l1Clusters := max(1, (l1Size*8+qcowCluster-1)/qcowCluster)
	// The refcount blocks count every cluster of the file, themselves and
	// the table that points at them included: grow them until they do.
	var rtClusters, rbClusters int64 = 1, 1
	for {
		total := 1 + l1Clusters + rtClusters + rbClusters + nL2 + nData
		rb := (total + qcowRefEntries - 1) / qcowRefEntries
		rt := max(1, (rb*8+qcowCluster-1)/qcowCluster)
		if rb == rbClusters && rt == rtClusters {
			break
		}
		rbClusters, rtClusters = rb, rt
	}
	l1Off := int64(1)
	rtOff := l1Off + l1Clusters
	rbOff := rtOff + rtClusters
	l2Off := rbOff + rbClusters
	dataOff := l2Off + nL2
	total := dataOff + nData

	w := bufio.NewWriterSize(out, 1<<20)
	// Header, then zeros to the end of its cluster (a zero extension type
	// ends the header extensions).
	h := make([]byte, qcowCluster)
	copy(h, "QFI\xfb")
	be := binary.BigEndian
	be.PutUint32(h[4:], 3)
	be.PutUint32(h[20:], qcowClusterBits)
	be.PutUint64(h[24:], uint64(size))
	be.PutUint32(h[36:], uint32(l1Size))
	be.PutUint64(h[40:], uint64(l1Off*qcowCluster))
	be.PutUint64(h[48:], uint64(rtOff*qcowCluster))
	be.PutUint32(h[56:], uint32(rtClusters))
	be.PutUint32(h[96:], 4) // refcount_order: 16 bits
	be.PutUint32(h[100:], qcowHeaderLen)
	if _, err := w.Write(h); err != nil {
		return err
	}
	// L1 table: the L2 tables follow one another in the order of the L1
	// entries that have one.
	table := make([]byte, l1Clusters*qcowCluster)
	next := l2Off
	for i, u := range l2Used {
		if u {
			be.PutUint64(table[i*8:], uint64(next*qcowCluster)|qcowCopied)
			next++
		}
	}
	if _, err := w.Write(table); err != nil {
		return err
	}
	// Refcount table and blocks: every cluster of the file once.
	table = make([]byte, rtClusters*qcowCluster)
	for i := range rbClusters {
		be.PutUint64(table[i*8:], uint64((rbOff+i)*qcowCluster))
	}
	if _, err := w.Write(table); err != nil {
		return err
	}
	table = make([]byte, rbClusters*qcowCluster)
	for i := range total {
		be.PutUint16(table[i*2:], 1)
	}
	if _, err := w.Write(table); err != nil {
		return err
	}
	// L2 tables: the data clusters follow one another in guest order.
	next = dataOff
	l2 := make([]byte, qcowCluster)
	for t, u := range l2Used {
		if !u {
			continue
		}
		clear(l2)
		for j := range int64(qcowL2Entries) {
			c := int64(t)*qcowL2Entries + j
			if c < nClusters && used[c] {
				be.PutUint64(l2[j*8:], uint64(next*qcowCluster)|qcowCopied)
				next++
			}
		}
		if _, err := w.Write(l2); err != nil {
			return err
		}
	}
	for i, u := range used {
		if !u {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := readCluster(in, buf, int64(i), size)
		if err != nil {
			return err
		}
		// The last cluster is padded: a file of whole clusters.
		clear(buf[len(b):])
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Flush()
}

// readCluster reads cluster i of an image of size bytes into buf, short at
// the end of the image.
func readCluster(in io.ReaderAt, buf []byte, i, size int64) ([]byte, error) {
	off := i * qcowCluster
	b := buf[:min(qcowCluster, size-off)]
	if n, err := in.ReadAt(b, off); err != nil && !(n == len(b) && errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("reading the image at %d: %w", off, err)
	}
	return b, nil
}

// inputPath is where the runner keeps the image converted to input.
func inputPath(workDir, input string) string {
	return filepath.Join(workDir, "input"+inputExt[input])
}
