package resume

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// A checkpoint file is one header line followed by a JSON body:
//
//	drivecp-checkpoint v2 len=1234 xxh64=0123456789abcdef
//	{ ...indented JSON... }
//
// The header gives the version before anything else is parsed, so a file
// from another release is reported as ErrVersion, not as garbage; the length
// and xxhash64 of the body catch truncation and damage even where the JSON
// would still parse. The body stays readable for people debugging a stuck
// transfer.
//
// This file is the snapshot: it is rewritten rarely (see Saver), and the
// chunks finished since are appended to a journal beside it (journal.go).
const magic = "drivecp-checkpoint"

// fileBody is the JSON shape of a checkpoint. Hashes go as hex strings so
// they survive tools that read numbers as doubles; the done set, the set of
// hashed chunks and their hashes (in index order, one per bit of hashed) as
// base64 of little-endian words, so a mostly empty 10 TiB drive's snapshot
// is under a megabyte.
type fileBody struct {
	Version    int               `json:"version"`
	Key        fileKey           `json:"key"`
	FileSize   int64             `json:"file_size"`
	ModTime    time.Time         `json:"mod_time"`
	FirstHash  string            `json:"first_hash"`
	LastHash   string            `json:"last_hash"`
	Total      int               `json:"total"`
	DoneCount  int               `json:"done_count"` // informational; recomputed on load
	JournalGen uint64            `json:"journal_gen"`
	Done       string            `json:"done,omitempty"`
	Hashed     string            `json:"hashed,omitempty"`
	Hashes     string            `json:"hashes,omitempty"`
	Extra      map[string]string `json:"extra,omitempty"`
	Created    time.Time         `json:"created"`
	Updated    time.Time         `json:"updated"`
}

type fileKey struct {
	Direction string `json:"direction"`
	API       string `json:"api"`
	Endpoint  string `json:"endpoint"`
	Drive     string `json:"drive,omitempty"`
	LocalPath string `json:"local_path"`
	ChunkSize int64  `json:"chunk_size"`
}

// encoder holds the buffers of one encoding. A transfer saves its
// checkpoint after every chunk, and a 1 TiB transfer's file is 3 MB, so the
// buffers are recycled (encoders) and the big fields are written straight
// into the output rather than through encoding/json, which would copy and
// scan them several times over.
type encoder struct {
	out    bytes.Buffer
	raw    []byte   // little-endian words before base64
	hashes []uint64 // the stored hashes in index order
}

// encoders recycles encoders between saves.
var encoders = sync.Pool{New: func() any { return new(encoder) }}

// headerRoom is room kept before the body for the header line, written once
// the body's length and checksum are known; no header is longer.
const headerRoom = 96

// encode renders c in the file format.
func encode(c *Checkpoint) ([]byte, error) {
	return new(encoder).encode(c)
}

// encode renders c in the file format into e's buffer and returns it; the
// result is valid until e is used again.
func (e *encoder) encode(c *Checkpoint) ([]byte, error) {
	// Done and Hashes are left empty (and so out of the JSON) and appended
	// below, as the last fields of the object.
	b := fileBody{
		Version:    Version,
		Key:        fileKey(c.Key),
		FileSize:   c.FileSize,
		ModTime:    c.ModTime,
		FirstHash:  fmt.Sprintf("%016x", c.FirstHash),
		LastHash:   fmt.Sprintf("%016x", c.LastHash),
		Total:      c.Total,
		DoneCount:  c.DoneCount(),
		JournalGen: c.gen,
		Extra:      c.Extra,
		Created:    c.Created,
		Updated:    c.Updated,
	}
	head, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	head, ok := bytes.CutSuffix(head, []byte("\n}"))
	if !ok {
		return nil, fmt.Errorf("encode checkpoint: unexpected JSON %.20q", head)
	}
	out := &e.out
	out.Reset()
	out.Write(make([]byte, headerRoom))
	out.Write(head)
	out.WriteString(",\n  \"done\": \"")
	e.appendWords(c.Done)
	out.WriteString("\",\n  \"hashed\": \"")
	e.appendWords(c.hashed)
	out.WriteString("\",\n  \"hashes\": \"")
	e.hashes = c.storedHashes(e.hashes[:0])
	e.appendWords(e.hashes)
	out.WriteString("\"\n}\n")
	body := out.Bytes()[headerRoom:]
	header := fmt.Appendf(nil, "%s v%d len=%d xxh64=%016x\n", magic, Version, len(body), xxhash.Sum64(body))
	if len(header) > headerRoom {
		return nil, fmt.Errorf("encode checkpoint: header of %d bytes", len(header))
	}
	start := headerRoom - len(header)
	data := out.Bytes()[start:]
	copy(data, header)
	return data, nil
}

