package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

// Kind is what a region of a generated image holds.
type Kind int

// The kinds of region an image is made of. They differ in what a transfer
// can save on them: nothing on random data, most of the bytes on text with
// gzip, everything on zeros (if the zero check finds them) and on holes (if
// the hole scan finds them, without even reading them).
const (
	// KindRandom is incompressible data, like packages and media that are
	// compressed already.
	KindRandom Kind = iota
	// KindText is compressible, text-like data: words, spaces and lines,
	// like logs, sources and configuration.
	KindText
	// KindZero is zeros written to disk: allocated free space that was
	// wiped, found only by reading it.
	KindZero
	// KindHole is a file-system hole: never written, reads as zeros.
	KindHole
	numKinds
)

var kindNames = [numKinds]string{"random", "text", "zero", "hole"}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Mix is the share of each kind in a generated image.
type Mix struct {
	// Name is how the mix is asked for (--mix).
	Name string
	// Share is the fraction of the image of each kind; they add up to 1.
	Share [numKinds]float64
}

// mixes are the named mixes. "realistic" stands for a used OS image: a
// third already-compressed packages and media, a third binaries and text, a
// sixth wiped free space and the rest never-written space (holes).
var mixes = []Mix{
	{Name: "realistic", Share: [numKinds]float64{KindRandom: 0.30, KindText: 0.30, KindZero: 0.15, KindHole: 0.25}},
	{Name: "random", Share: [numKinds]float64{KindRandom: 1}},
	{Name: "text", Share: [numKinds]float64{KindText: 1}},
	{Name: "zero", Share: [numKinds]float64{KindZero: 1}},
	{Name: "sparse", Share: [numKinds]float64{KindHole: 1}},
	// scale is a mostly empty big drive, for --size 1T and more: 8 MiB of
	// data per TiB (one region or a few), the rest never written.
	{Name: "scale", Share: [numKinds]float64{KindRandom: 8.0 / (1 << 20), KindHole: 1 - 8.0/(1<<20)}},
}

// ErrUnknownMix is returned by ParseMix for a name it does not know.
var ErrUnknownMix = errors.New("unknown image mix")

// ParseMix returns the named mix: realistic, random, text, zero or sparse.
func ParseMix(name string) (Mix, error) {
	for _, m := range mixes {
		if strings.EqualFold(m.Name, name) {
			return m, nil
		}
	}
	return Mix{}, fmt.Errorf("%w %q (use %s)", ErrUnknownMix, name, strings.Join(MixNames(), ", "))
}

// MixNames lists the names ParseMix accepts.
func MixNames() []string {
	names := make([]string, len(mixes))
	for i, m := range mixes {
		names[i] = m.Name
	}
	return names
}

// ImageSpec describes a generated image; the same spec always gives the
// same bytes and the same holes.
type ImageSpec struct {
	Size int64
	Mix  Mix
	Seed uint64
}

// Region is a stretch of a generated image holding one kind of data.
type Region struct {
	Offset, Length int64
	Kind           Kind
}

// End returns the offset just past the region.
func (r Region) End() int64 { return r.Offset + r.Length }

// regionUnit aligns regions: a multiple of every file system's block size,
// so holes are real holes, and smaller than a chunk, so chunks straddle
// regions as they do in real images.
const regionUnit = 64 << 10

// Layout returns the regions of the image spec describes, in order. Region
// lengths are random multiples of 64 KiB up to 1/64 of the image (between
// 256 KiB and 32 MiB); each region's kind is drawn in proportion to the
// bytes each kind still lacks, so the shares come out as the mix asks, give
// or take one region.
func Layout(spec ImageSpec) []Region {
	if spec.Size <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x6c61796f7574)) // "layout"
	maxUnits := min(max(spec.Size/64, 256<<10), 32<<20) / regionUnit
	var target, got [numKinds]float64
	for k := range target {
		target[k] = spec.Mix.Share[k] * float64(spec.Size)
	}
	var regions []Region
	for off := int64(0); off < spec.Size; {
		n := min((1+rng.Int64N(maxUnits))*regionUnit, spec.Size-off)
		k := pickKind(rng, target, got, spec.Mix.Share)
		got[k] += float64(n)
		if last := len(regions) - 1; last >= 0 && regions[last].Kind == k {
			regions[last].Length += n
		} else {
			regions = append(regions, Region{Offset: off, Length: n, Kind: k})
		}
		off += n
	}
	return regions
}

