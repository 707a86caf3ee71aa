// Package qcow2write writes qcow2 files in one forward pass, for
// `drivecp download --format qcow2` and for the bench, which converts its
// raw image to qcow2.
//
// Layout: version 3, 64 KiB clusters, 16-bit refcounts (qemu-img's
// defaults), no compression, no backing file, every allocated cluster
// with refcount 1 (the COPIED flag set). A cluster of guest bytes that
// are all zero is left unallocated: it reads as zeros through qemu and
// go-qcow2reader, and costs no space.
//
// The file is written in guest order, without knowing in advance which
// clusters hold data:
//
//	cluster 0            header (written last)
//	clusters 1...        data clusters of guest range 0 (512 MiB), then
//	                     its L2 table; data of range 1, its L2 table; ...
//	                     (a range with no data has no L2 table)
//	then                 the L1 table
//	then                 the refcount blocks, then the refcount table
//
// so memory stays bounded for any drive size: one cluster of guest data,
// one L2 table (64 KiB, emitted as soon as its 512 MiB range is done) and
// the L1 table, 8 bytes per 512 MiB (16 KiB for 1 TiB). The refcount
// blocks need no memory: the file's clusters are contiguous and each is
// counted once, so they are generated at the end.
//
// The header goes last, so a file cut short has no valid header; File adds
// the rest of the guarantee: it writes FILE.part (mode 0600), fsyncs it
// and renames it to FILE only once complete, so a half-written file never
// looks complete.
package qcow2write

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/drivecp/drivecp/internal/atomicfile"
)

// The geometry of the files this package writes.
const (
	ClusterBits = 16
	ClusterSize = 1 << ClusterBits
	l2Entries   = ClusterSize / 8 // 8-byte entries per L2 table
	refEntries  = ClusterSize / 2 // 16-bit refcounts per block
	headerLen   = 104
	copied      = uint64(1) << 63 // refcount 1: written in place
)

// ErrSize is returned by Close when the guest bytes written differ from
// the size given to NewWriter, and by Write past that size.
var ErrSize = errors.New("qcow2write: guest bytes differ from the virtual size")

// Writer turns guest bytes, written in order, into a qcow2 file.
type Writer struct {
	f     io.WriterAt
	size  int64
	bw    *bufio.Writer
	host  int64  // next host cluster
	guest int64  // guest bytes taken
	cur   []byte // the guest cluster being filled
	n     int    // bytes of cur filled
	l1    []uint64
	l2    []uint64 // entries of L2 table l2Idx
	l2Idx int64
	l2Set bool // l2 has an allocated entry
	done  bool
}

// NewWriter returns a Writer of a size-byte guest image into f, which it
// writes from offset 0 on; f should be empty (a sparse file where the
// guest has zeros only if nothing else was there).
func NewWriter(f io.WriterAt, size int64) (*Writer, error) {
	if size < 0 || size > 1<<62 {
		return nil, fmt.Errorf("qcow2write: virtual size %d out of range", size)
	}
	nClusters := (size + ClusterSize - 1) / ClusterSize
	w := &Writer{f: f, size: size, host: 1, cur: make([]byte, ClusterSize),
		l1: make([]uint64, (nClusters+l2Entries-1)/l2Entries), l2: make([]uint64, l2Entries)}
	w.bw = bufio.NewWriterSize(&seqWriter{f: f, off: ClusterSize}, 1<<20)
	return w, nil
}

// seqWriter writes forward from off.
type seqWriter struct {
	f   io.WriterAt
	off int64
}

func (s *seqWriter) Write(p []byte) (int, error) {
	n, err := s.f.WriteAt(p, s.off)
	s.off += int64(n)
	return n, err
}

