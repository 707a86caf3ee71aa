package resume

import (
	"testing"
	"time"
)

// FuzzDecode: no input may crash decode, and whatever it accepts must be a
// consistent checkpoint that encodes back to something equal.
func FuzzDecode(f *testing.F) {
	c := New(Key{Direction: Upload, API: APIv2, Endpoint: "h:1", LocalPath: "/img", ChunkSize: 4}, 70)
	c.MarkDone(3, 99)
	c.Extra["k"] = "v"
	c.Updated = time.Unix(1, 0).UTC()
	good, err := encode(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("drivecp-checkpoint v1 len=2 xxh64=0\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode(data)
		if err != nil {
			return
		}
		if err := c.check(); err != nil {
			t.Fatalf("decode accepted an inconsistent checkpoint: %v", err)
		}
		c.DoneCount()
		for i := range c.Total {
			c.IsDone(i)
		}
		again, err := encode(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := decode(again)
		if err != nil || c2.Total != c.Total || c2.DoneCount() != c.DoneCount() || c2.Key != c.Key {
			t.Fatalf("re-encoding changed the checkpoint: %v", err)
		}
	})
}
