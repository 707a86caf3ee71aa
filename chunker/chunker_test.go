package chunker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	stdgzip "compress/gzip"
)

func TestIsZero(t *testing.T) {
	for n := 0; n <= 300; n++ { // across the 128-byte switch to bytes.Equal
		b := make([]byte, n)
		if !IsZero(b) {
			t.Fatalf("IsZero(%d zero bytes) = false", n)
		}
		for i := range n {
			for _, v := range []byte{1, 0x80, 0xFF} {
				b[i] = v
				if IsZero(b) {
					t.Fatalf("IsZero(len %d, byte %d = %#x) = true", n, i, v)
				}
			}
			b[i] = 0
		}
	}
	if !IsZero(nil) {
		t.Fatal("IsZero(nil) = false")
	}
	// Unaligned starts must not matter.
	big := make([]byte, 4096+9)
	for start := range 9 {
		big[len(big)-1] = 1
		if IsZero(big[start:]) {
			t.Fatalf("IsZero(unaligned at %d) missed the last byte", start)
		}
		big[len(big)-1] = 0
		if !IsZero(big[start:]) {
			t.Fatalf("IsZero(unaligned zeros at %d) = false", start)
		}
	}
}

func TestZeroHash(t *testing.T) {
	for _, n := range []int64{0, 1, 31, 32, 33, 32 << 10, 32<<10 + 1, 100_000} {
		if got, want := ZeroHash(n), Hash(make([]byte, n)); got != want {
			t.Errorf("ZeroHash(%d) = %x, want %x", n, got, want)
		}
	}
}

func TestBufferPool(t *testing.T) {
	p := NewBufferPool(1000)
	b := p.Get()
	if len(b) != 1000 || p.Size() != 1000 {
		t.Fatalf("Get len %d, Size %d, want 1000", len(b), p.Size())
	}
	p.Put(b[:10]) // a resliced buffer comes back full length
	p.Put(make([]byte, 5))
	p.Put(make([]byte, 1000, 2000))
	for range 10 {
		if b := p.Get(); len(b) != 1000 || cap(b) != 1000 {
			t.Fatalf("Get returned len %d cap %d after foreign Puts", len(b), cap(b))
		}
	}
	if got := NewBufferPool(0).Get(); len(got) != 1 {
		t.Fatalf("NewBufferPool(0).Get() has len %d", len(got))
	}
}

// mixedData is a third random, a third text-like and a third zeros: a
// rough stand-in for a VM image.
func mixedData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	third := n / 3
	for i := 0; i < third; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < third; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	words := strings.Fields("the quick brown fox jumps over lazy dog kernel init systemd mount root usr lib bin etc var log 0x1f 1024 error warning ok")
	var sb strings.Builder
	for sb.Len() < third {
		sb.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			sb.WriteByte('\n')
		} else {
			sb.WriteByte(' ')
		}
	}
	copy(b[third:2*third], sb.String())
	return b // the last third stays zero
}

func TestCompressRoundTrip(t *testing.T) {
	for _, level := range []int{-3, -2, -1, 0, 1, 6, 9} {
		c, err := NewCompressor(level)
		if err != nil {
			t.Fatalf("NewCompressor(%d): %v", level, err)
		}
		for _, n := range []int{0, 1, 1000, 300_000} {
			src := mixedData(n, uint64(n))
			var gz bytes.Buffer
			gz.WriteString("stale bytes that Compress must reset")
			if err := c.Compress(&gz, src); err != nil {
				t.Fatal(err)
			}
			// The standard library must read it: the server side is not ours.
			zr, err := stdgzip.NewReader(bytes.NewReader(gz.Bytes()))
			if err != nil {
				t.Fatalf("level %d n %d: %v", level, n, err)
			}
			zr.Multistream(false)
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("level %d n %d: round trip failed: %v", level, n, err)
			}
			if rest, _ := io.ReadAll(zr); len(rest) != 0 {
				t.Fatalf("level %d n %d: trailing data after the member", level, n)
			}
			dst := make([]byte, n)
			m, err := Decompress(dst, bytes.NewReader(gz.Bytes()))
			if err != nil || m != n || !bytes.Equal(dst, src) {
				t.Fatalf("level %d n %d: Decompress = %d, %v", level, n, m, err)
			}
		}
	}
}

func TestNewCompressorInvalid(t *testing.T) {
	for _, level := range []int{-4, 10, 100} {
		if _, err := NewCompressor(level); err == nil {
			t.Errorf("NewCompressor(%d) succeeded", level)
		}
	}
}