// Write takes the next guest bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("qcow2write: write after close")
	}
	if int64(len(p)) > w.size-w.guest {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrSize, w.size)
	}
	written := 0
	for len(p) > 0 {
		if w.n == 0 && len(p) >= ClusterSize {
			// A whole cluster in place: no copy (zeros, the bulk of a
			// mostly empty drive, are only compared).
			if err := w.putCluster(p[:ClusterSize]); err != nil {
				return written, err
			}
			p = p[ClusterSize:]
			written += ClusterSize
			continue
		}
		c := copy(w.cur[w.n:], p)
		w.n += c
		p = p[c:]
		written += c
		w.guest += int64(c)
		if w.n == ClusterSize {
			if err := w.flushCluster(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flushCluster stores the cluster being filled, padded with zeros.
func (w *Writer) flushCluster() error {
	clear(w.cur[w.n:])
	w.guest -= int64(w.n)
	w.n = 0
	return w.putCluster(w.cur)
}

// putCluster stores the guest cluster that starts at w.guest unless it is
// all zeros; the first cluster of a new 512 MiB range first emits the L2
// table of the previous one.
func (w *Writer) putCluster(b []byte) error {
	idx := w.guest / ClusterSize
	w.guest = min(w.guest+ClusterSize, w.size)
	if t := idx / l2Entries; t != w.l2Idx {
		if err := w.flushL2(); err != nil {
			return err
		}
		w.l2Idx = t
	}
	if bytes.Equal(b, zeroCluster[:]) {
		return nil
	}
	w.l2[idx%l2Entries] = uint64(w.host*ClusterSize) | copied
	w.l2Set = true
	w.host++
	_, err := w.bw.Write(b)
	return err
}

// zeroCluster is compared against, never written to.
var zeroCluster [ClusterSize]byte

// flushL2 writes the current L2 table, if it maps anything, and points
// its L1 entry at it.
func (w *Writer) flushL2() error {
	if !w.l2Set {
		return nil
	}
	w.l1[w.l2Idx] = uint64(w.host*ClusterSize) | copied
	w.host++
	if err := w.writeTable(w.l2, 1); err != nil {
		return err
	}
	clear(w.l2)
	w.l2Set = false
	return nil
}

// writeTable writes big-endian entries padded to clusters clusters.
func (w *Writer) writeTable(entries []uint64, clusters int64) error {
	var b [8]byte
	for _, e := range entries {
		binary.BigEndian.PutUint64(b[:], e)
		if _, err := w.bw.Write(b[:]); err != nil {
			return err
		}
	}
	return w.pad(clusters*ClusterSize - int64(len(entries))*8)
}

func (w *Writer) pad(n int64) error {
	var z [512]byte
	for n > 0 {
		k := min(n, int64(len(z)))
		if _, err := w.bw.Write(z[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Close writes the last cluster, the tables and then the header; it
// fails with ErrSize unless exactly the virtual size was written. It
// does not sync or close f.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.guest != w.size {
		return fmt.Errorf("%w: %d of %d bytes written", ErrSize, w.guest, w.size)
	}
	if w.n > 0 {
		if err := w.flushCluster(); err != nil {
			return err
		}
	}
	if err := w.flushL2(); err != nil {
		return err
	}
	// An empty image has no L1 table (offset 0), as qemu-img makes it:
	// a cluster that nothing points at would be a leak to qemu-img check.
	l1Off, l1Clusters := int64(0), (int64(len(w.l1))*8+ClusterSize-1)/ClusterSize
	if l1Clusters > 0 {
		l1Off = w.host
	}
	if err := w.writeTable(w.l1, l1Clusters); err != nil {
		return err
	}
	w.host += l1Clusters
	// The refcount blocks count every cluster of the file, themselves and
	// the table that points at them included: grow them until they do.
	var rb, rt int64 = 1, 1
	for {
		total := w.host + rb + rt
		nrb := (total + refEntries - 1) / refEntries
		nrt := max(1, (nrb*8+ClusterSize-1)/ClusterSize)
		if nrb == rb && nrt == rt {
			break
		}
		rb, rt = nrb, nrt
	}
	rbOff := w.host
	total := w.host + rb + rt
	var one [2]byte
	binary.BigEndian.PutUint16(one[:], 1)
	for i := range rb * refEntries {
		if i >= total {
			if err := w.pad((rb*refEntries - i) * 2); err != nil {
				return err
			}
			break
		}
		if _, err := w.bw.Write(one[:]); err != nil {
			return err
		}
	}
	rtOff := rbOff + rb
	var b [8]byte
	for i := range rb {
		binary.BigEndian.PutUint64(b[:], uint64((rbOff+i)*ClusterSize))
		if _, err := w.bw.Write(b[:]); err != nil {
			return err
		}
	}
	if err := w.pad(rt*ClusterSize - rb*8); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	// The header, and zeros to the end of its cluster (a zero extension
	// type ends the header extensions).
	h := make([]byte, ClusterSize)
	copy(h, "QFI\xfb")
	be := binary.BigEndian
	be.PutUint32(h[4:], 3)
	be.PutUint32(h[20:], ClusterBits)
	be.PutUint64(h[24:], uint64(w.size))
	be.PutUint32(h[36:], uint32(len(w.l1)))
	be.PutUint64(h[40:], uint64(l1Off*ClusterSize))
	be.PutUint64(h[48:], uint64(rtOff*ClusterSize))
	be.PutUint32(h[56:], uint32(rt))
	be.PutUint32(h[96:], 4) // refcount_order: 16 bits
	be.PutUint32(h[100:], headerLen)
	_, err := w.f.WriteAt(h, 0)
	return err
}

// File is a qcow2 file being written as PATH.part and renamed to PATH by
// Commit; until then PATH does not exist (or keeps its old content).
type File struct {
	*Writer
	f    *os.File
	path string
}

// Create starts PATH.part (mode 0600; it must not exist, so a raw
// download's resumable PATH.part is never overwritten) for a size-byte
// guest image.
func Create(path string, size int64) (*File, error) {
	f, err := os.OpenFile(path+".part", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(f, size)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{Writer: w, f: f, path: path}, nil
}

// Commit completes the file: tables and header, fsync, rename to PATH and
// fsync of the folder. On error PATH.part is removed.
func (f *File) Commit() error { return f.CommitChecked(nil) }

// CommitChecked is Commit that, when check is not nil, first hands it the
// name of the complete and synced PATH.part to read back (a verification
// against the source); if check fails, PATH.part is removed and PATH never
// appears.
func (f *File) CommitChecked(check func(part string) error) (err error) {
	defer func() {
		if err != nil {
			f.Abort()
		}
	}()
	if err := f.Writer.Close(); err != nil {
		return err
	}
	if err := f.f.Sync(); err != nil {
		return err
	}
	if err := f.f.Close(); err != nil {
		return err
	}
	if check != nil {
		if err := check(f.f.Name()); err != nil {
			return err
		}
	}
	if err := os.Rename(f.f.Name(), f.path); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(f.path))
}

// Abort removes PATH.part; PATH is untouched.
func (f *File) Abort() {
	f.f.Close()
	os.Remove(f.f.Name())
}
