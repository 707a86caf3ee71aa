package resume

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
)

// A checkpoint file is one header line followed by a JSON body:
//
//	drivecp-checkpoint v1 len=1234 xxh64=0123456789abcdef
//	{ ...indented JSON... }
//
// The header gives the version before anything else is parsed, so a file
// from another release is reported as ErrVersion, not as garbage; the length
// and xxhash64 of the body catch truncation and damage even where the JSON
// would still parse. The body stays readable for people debugging a stuck
// transfer.
const magic = "drivecp-checkpoint"

// fileBody is the JSON shape of a checkpoint. Hashes go as hex strings so
// they survive tools that read numbers as doubles; the done set and the
// chunk hashes as base64 of little-endian words, which keeps a 1 TiB
// transfer's checkpoint near 3 MB instead of several times that.
type fileBody struct {
	Version   int               `json:"version"`
	Key       fileKey           `json:"key"`
	FileSize  int64             `json:"file_size"`
	ModTime   time.Time         `json:"mod_time"`
	FirstHash string            `json:"first_hash"`
	LastHash  string            `json:"last_hash"`
	Total     int               `json:"total"`
	DoneCount int               `json:"done_count"` // informational; recomputed on load
	Done      string            `json:"done"`
	Hashes    string            `json:"hashes"`
	Extra     map[string]string `json:"extra,omitempty"`
	Created   time.Time         `json:"created"`
	Updated   time.Time         `json:"updated"`
}

type fileKey struct {
	Direction string `json:"direction"`
	API       string `json:"api"`
	Endpoint  string `json:"endpoint"`
	Drive     string `json:"drive,omitempty"`
	LocalPath string `json:"local_path"`
	ChunkSize int64  `json:"chunk_size"`
}

// encode renders c in the file format.
func encode(c *Checkpoint) ([]byte, error) {
	b := fileBody{
		Version:   Version,
		Key:       fileKey(c.Key),
		FileSize:  c.FileSize,
		ModTime:   c.ModTime,
		FirstHash: fmt.Sprintf("%016x", c.FirstHash),
		LastHash:  fmt.Sprintf("%016x", c.LastHash),
		Total:     c.Total,
		DoneCount: c.DoneCount(),
		Done:      packWords(c.Done),
		Hashes:    packWords(c.Hashes),
		Extra:     c.Extra,
		Created:   c.Created,
		Updated:   c.Updated,
	}
	body, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s v%d len=%d xxh64=%016x\n", magic, Version, len(body), xxhash.Sum64(body))
	out.Write(body)
	return out.Bytes(), nil
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
	var errs [4]error
	c.FirstHash, errs[0] = strconv.ParseUint(b.FirstHash, 16, 64)
	c.LastHash, errs[1] = strconv.ParseUint(b.LastHash, 16, 64)
	c.Done, errs[2] = unpackWords(b.Done)
	c.Hashes, errs[3] = unpackWords(b.Hashes)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return c, nil
}

func packWords(ws []uint64) string {
	b := make([]byte, 8*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return base64.StdEncoding.EncodeToString(b)
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