func TestCompressConcurrent(t *testing.T) {
	c, err := NewCompressor(DefaultLevel)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			var gz bytes.Buffer
			dst := make([]byte, 64<<10)
			for i := range 20 {
				src := mixedData(64<<10, uint64(g*100+i))
				if err := c.Compress(&gz, src); err != nil {
					errs <- err
					return
				}
				n, err := Decompress(dst, &gz)
				if err != nil || !bytes.Equal(dst[:n], src) {
					errs <- fmt.Errorf("goroutine %d chunk %d: mismatch (%v)", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDecompressLimits(t *testing.T) {
	c, _ := NewCompressor(1)
	var gz bytes.Buffer
	src := mixedData(5000, 1)
	if err := c.Compress(&gz, src); err != nil {
		t.Fatal(err)
	}
	// One byte short of the data: a bomb as far as the caller can tell.
	if _, err := Decompress(make([]byte, 4999), bytes.NewReader(gz.Bytes())); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over limit: %v, want ErrTooLarge", err)
	}
	// Room to spare is fine.
	if n, err := Decompress(make([]byte, 9000), bytes.NewReader(gz.Bytes())); err != nil || n != 5000 {
		t.Errorf("under limit: %d, %v", n, err)
	}
	// Truncated stream, at every kind of cut.
	for _, cut := range []int{5, 20, gz.Len() / 2, gz.Len() - 4, gz.Len() - 1} {
		if _, err := Decompress(make([]byte, 5000), bytes.NewReader(gz.Bytes()[:cut])); err == nil {
			t.Errorf("truncated at %d of %d: no error", cut, gz.Len())
		}
	}
	// Flipped byte in the trailer CRC.
	bad := bytes.Clone(gz.Bytes())
	bad[len(bad)-6] ^= 1
	if _, err := Decompress(make([]byte, 5000), bytes.NewReader(bad)); err == nil {
		t.Error("bad CRC: no error")
	}
	if _, err := Decompress(make([]byte, 10), strings.NewReader("not gzip at all")); err == nil {
		t.Error("garbage: no error")
	}
	// Two members read as one stream.
	var two bytes.Buffer
	two.Write(gz.Bytes())
	two.Write(gz.Bytes())
	if n, err := Decompress(make([]byte, 10000), &two); err != nil || n != 10000 {
		t.Errorf("two members: %d, %v", n, err)
	}
}

// shortReaderAt returns at most step bytes per call, as some ReaderAts do.
type shortReaderAt struct {
	data []byte
	step int
}

func (s shortReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.data)) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.data[off:])
	return n, nil
}

func TestReadChunk(t *testing.T) {
	data := mixedData(30_000, 7)
	r := bytes.NewReader(data)
	ps := Plan(int64(len(data)), 4096, true)
	buf := make([]byte, 2*4096)
	cached := NewReader(r)
	var zero, nonZero int
	for _, p := range ps {
		for _, read := range []func(Piece, []byte) (Chunk, error){
			func(p Piece, b []byte) (Chunk, error) { return ReadChunk(r, p, b) },
			func(p Piece, b []byte) (Chunk, error) { return ReadChunk(shortReaderAt{data, 1000}, p, b) },
			NewReader(r).ReadChunk,
			cached.ReadChunk, // warm: zero hashes come from its memo
			cached.ReadChunk,
		} {
			c, err := read(p, buf)
			if err != nil {
				t.Fatal(err)
			}
			want := data[p.Offset:p.End()]
			if !bytes.Equal(c.Data, want) || c.Hash != Hash(want) || c.Zero != IsZero(want) || c.Piece != p {
				t.Fatalf("piece %d: wrong chunk", p.Index)
			}
			if c.Zero {
				zero++
			} else {
				nonZero++
			}
		}
	}
	if zero == 0 || nonZero == 0 {
		t.Fatalf("mixed data gave %d zero and %d non-zero chunks; want both", zero, nonZero)
	}

	if _, err := ReadChunk(r, Piece{Offset: 29_000, Length: 2000}, buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short file: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := ReadChunk(r, Piece{Offset: 0, Length: 9000}, buf); err == nil {
		t.Error("buffer too small: no error")
	}
	// A full read that ends exactly at EOF is fine even when ReadAt says io.EOF.
	if _, err := ReadChunk(r, Piece{Offset: 26_000, Length: 4000}, buf); err != nil {
		t.Errorf("read to EOF: %v", err)
	}
}

func FuzzIsZero(f *testing.F) {
	f.Add([]byte{}, uint(0))
	f.Add(make([]byte, 200), uint(150))
	f.Fuzz(func(t *testing.T, b []byte, zeroPrefix uint) {
		// Mostly-zero inputs are the interesting ones; make some.
		if n := int(zeroPrefix % 4096); n > 0 {
			b = append(make([]byte, n), b...)
		}
		want := true
		for _, c := range b {
			if c != 0 {
				want = false
				break
			}
		}
		if got := IsZero(b); got != want {
			t.Fatalf("IsZero(%d bytes) = %v, want %v", len(b), got, want)
		}
	})
}
