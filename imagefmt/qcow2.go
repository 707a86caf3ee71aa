package imagefmt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/lima-vm/go-qcow2reader/image"
	"github.com/lima-vm/go-qcow2reader/image/qcow2"
	"github.com/lima-vm/go-qcow2reader/image/raw"
)

// Limits on what a qcow2 header may claim. They are qemu's own where qemu
// has one, so every image qemu writes passes.
const (
	// MaxL1Entries is qemu's QCOW_MAX_L1_SIZE (32 MiB) in entries.
	MaxL1Entries = 32 << 20 / 8
	// MinClusterBits and MaxClusterBits are qemu's 512 B and 2 MiB.
	MinClusterBits = 9
	MaxClusterBits = 21
	// MaxBackingDepth bounds a backing chain; each level holds its own L1
	// table and an L2 cache of 16 clusters.
	MaxBackingDepth = 16
	// MaxExtents bounds the data extent list (16 bytes each); a more
	// fragmented image gets nil extents, meaning "read everything".
	MaxExtents = 1 << 20
)

// Extent is a byte range [Off, Off+Len) of the virtual image.
type Extent struct {
	Off int64
	Len int64
}

// qcowHeader holds the fields drivecp validates before go-qcow2reader
// parses the image.
type qcowHeader struct {
	version       uint32
	backingOff    uint64
	backingLen    uint32
	clusterBits   uint32
	size          uint64
	crypt         uint32
	l1Size        uint32
	l1Off         uint64
	incompatible  uint64
	headerLen     uint32
	compression   byte
	backingFormat string
}

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: qcow2: "+format, append([]any{ErrInvalid}, a...)...)
}

