package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/bench"
	"github.com/drivecp/drivecp/chunker"
	emushared "github.com/drivecp/drivecp/emulator"
	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/imagefmt"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

func newDemoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "round trip a generated image through an in-process emulator and print timings",
		Description: "Starts the emulator in a temporary folder, generates a realistic raw image (random,\n" +
			"compressible, zero and hole regions), uploads it and downloads it back over API 1.0\n" +
			"and over API 2.0 (chunked upload and ranged download, single upload and single-stream\n" +
			"download), checks the bytes are identical and prints how long each step took.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "size", Value: "256M", Usage: "size of the generated image"},
			&cli.StringFlag{Name: "image", Usage: "use this raw image instead of generating one"},
			&cli.IntFlag{Name: flagConcurrency, Aliases: []string{"c"}, Value: transfer.DefaultConcurrency, Usage: "chunks in flight"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary folder (its path is printed on stderr)"},
		},
		Action: runDemo,
	}
}

// demoStep is one row of the demo's table.
type demoStep struct {
	Step    string  `json:"step"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"`
	// CPUSeconds is the process's CPU time during the step: the client's
	// and the in-process emulator's together, on every core.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Rows of the demo that its closing line compares.
const (
	demoStepChunk    = "chunk+hash+gzip (no network)"
	demoStepUploadV1 = "upload (API 1.0)"
)

func runDemo(c *cli.Context) error {
	size, err := units.ParseSize(c.String("size"))
	if err != nil || size <= 0 {
		return usageErrorf("--size %q: give a size such as 256M", c.String("size"))
	}
	n := c.Int(flagConcurrency)
	if n < 1 || n > 256 {
		return usageErrorf("--concurrency %d: use 1 to 256", n)
	}
	dir, err := os.MkdirTemp("", "drivecp-demo-")
	if err != nil {
		return err
	}
	if c.Bool("keep") {
		fmt.Fprintf(c.App.ErrWriter, "drivecp: demo files in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ctx := c.Context
	var steps []demoStep
	timed := func(name string, bytes int64, fn func() error) error {
		start, cpu := time.Now(), bench.ProcessCPU()
		if err := fn(); err != nil {
			return fmt.Errorf("demo: %s: %w", name, err)
		}
		s := time.Since(start).Seconds()
		steps = append(steps, demoStep{Step: name, Bytes: bytes, Seconds: s, MBps: units.MBps(bytes, s),
			CPUSeconds: (bench.ProcessCPU() - cpu).Seconds()})
		return nil
	}

	img := c.String("image")
	if img == "" {
		img = filepath.Join(dir, "demo.img")
		if err := timed("generate image", size, func() error { return writeDemoImage(img, size) }); err != nil {
			return err
		}
	} else {
		f, sz, err := openImage(img, false)
		if err != nil {
			return err
		}
		f.Close()
		size = sz
	}

	srv, err := emulator.New(emulator.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "emulator")})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()
	// The demo's cloud is opened as any cloud is, from the variables the
	// emulator prints for clients.
	p, err := openEmulated(c, srv.Env(), n)
	if err != nil {
		return err
	}
	v1, err := p.Transfer("v1")
	if err != nil {
		return err
	}

	f, err := os.Open(img)
	if err != nil {
		return err
	}
	defer f.Close()
	pieces, err := chunker.PlanFile(f, size, chunker.DefaultChunkSize, false)
	if err != nil {
		return err
	}
	if err := timed(demoStepChunk, size, func() error { return chunkOnly(ctx, f, pieces, n) }); err != nil {
		return err
	}
	// The uploads and downloads run as the commands run them, through a
	// transfer session, with checkpoints in the demo's folder.
	ds := &demoSessions{env: session.Env{Store: &resume.Store{Dir: filepath.Join(dir, "checkpoints")}, Stderr: c.App.ErrWriter, Quiet: true},
		image: session.Image{Path: img, File: f, Format: imagefmt.Raw, Size: size, At: f}, endpoint: p.Endpoint, n: n}
	offset := session.OffsetAPIOf(v1)
	var drive providers.Drive
	var up, down transfer.Summary
	if err := timed(demoStepUploadV1, size, func() error {
		drive, up, err = ds.upload(ctx, session.Offset, offset, session.ChunkedAPI{})
		return err
	}); err != nil {
		return err
	}
	back := filepath.Join(dir, "back.img")
	if err := timed("download (API 1.0)", size, func() error {
		down, err = ds.download(ctx, session.Offset, offset, session.ChunkedAPI{}, drive, back)
		return err
	}); err != nil {
		return err
	}
	if err := timed("compare bytes", size, func() error { return sameContent(img, back) }); err != nil {
		return err
	}
	v2, err := p.Transfer("v2")
	if err != nil {
		return err
	}
	if err := demoV2(ctx, ds, session.ChunkedAPIOf(v2, p.DriveEditor), img, dir, timed); err != nil { // demo_v2.go
		return err
	}

	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, map[string]any{"drive": drive.UUID, "steps": steps, "upload": up, "download": down})
	}
	fmt.Fprintf(c.App.Writer, "image %s (%s), drive %s, %d workers: identical after the round trip\n",
		filepath.Base(img), units.FormatSize(size), drive.UUID, n)
	fmt.Fprintf(c.App.Writer, "upload sent %s on the wire, skipped %s of zero chunks\n\n",
		units.FormatSize(up.WireBytes), units.FormatSize(up.ZeroBytesSkipped))
	t := newTable(c.App.Writer, "STEP", "SECONDS", "MB/s", "CPU s")
	for _, s := range steps {
		t.row(s.Step, fmt.Sprintf("%.2f", s.Seconds), fmt.Sprintf("%.1f", s.MBps), fmt.Sprintf("%.2f", s.CPUSeconds))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if line := demoUploadVsChunker(steps); line != "" {
		fmt.Fprintf(c.App.Writer, "\n%s\n", line)
	}
	return nil
}

