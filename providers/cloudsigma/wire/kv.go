package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxKVLine bounds one API 1.0 line so a hostile or broken peer cannot make
// the parser buffer without limit.
const maxKVLine = 64 << 10

// KV is one API 1.0 object: an ordered list of key-value pairs. Order is kept
// because the API echoes keys in the order it chose and tests compare bodies.
type KV []Pair

// Pair is one `key value` line of an API 1.0 body.
type Pair struct {
	Key   string
	Value string
}

// Get returns the value of key and whether it was present.
func (kv KV) Get(key string) (string, bool) {
	for _, p := range kv {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Set replaces the value of key, or appends the pair when key is absent.
func (kv *KV) Set(key, value string) {
	for i, p := range *kv {
		if p.Key == key {
			(*kv)[i].Value = value
			return
		}
	}
	*kv = append(*kv, Pair{Key: key, Value: value})
}

// MarshalJSON prints kv as a JSON object of strings, keys sorted, the last
// of repeated keys winning, so `--json` shows an API 1.0 object the way it
// shows an API 2.0 one.
func (kv KV) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(kv))
	for _, p := range kv {
		m[p.Key] = p.Value
	}
	return json.Marshal(m)
}

// Sorted returns a copy ordered by key, for stable output.
func (kv KV) Sorted() KV {
	out := append(KV(nil), kv...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Encode writes kv as `key value` lines.
func (kv KV) Encode(w io.Writer) error {
	var b bytes.Buffer
	for _, p := range kv {
		b.WriteString(p.Key)
		b.WriteByte(' ')
		b.WriteString(p.Value)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// String renders kv as an API 1.0 body.
func (kv KV) String() string {
	var b strings.Builder
	_ = kv.Encode(&b)
	return b.String()
}

// EncodeKVList writes several objects separated by a blank line, as API 1.0
// does for `drives info` of all drives.
func EncodeKVList(w io.Writer, objs []KV) error {
	for i, o := range objs {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := o.Encode(w); err != nil {
			return err
		}
	}
	return nil
}

// DecodeKVList parses an API 1.0 body into objects. A blank line separates
// objects; a line is a key, one space or tab, and the rest of the line as the
// value (which may be empty). Lines with no key are rejected.
func DecodeKVList(r io.Reader) ([]KV, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxKVLine)
	var objs []KV
	var cur KV
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			if len(cur) > 0 {
				objs = append(objs, cur)
				cur = nil
			}
			continue
		}
		key, value, _ := strings.Cut(strings.TrimLeft(text, " \t"), " ")
		if k, v, ok := strings.Cut(key, "\t"); ok {
			key, value = k, strings.TrimSpace(v+" "+value)
		}
		if key == "" {
			return nil, fmt.Errorf("line %d: missing key", line)
		}
		cur = append(cur, Pair{Key: key, Value: strings.TrimSpace(value)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(cur) > 0 {
		objs = append(objs, cur)
	}
	return objs, nil
}

// DecodeKV parses a body holding a single object; an empty body yields an
// empty KV.
func DecodeKV(r io.Reader) (KV, error) {
	objs, err := DecodeKVList(r)
	if err != nil {
		return nil, err
	}
	switch len(objs) {
	case 0:
		return KV{}, nil
	case 1:
		return objs[0], nil
	default:
		return nil, fmt.Errorf("expected one object, got %d", len(objs))
	}
}

// DecodeLines parses a list body: one value per non-blank line, as in
// `GET /drives/list`.
func DecodeLines(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxKVLine)
	var out []string
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