// parseQcowHeader reads and checks the header and its extensions against
// the file size, so no later step allocates what the header merely claims.
func parseQcowHeader(r io.ReaderAt, fileSize int64) (*qcowHeader, error) {
	var b [112]byte
	n, err := r.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("qcow2: read header: %w", err)
	}
	if n < 72 || string(b[:4]) != "QFI\xfb" {
		return nil, invalidf("header truncated (%d bytes)", n)
	}
	be := binary.BigEndian
	h := &qcowHeader{
		version:     be.Uint32(b[4:]),
		backingOff:  be.Uint64(b[8:]),
		backingLen:  be.Uint32(b[16:]),
		clusterBits: be.Uint32(b[20:]),
		size:        be.Uint64(b[24:]),
		crypt:       be.Uint32(b[32:]),
		l1Size:      be.Uint32(b[36:]),
		l1Off:       be.Uint64(b[40:]),
		headerLen:   72,
	}
	switch h.version {
	case 2:
	case 3:
		if n < 104 {
			return nil, invalidf("version 3 header truncated (%d bytes)", n)
		}
		h.incompatible = be.Uint64(b[72:])
		h.headerLen = be.Uint32(b[100:])
		if h.headerLen > 104 && n > 104 {
			h.compression = b[104]
		}
	default:
		return nil, invalidf("unknown version %d", h.version)
	}
	if h.clusterBits < MinClusterBits || h.clusterBits > MaxClusterBits {
		return nil, invalidf("cluster bits %d out of range %d..%d", h.clusterBits, MinClusterBits, MaxClusterBits)
	}
	cluster := uint64(1) << h.clusterBits
	if h.version == 3 && (h.headerLen < 104 || h.headerLen%8 != 0 || uint64(h.headerLen) > cluster) {
		return nil, invalidf("header length %d invalid", h.headerLen)
	}
	if h.crypt != 0 {
		return nil, &UnsupportedError{Format: "encrypted qcow2 images", Reason: "are not supported",
			Hint: "qemu-img convert --object secret,id=sec0,file=PASSFILE --image-opts driver=qcow2,file.filename=SRC,encrypt.key-secret=sec0 -O raw DST"}
	}
	const (
		bitDirty = 1 << iota
		bitCorrupt
		bitExternalData
		bitCompressionType
		bitExtendedL2
	)
	switch {
	case h.incompatible&bitExternalData != 0:
		return nil, &UnsupportedError{Format: "qcow2 images with an external data file", Reason: "are not supported",
			Hint: "qemu-img convert -f qcow2 -O raw SRC DST"}
	case h.incompatible&bitCorrupt != 0:
		return nil, invalidf("image is marked corrupt; repair it with qemu-img check -r all SRC")
	case h.incompatible&bitExtendedL2 != 0:
		return nil, &UnsupportedError{Format: "qcow2 images with extended L2 entries", Reason: "are not supported",
			Hint: "qemu-img convert -f qcow2 -O raw SRC DST"}
	case h.incompatible&^(bitDirty|bitCompressionType) != 0:
		return nil, &UnsupportedError{Format: "qcow2 images with unknown incompatible features", Reason: "are not supported",
			Hint: "qemu-img convert -f qcow2 -O raw SRC DST"}
	}
	switch h.compression {
	case 0:
	case 1:
		return nil, &UnsupportedError{Format: "qcow2 images with zstd-compressed clusters", Reason: "are not supported",
			Hint: "qemu-img convert -f qcow2 -O raw SRC DST"}
	default:
		return nil, invalidf("unknown compression type %d", h.compression)
	}
	if h.size > 1<<62 {
		return nil, invalidf("virtual size %d too large", h.size)
	}
	// Every virtual cluster needs an L1 entry; qemu refuses a smaller table.
	shift := 2*h.clusterBits - 3 // bytes covered by one L1 entry
	need := h.size >> shift
	if h.size&(1<<shift-1) != 0 {
		need++
	}
	if need > MaxL1Entries {
		return nil, invalidf("virtual size %d needs %d L1 entries, more than the limit %d", h.size, need, MaxL1Entries)
	}
	if uint64(h.l1Size) < need {
		return nil, invalidf("L1 table of %d entries cannot cover virtual size %d", h.l1Size, h.size)
	}
	if h.l1Size > MaxL1Entries {
		return nil, invalidf("L1 table of %d entries exceeds the limit %d", h.l1Size, MaxL1Entries)
	}
	if h.l1Size > 0 && (h.l1Off == 0 || h.l1Off%cluster != 0 || h.l1Off > uint64(fileSize) ||
		uint64(h.l1Size)*8 > uint64(fileSize)-h.l1Off) {
		return nil, invalidf("L1 table (%d entries at %d) lies outside the %d-byte file", h.l1Size, h.l1Off, fileSize)
	}
	if h.backingOff != 0 {
		if h.backingLen == 0 || h.backingLen > 1023 || h.backingOff > cluster ||
			h.backingOff+uint64(h.backingLen) > min(cluster, uint64(fileSize)) {
			return nil, invalidf("backing file name (%d bytes at %d) invalid", h.backingLen, h.backingOff)
		}
	}
	if err := h.readExtensions(r, fileSize); err != nil {
		return nil, err
	}
	return h, nil
}

// readExtensions walks the header extensions, which qemu keeps inside the
// first cluster; an area without an end marker there is refused so the
// reader library's own walk stops too.
func (h *qcowHeader) readExtensions(r io.ReaderAt, fileSize int64) error {
	end := min(int64(1)<<h.clusterBits, fileSize)
	off := int64(h.headerLen)
	var hdr [8]byte
	for {
		if off+8 > end {
			return invalidf("header extensions run past the first cluster")
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return fmt.Errorf("qcow2: read header extension: %w", err)
		}
		typ := binary.BigEndian.Uint32(hdr[:4])
		length := int64(binary.BigEndian.Uint32(hdr[4:]))
		off += 8
		if typ == 0 {
			return nil
		}
		if length > end-off {
			return invalidf("header extension 0x%08x of %d bytes runs past the first cluster", typ, length)
		}
		switch typ {
		case 0xe2792aca: // backing file format name
			name := make([]byte, length)
			if _, err := r.ReadAt(name, off); err != nil {
				return fmt.Errorf("qcow2: read backing format: %w", err)
			}
			h.backingFormat = string(name)
		case 0x44415441: // external data file name
			return &UnsupportedError{Format: "qcow2 images with an external data file", Reason: "are not supported",
				Hint: "qemu-img convert -f qcow2 -O raw SRC DST"}
		case 0x0537be77: // full disk encryption header
			return &UnsupportedError{Format: "encrypted qcow2 images", Reason: "are not supported",
				Hint: "qemu-img convert --image-opts ... -O raw DST"}
		}
		off += (length + 7) &^ 7
	}
}