// demoUploadVsChunker compares the API 1.0 upload with the chunker alone:
// rate and CPU. The emulator runs on the same cores and gunzips and stores
// what the client gzipped, so when both steps keep the cores busy the
// upload's rate is at most the chunker's times the inverse of the CPU ratio.
func demoUploadVsChunker(steps []demoStep) string {
	var chunk, up *demoStep
	for i := range steps {
		switch steps[i].Step {
		case demoStepChunk:
			chunk = &steps[i]
		case demoStepUploadV1:
			up = &steps[i]
		}
	}
	if chunk == nil || up == nil || chunk.MBps <= 0 || up.CPUSeconds <= 0 {
		return ""
	}
	return fmt.Sprintf("API 1.0 upload at %.0f%% of the chunker-only rate, with %.1fx its CPU: "+
		"the emulator gunzips and stores on the same cores what the client gzips",
		100*up.MBps/chunk.MBps, up.CPUSeconds/chunk.CPUSeconds)
}

// chunkOnly reads, hashes and gzips every piece with n workers and no
// network: the rate an upload is measured against.
func chunkOnly(ctx context.Context, f io.ReaderAt, pieces []chunker.Piece, n int) error {
	_, err := transfer.Upload(ctx, f, pieces, discardSink{}, transfer.Options{Concurrency: n, Gzip: true, SkipZero: true})
	return err
}

// discardSink accepts every chunk and keeps nothing.
type discardSink struct{}

func (discardSink) Put(context.Context, chunker.Piece, []byte, bool) error { return nil }

// writeDemoImage writes a raw image that looks like a used disk: per 16 MiB,
// 4 MiB of random bytes (compressed files), 4 MiB of text (compressible),
// 4 MiB of written zeros and 4 MiB left as a hole.
func writeDemoImage(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	const region = 4 << 20
	buf := make([]byte, region)
	rng := rand.NewChaCha8([32]byte{'d', 'r', 'i', 'v', 'e', 'c', 'p'})
	words := []string{"kernel", "drive", "image", "upload", "config", "systemd", "cloud", "sigma", "the", "a", "of", "ext4", "block", "inode"}
	pick := rand.New(rand.NewPCG(1, 2))
	var text bytes.Buffer
	for off := int64(0); off < size; off += region {
		n := min(region, size-off)
		switch (off / region) % 4 {
		case 0:
			_, _ = rng.Read(buf[:n])
		case 1:
			text.Reset()
			for int64(text.Len()) < n {
				fmt.Fprintf(&text, "%d %s %s %s\n", pick.IntN(100000), words[pick.IntN(len(words))], words[pick.IntN(len(words))], words[pick.IntN(len(words))])
			}
			copy(buf, text.Bytes()[:n])
		case 2:
			clear(buf[:n])
		case 3:
			continue // a hole
		}
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Close()
}

// errDiffer reports a demo round trip that changed the bytes.
var errDiffer = errors.New("the downloaded image differs from the original")

// sameContent compares two files in 4 MiB blocks.
func sameContent(a, b string) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ba, bb := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); ; off += int64(len(ba)) {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return fmt.Errorf("%w near offset %d", errDiffer, off)
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			if eb != ea {
				return fmt.Errorf("%w: lengths differ", errDiffer)
			}
			return nil
		}
		if ea != nil {
			return ea
		}
		if eb != nil {
			return eb
		}
	}
}

// openEmulated opens the cloud of an emulator the demo started, from the
// variables the emulator gives its clients (DRIVECP_CLOUD first), as if
// they were the environment.
func openEmulated(c *cli.Context, vars []emushared.Var, concurrency int) (*providers.Provider, error) {
	env := map[string]string{}
	for _, v := range vars {
		env[v.Name] = v.Value
	}
	cl, ok := registry(c).Lookup(env["DRIVECP_CLOUD"])
	if !ok {
		return nil, fmt.Errorf("demo: no cloud %q", env["DRIVECP_CLOUD"])
	}
	cfg, err := cloudConfig(c, cl, func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	return cl.Open(c.Context, cfg, providers.OpenOptions{Version: Version, Concurrency: concurrency, Transfer: true})
}
