package resume

import (
	"testing"
)

// BenchmarkSave1TiB saves the checkpoint of a 1 TiB transfer in 4 MiB chunks
// (262144 chunks, half done): the cost a Saver pays at most once per
// interval, fsyncs included.
func BenchmarkSave1TiB(b *testing.B) {
	const total = 1 << 40 / (4 << 20)
	st := &Store{Dir: b.TempDir()}
	c := New(Key{Direction: Upload, API: APIv2, Endpoint: "127.0.0.1:1", LocalPath: "/img", ChunkSize: 4 << 20}, total)
	for i := 0; i < total; i += 2 {
		c.MarkDone(i, uint64(i)*0x9e3779b97f4a7c15)
	}
	for b.Loop() {
		if err := st.Save(c); err != nil {
			b.Fatal(err)
		}
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