// qcowLayer is one validated image of a backing chain.
type qcowLayer struct {
	h       *qcowHeader
	size    int64 // virtual
	data    []Extent
	unalloc []Extent // reads from the backing file, or zeros without one
	backing *chainLink
}

// chainLink is an opened backing file.
type chainLink struct {
	path    string
	format  Format
	size    int64    // virtual size
	extents []Extent // nil: all data
}

// mapLayer walks the L1 and L2 tables of a validated header and sorts every
// cluster into data, zero, or unallocated, checking each pointer against the
// file size. Work is bounded by the file: distinct L2 tables each occupy a
// cluster of it.
func mapLayer(r io.ReaderAt, fileSize int64, h *qcowHeader) (data, unalloc []Extent, err error) {
	cluster := int64(1) << h.clusterBits
	l2Entries := cluster / 8
	size := int64(h.size)
	l1 := make([]byte, int64(h.l1Size)*8)
	if _, err := r.ReadAt(l1, int64(h.l1Off)); err != nil {
		return nil, nil, fmt.Errorf("qcow2: read L1 table: %w", err)
	}
	seen := make([]uint64, 0, 64)
	for i := range int64(h.l1Size) {
		if l2 := binary.BigEndian.Uint64(l1[i*8:]) & 0x00fffffffffffe00; l2 != 0 {
			seen = append(seen, l2)
		}
	}
	slices.Sort(seen)
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			return nil, nil, invalidf("L2 table at %d is used twice by the L1 table", seen[i])
		}
	}
	seen = nil
	var b extentBuilder
	l2buf := make([]byte, cluster)
	compressedShift := 62 - (h.clusterBits - 8)
	for i := int64(0); i*l2Entries*cluster < size; i++ {
		base := i * l2Entries * cluster
		span := min(l2Entries*cluster, size-base)
		l2 := binary.BigEndian.Uint64(l1[i*8:]) & 0x00fffffffffffe00
		if l2 == 0 {
			b.add(&unalloc, base, span)
			continue
		}
		if l2%uint64(cluster) != 0 || l2 > uint64(fileSize) || uint64(cluster) > uint64(fileSize)-l2 {
			return nil, nil, invalidf("L2 table at %d (L1 index %d) lies outside the %d-byte file", l2, i, fileSize)
		}
		if _, err := r.ReadAt(l2buf, int64(l2)); err != nil {
			return nil, nil, fmt.Errorf("qcow2: read L2 table at %d: %w", l2, err)
		}
		for j := int64(0); j < l2Entries && j*cluster < span; j++ {
			off := base + j*cluster
			n := min(cluster, size-off)
			e := binary.BigEndian.Uint64(l2buf[j*8:])
			switch {
			case e&(1<<62) != 0: // compressed
				host := e & (1<<compressedShift - 1)
				if host == 0 || host >= uint64(fileSize) {
					return nil, nil, invalidf("compressed cluster at %d for offset %d lies outside the %d-byte file", host, off, fileSize)
				}
				b.add(&data, off, n)
			case e&1 != 0: // reads as zeros
			default:
				host := e & 0x00fffffffffffe00
				if host == 0 {
					b.add(&unalloc, off, n)
					continue
				}
				if host%uint64(cluster) != 0 || host > uint64(fileSize) || uint64(cluster) > uint64(fileSize)-host {
					return nil, nil, invalidf("data cluster at %d for offset %d lies outside the %d-byte file", host, off, fileSize)
				}
				b.add(&data, off, n)
			}
			if b.over {
				return nil, nil, errTooManyExtents
			}
		}
	}
	return data, unalloc, nil
}