// appendWords writes ws to e.out as base64 of little-endian words.
func (e *encoder) appendWords(ws []uint64) {
	e.raw = slices.Grow(e.raw[:0], 8*len(ws))[:8*len(ws)]
	for i, w := range ws {
		binary.LittleEndian.PutUint64(e.raw[8*i:], w)
	}
	e.out.Write(base64.StdEncoding.AppendEncode(e.out.AvailableBuffer(), e.raw))
}

// decode parses a checkpoint file. Errors wrap ErrVersion or ErrCorrupt.
func decode(data []byte) (*Checkpoint, error) {
	header, body, ok := bytes.Cut(data, []byte{'\n'})
	if !ok {
		return nil, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	f := strings.Fields(string(header))
	if len(f) != 4 || f[0] != magic || !strings.HasPrefix(f[1], "v") {
		return nil, fmt.Errorf("%w: not a drivecp checkpoint", ErrCorrupt)
	}
	v, err := strconv.Atoi(f[1][1:])
	if err != nil {
		return nil, fmt.Errorf("%w: bad version %q", ErrCorrupt, f[1])
	}
	if v != Version {
		return nil, fmt.Errorf("%w: file is version %d, this drivecp reads version %d", ErrVersion, v, Version)
	}
	n, err1 := strconv.Atoi(strings.TrimPrefix(f[2], "len="))
	sum, err2 := strconv.ParseUint(strings.TrimPrefix(f[3], "xxh64="), 16, 64)
	if err1 != nil || err2 != nil || !strings.HasPrefix(f[2], "len=") || !strings.HasPrefix(f[3], "xxh64=") {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	if n != len(body) {
		return nil, fmt.Errorf("%w: body is %d bytes, header says %d (truncated?)", ErrCorrupt, len(body), n)
	}
	if xxhash.Sum64(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	var b fileBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if b.Version != v {
		return nil, fmt.Errorf("%w: body version %d in a version %d file", ErrCorrupt, b.Version, v)
	}
	c := &Checkpoint{
		Version:  b.Version,
		Key:      Key(b.Key),
		FileSize: b.FileSize,
		ModTime:  b.ModTime,
		Total:    b.Total,
		Extra:    b.Extra,
		Created:  b.Created,
		Updated:  b.Updated,
	}
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	c.gen = b.JournalGen
	var errs [5]error
	var hashes []uint64
	c.FirstHash, errs[0] = strconv.ParseUint(b.FirstHash, 16, 64)
	c.LastHash, errs[1] = strconv.ParseUint(b.LastHash, 16, 64)
	c.Done, errs[2] = unpackWords(b.Done)
	c.hashed, errs[3] = unpackWords(b.Hashed)
	hashes, errs[4] = unpackWords(b.Hashes)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	if c.Total >= 0 {
		c.pages = make([][]uint64, (c.Total+hashPage-1)/hashPage)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if n := c.hashedCount(); n != len(hashes) {
		return nil, fmt.Errorf("%w: %d hashes for %d hashed chunks", ErrCorrupt, len(hashes), n)
	}
	c.setStoredHashes(hashes)
	return c, nil
}

func unpackWords(s string) ([]uint64, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of words", len(b))
	}
	ws := make([]uint64, len(b)/8)
	for i := range ws {
		ws[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return ws, nil
}

// storedHashes appends the stored hashes, in index order, to dst.
func (c *Checkpoint) storedHashes(dst []uint64) []uint64 {
	for wi, w := range c.hashed {
		for w != 0 {
			i := wi*64 + bits.TrailingZeros64(w)
			w &= w - 1
			dst = append(dst, c.pages[i/hashPage][i%hashPage])
		}
	}
	return dst
}

// setStoredHashes is the inverse of storedHashes: hs holds one hash per
// bit of c.hashed, in index order.
func (c *Checkpoint) setStoredHashes(hs []uint64) {
	k := 0
	for wi, w := range c.hashed {
		for w != 0 {
			i := wi*64 + bits.TrailingZeros64(w)
			w &= w - 1
			pg := c.pages[i/hashPage]
			if pg == nil {
				pg = make([]uint64, hashPage)
				c.pages[i/hashPage] = pg
			}
			pg[i%hashPage] = hs[k]
			k++
		}
	}
}