// pickKind draws a kind with probability proportional to what it still
// lacks, falling back to the mix's shares once every kind has its due.
func pickKind(rng *rand.Rand, target, got, share [numKinds]float64) Kind {
	var w [numKinds]float64
	var total float64
	for k := range w {
		w[k] = max(target[k]-got[k], 0)
		total += w[k]
	}
	if total == 0 {
		w, total = share, 0
		for _, s := range share {
			total += s
		}
	}
	x := rng.Float64() * total
	for k := range w {
		if x < w[k] {
			return Kind(k)
		}
		x -= w[k]
	}
	for k := numKinds - 1; k >= 0; k-- {
		if w[k] > 0 {
			return k
		}
	}
	return KindHole
}

// WriteImage creates the image spec describes at path (mode 0600, replacing
// any file there) and returns its layout. Holes are left unwritten, so the
// file is sparse where the file system supports it.
func WriteImage(ctx context.Context, path string, spec ImageSpec) ([]Region, error) {
	regions := Layout(spec)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create image: %w", err)
	}
	if err := writeRegions(ctx, f, spec, regions); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("create image: %w", err)
	}
	return regions, nil
}

func writeRegions(ctx context.Context, f *os.File, spec ImageSpec, regions []Region) error {
	buf := make([]byte, 1<<20)
	zeros := make([]byte, len(buf))
	words := vocabulary(spec.Seed)
	for i, r := range regions {
		if r.Kind == KindHole {
			continue
		}
		// Each region has its own stream, so its bytes do not depend on the
		// regions before it.
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], spec.Seed)
		binary.LittleEndian.PutUint64(seed[8:], uint64(i))
		src := rand.NewChaCha8(seed)
		text := textWriter{rng: rand.New(src), words: words}
		for off := int64(0); off < r.Length; {
			if err := ctx.Err(); err != nil {
				return err
			}
			b := buf[:min(int64(len(buf)), r.Length-off)]
			switch r.Kind {
			case KindRandom:
				_, _ = src.Read(b)
			case KindText:
				text.fill(b)
			case KindZero:
				b = zeros[:len(b)]
			}
			if _, err := f.WriteAt(b, r.Offset+off); err != nil {
				return fmt.Errorf("write image: %w", err)
			}
			off += int64(len(b))
		}
	}
	// A trailing hole still counts towards the size.
	if err := f.Truncate(spec.Size); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}

// vocabulary makes 2048 pseudo-words of 2 to 11 lower-case letters: with
// the skewed word choice of textWriter, gzip -1 saves about as much on it
// as on real text (half or more), not more.
func vocabulary(seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x766f636162)) // "vocab"
	words := make([][]byte, 2048)
	for i := range words {
		w := make([]byte, 2+rng.IntN(10))
		for j := range w {
			w[j] = 'a' + byte(rng.IntN(26))
		}
		words[i] = w
	}
	return words
}

// textWriter fills buffers with words separated by spaces, ending a line
// every dozen words or so, with a few digits mixed in as log lines have.
type textWriter struct {
	rng   *rand.Rand
	words [][]byte
	line  int
}

func (t *textWriter) fill(b []byte) {
	for i := 0; i < len(b); {
		var w []byte
		if t.rng.IntN(16) == 0 {
			var num [8]byte
			w = num[:1+t.rng.IntN(6)]
			for j := range w {
				w[j] = '0' + byte(t.rng.IntN(10))
			}
		} else {
			// Skewed towards the first words, as word frequencies in text
			// are: a few words make up most of it.
			w = t.words[t.rng.IntN(1+t.rng.IntN(len(t.words)))]
		}
		i += copy(b[i:], w)
		if i < len(b) {
			t.line++
			sep := byte(' ')
			if t.line%12 == 0 {
				sep = '\n'
			}
			b[i] = sep
			i++
		}
	}
}