var errTooManyExtents = errors.New("too many extents")

// extentBuilder appends ranges, merging a range that continues the last one.
type extentBuilder struct{ over bool }

func (b *extentBuilder) add(list *[]Extent, off, n int64) {
	l := *list
	if k := len(l); k > 0 && l[k-1].Off+l[k-1].Len == off {
		l[k-1].Len += n
		return
	}
	if len(l) >= MaxExtents {
		b.over = true
		return
	}
	*list = append(l, Extent{Off: off, Len: n})
}

// intersect returns the parts of a that lie inside b; both sorted.
func intersect(a, b []Extent) []Extent {
	var out []Extent
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo := max(a[i].Off, b[j].Off)
		hi := min(a[i].Off+a[i].Len, b[j].Off+b[j].Len)
		if lo < hi {
			out = append(out, Extent{Off: lo, Len: hi - lo})
		}
		if a[i].Off+a[i].Len < b[j].Off+b[j].Len {
			i++
		} else {
			j++
		}
	}
	return out
}

// union merges two sorted lists of ranges.
func union(a, b []Extent) []Extent {
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y Extent) int {
		switch {
		case x.Off < y.Off:
			return -1
		case x.Off > y.Off:
			return 1
		}
		return 0
	})
	var out []Extent
	for _, e := range all {
		if k := len(out); k > 0 && out[k-1].Off+out[k-1].Len >= e.Off {
			out[k-1].Len = max(out[k-1].Len, e.Off+e.Len-out[k-1].Off)
			continue
		}
		out = append(out, e)
	}
	return out
}

// qcowChain validates an image and its backing files and computes the
// image's data extents (nil when too fragmented to list).
func qcowChain(r io.ReaderAt, fileSize int64, name string, depth int, visited []os.FileInfo, chain *[]BackingFile) (*qcowHeader, []Extent, error) {
	h, err := parseQcowHeader(r, fileSize)
	if err != nil {
		return nil, nil, err
	}
	data, unalloc, err := mapLayer(r, fileSize, h)
	tooMany := errors.Is(err, errTooManyExtents)
	if err != nil && !tooMany {
		return nil, nil, err
	}
	if h.backingOff == 0 {
		if tooMany {
			return h, nil, nil
		}
		return h, emptyIfNil(data), nil
	}
	if depth >= MaxBackingDepth {
		return nil, nil, invalidf("backing chain deeper than %d", MaxBackingDepth)
	}
	nameBuf := make([]byte, h.backingLen)
	if _, err := r.ReadAt(nameBuf, int64(h.backingOff)); err != nil {
		return nil, nil, fmt.Errorf("qcow2: read backing file name: %w", err)
	}
	path := string(nameBuf)
	if name == "" && !filepath.IsAbs(path) {
		return nil, nil, &UnsupportedError{Format: "qcow2 images with a relative backing file", Reason: "cannot be read from a stream or unnamed file", Hint: "qemu-img convert -f qcow2 -O raw SRC DST"}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(name), path)
	}
	bf, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: qcow2: backing file %q: %v", ErrUnsupported, string(nameBuf), err)
	}
	defer bf.Close()
	fi, err := bf.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("qcow2: backing file %q: %w", path, err)
	}
	for _, v := range visited {
		if os.SameFile(v, fi) {
			return nil, nil, invalidf("backing file %q loops back into its own chain", path)
		}
	}
	*chain = append(*chain, BackingFile{Path: path, Size: fi.Size(), ModTime: fi.ModTime()})
	bfmt, err := Detect(bf, fi.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("qcow2: backing file %q: %w", path, err)
	}
	var bsize int64
	var bext []Extent
	switch {
	case bfmt == Qcow2 && (h.backingFormat == "" || h.backingFormat == "qcow2"):
		bh, e, err := qcowChain(bf, fi.Size(), path, depth+1, append(visited, fi), chain)
		if err != nil {
			return nil, nil, fmt.Errorf("backing file %q: %w", path, err)
		}
		bsize, bext = int64(bh.size), e
	case bfmt == Raw && (h.backingFormat == "" || h.backingFormat == "raw"):
		bsize, bext = fi.Size(), nil
	default:
		return nil, nil, fmt.Errorf("%w: qcow2: backing file %q is %s, header says %q", ErrUnsupported, path, bfmt, h.backingFormat)
	}
	if tooMany {
		return h, nil, nil
	}
	// Unallocated clusters read the backing file where it reaches, zeros
	// beyond it.
	inBacking := intersect(unalloc, []Extent{{0, bsize}})
	if bext != nil {
		inBacking = intersect(inBacking, bext)
	}
	ext := union(data, inBacking)
	if len(ext) > MaxExtents {
		return h, nil, nil
	}
	return h, emptyIfNil(ext), nil
}

