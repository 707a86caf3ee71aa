package resume

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// halfDone returns the checkpoint of a transfer of total 4 MiB chunks with
// every other chunk done.
func halfDone(total int) *Checkpoint {
	c := New(Key{Direction: Upload, API: APIv2, Endpoint: "127.0.0.1:1", LocalPath: "/img", ChunkSize: 4 << 20}, total)
	for i := 0; i < total; i += 2 {
		c.MarkDone(i, uint64(i)*0x9e3779b97f4a7c15)
	}
	return c
}

// BenchmarkSave is the cost of one checkpoint write for a 1 GiB and a
// 1 TiB transfer in 4 MiB chunks: durable (Save, the Saver's periodic and
// final writes) and safe against process death only (SaveNoSync, the
// per-chunk write).
func BenchmarkSave(b *testing.B) {
	for _, size := range []struct {
		name  string
		total int
	}{{"1GiB", 1 << 30 / (4 << 20)}, {"1TiB", 1 << 40 / (4 << 20)}} {
		for _, mode := range []string{"Save", "SaveNoSync"} {
			b.Run(fmt.Sprintf("%s/%s", size.name, mode), func(b *testing.B) {
				st := &Store{Dir: b.TempDir()}
				c := halfDone(size.total)
				save := st.Save
				if mode == "SaveNoSync" {
					save = st.SaveNoSync
				}
				for b.Loop() {
					if err := save(c); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEncode is the encoding share of a save, for a 1 TiB transfer:
// the encoder against rendering every field through encoding/json, as
// earlier versions did.
func BenchmarkEncode(b *testing.B) {
	c := halfDone(1 << 40 / (4 << 20))
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		e := new(encoder)
		for b.Loop() {
			if _, err := e.encode(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		words := func(ws []uint64) string {
			raw := make([]byte, 0, 8*len(ws))
			for _, w := range ws {
				raw = binary.LittleEndian.AppendUint64(raw, w)
			}
			return base64.StdEncoding.EncodeToString(raw)
		}
		for b.Loop() {
			body, err := json.MarshalIndent(fileBody{Version: Version, Key: fileKey(c.Key), Total: c.Total,
				DoneCount: c.DoneCount(), Done: words(c.Done), Hashed: words(c.hashed), Hashes: words(c.storedHashes(nil)), Extra: c.Extra}, "", "  ")
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			fmt.Fprintf(&out, "%s v%d len=%d xxh64=%016x\n", magic, Version, len(body), xxhash.Sum64(body))
			out.Write(body)
		}
	})
}

// BenchmarkWorkerSave is what a transfer's workers pay per chunk to have it
// in the checkpoint before taking the next one (session.Session.markDone):
// 8 workers Mark and then Flush (fsync every time, the old way) or
// FlushNoSync (fsync at most once per interval), for a 1 GiB transfer in
// 4 MiB chunks. ns/op is per chunk.
func BenchmarkWorkerSave(b *testing.B) {
	const total, workers = 256, 8
	for _, mode := range []string{"Flush", "FlushNoSync"} {
		b.Run(mode, func(b *testing.B) {
			st := &Store{Dir: b.TempDir()}
			sv := NewSaver(st, New(Key{Direction: Upload, API: APIv2, Endpoint: "h", LocalPath: "/img", ChunkSize: 4 << 20}, total), 0)
			flush := sv.Flush
			if mode == "FlushNoSync" {
				flush = sv.FlushNoSync
			}
			var (
				mu sync.Mutex
				n  int
			)
			next := func() (int, bool) {
				mu.Lock()
				defer mu.Unlock()
				if n >= b.N {
					return 0, false
				}
				n++
				return n % total, true
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for {
						i, ok := next()
						if !ok {
							return
						}
						sv.Mark(i, uint64(i))
						if err := flush(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err := sv.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkMark is the per-chunk cost a transfer worker pays.
func BenchmarkMark(b *testing.B) {
	const total = 1 << 18
	sv := NewSaver(&Store{Dir: b.TempDir()}, New(Key{Direction: Upload, API: APIv2, Endpoint: "h", LocalPath: "/img", ChunkSize: 1}, total), 0)
	defer sv.Close()
	i := 0
	for b.Loop() {
		sv.Mark(i%total, uint64(i))
		i++
	}
}