func emptyIfNil(e []Extent) []Extent {
	if e == nil {
		return []Extent{}
	}
	return e
}

// qcowReader guards go-qcow2reader's ReadAt, which misbehaves for offsets
// at or past the virtual size.
type qcowReader struct {
	img  image.Image
	size int64
}

// ReadAt implements io.ReaderAt over the virtual image.
func (q *qcowReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("qcow2: negative offset %d", off)
	}
	if off >= q.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > q.size-off {
		p = p[:q.size-off]
	}
	n, err := q.img.ReadAt(p, off)
	if err == nil && n < want {
		err = io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("qcow2: read at %d: %w", off, err)
	}
	return n, err
}

// openQcow2 validates the whole chain first, then lets go-qcow2reader open
// it. name locates relative backing files ("" when r has no file name).
func openQcow2(r io.ReaderAt, fileSize int64, name string, fi os.FileInfo) (*Source, error) {
	var visited []os.FileInfo
	if fi != nil {
		visited = []os.FileInfo{fi}
	}
	var chain []BackingFile
	h, ext, err := qcowChain(r, fileSize, name, 0, visited, &chain)
	if err != nil {
		return nil, err
	}
	img, err := qcow2.Open(r, openBacking)
	if err != nil {
		return nil, fmt.Errorf("%w: qcow2: %v", ErrInvalid, err)
	}
	if err := img.Readable(); err != nil {
		_ = img.Close()
		return nil, fmt.Errorf("%w: qcow2: %v", ErrUnsupported, err)
	}
	return &Source{
		Format:   Qcow2,
		Size:     int64(h.size),
		Extents:  ext,
		ReaderAt: &qcowReader{img: img, size: int64(h.size)},
		Backing:  chain,
		closeFn:  img.Close,
	}, nil
}

// openBacking is go-qcow2reader's callback for backing files, already
// validated by qcowChain. It never returns a nil image: the library calls
// Close on what it gets even on error.
func openBacking(ra io.ReaderAt, t image.Type) (image.Image, error) {
	var size int64 = -1
	if f, ok := ra.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	f, err := Detect(ra, size)
	if err == nil && f == Qcow2 && (t == "" || t == qcow2.Type) {
		img, err := qcow2.Open(ra, openBacking)
		if err == nil {
			return img, nil
		}
	}
	if f == Raw && (t == "" || t == raw.Type) {
		return raw.Open(ra)
	}
	img, _ := raw.Open(ra)
	return img, fmt.Errorf("backing file of type %q (%s) unsupported", t, f)
}
