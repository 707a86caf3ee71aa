package command

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

const (
	flagUploadName   = "name"
	flagUploadDrive  = "drive"
	flagAssumeZeroed = "assume-zeroed"
	flagForceRaw     = "force-raw"
	// flagUploadSize is the drive's size when a stream does not record
	// its own.
	flagUploadSize = "size"
)

func newUploadCommand() *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "upload an image (raw, qcow2, gzip, xz, zstd, bzip2; - reads standard input) to a new drive (or into --drive) and print the drive UUID",
		ArgsUsage: "IMAGE",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: flagUploadName, Usage: "name of the new drive (default: the image's file name)"},
			&cli.StringFlag{Name: flagUploadDrive, Usage: "write into this existing drive instead of creating one"},
			&cli.BoolFlag{Name: flagAssumeZeroed, Usage: "with --drive: the drive reads as zeros, so zero chunks may be skipped"},
			&cli.StringFlag{Name: flagUploadSize, Usage: "size of the new drive for a compressed image or standard input that does not record its size, e.g. 10G"},
			&cli.BoolFlag{Name: flagForceRaw, Usage: "upload the file's bytes as they are, as a raw image, whatever format its content has"},
		}, append(incrementalFlags(), transferFlags()...)...),
		Action: withEventLog(withWindow(runUpload)),
	}
}

// uploadResult is upload's --json output.
type uploadResult struct {
	Drive string `json:"drive"`
	// Format is the image's format as read (raw with --force-raw).
	Format string `json:"format"`
	// VirtualBytes is the image's size: the drive's content.
	VirtualBytes int64 `json:"virtual_bytes"`
	// AllocatedBytes is what the image stores as data (see
	// allocatedBytes); -1 when unknown.
	AllocatedBytes int64 `json:"allocated_bytes"`
	transfer.Summary
	Verified bool `json:"verified"`
}

func runUpload(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("upload takes one IMAGE argument, got %d", c.NArg())
	}
	if c.IsSet(flagUploadName) && c.IsSet(flagUploadDrive) {
		return usageErrorf("--name and --drive exclude each other")
	}
	ts, err := parseTransferFlags(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	in, err := openInput(path, c.Bool(flagForceRaw), c.App.Reader)
	if err != nil {
		return err
	}
	defer in.Close()
	if c.Bool(flagIncremental) || c.IsSet(flagBase) {
		return runUploadIncremental(c, ts, in) // upload_incremental.go
	}
	if err := checkUploadFlags(c, ts, in); err != nil {
		return err
	}
	o, cl, err := uploadOptions(c, ts, in)
	if err != nil {
		return err
	}
	res, err := session.Upload(c.Context, o)
	if err != nil {
		return err
	}
	// Closed once the result is out: see session.UploadResult.Close.
	defer res.Close()
	drive := res.Drive.UUID
	if ts.verify {
		if ts.api == "v2" {
			err = verifyRemoteV2(c, in.At, res.Size, transfer.NewRangedSource(cl.v2, drive), ts)
		} else {
			err = verifyRemote(c, in.At, res.Size, transfer.OffsetSource{R: cl.v1, Drive: drive}, ts)
		}
		if err != nil {
			return fmt.Errorf("drive %s: %w", drive, err)
		}
	}
	if c.Bool(flagJSON) {
		allocated := res.DataBytes
		if in.At != nil {
			allocated = allocatedBytes(in)
		}
		return printJSON(c.App.Writer, newUploadResult(drive, in, res.Size, allocated, res.Summary, ts.verify))
	}
	_, err = fmt.Fprintln(c.App.Writer, drive)
	return err
}

// checkUploadFlags refuses the flag combinations an upload of in cannot
// honour.
func checkUploadFlags(c *cli.Context, ts *transferSettings, in *imageInput) error {
	v2, drive := ts.api == "v2", c.IsSet(flagUploadDrive)
	if in.At == nil {
		switch {
		case c.Bool(flagSingle):
			return usageErrorf("--single cannot send %s: drop --single to upload it in chunks", in.Path)
		case ts.verify:
			return withHint(usageErrorf("--verify reads the image a second time, which %s (a %s stream) cannot be", in.Path, in.Format),
				"drop --verify, or download the drive and compare it with the decompressed image")
		}
	} else if c.IsSet(flagUploadSize) {
		return usageErrorf("--size applies to compressed images and standard input: %s is a %s image of %s", in.Path, in.Format, units.FormatSize(in.Size))
	}
	switch {
	case v2 && c.Bool(flagAssumeZeroed):
		return usageErrorf("--assume-zeroed applies to --api v1 only: API 2.0 uploads send every chunk")
	case !drive && c.Bool(flagAssumeZeroed):
		return usageErrorf("--assume-zeroed only applies with --drive")
	case v2 && c.Bool(flagSingle) && drive:
		return withHint(usageErrorf("--single creates a new drive and cannot continue one"),
			"drop --single to continue an interrupted chunked upload with --drive")
	}
	return nil
}

// uploadOptions turns the flags into the session's options, opening the
// cloud's transfer API that ts.api chooses.
func uploadOptions(c *cli.Context, ts *transferSettings, in *imageInput) (session.UploadOptions, *clients, error) {
	var o session.UploadOptions
	env, err := sessionEnv(c)
	if err != nil {
		return o, nil, err
	}
	meta := metaRetry(ts.opts)
	var cl *clients
	if ts.api == "v2" {
		cl, err = newTransferClients(c, ts.opts.Concurrency, meta)
	} else {
		cl, err = newOffsetClients(c, ts)
	}
	if err != nil {
		return o, nil, err
	}
	var driveSize int64
	if s := c.String(flagUploadSize); s != "" {
		if driveSize, err = units.ParseSize(s); err != nil || driveSize <= 0 {
			return o, nil, usageErrorf("--size %q: give the drive's size, such as 10G", s)
		}
	}
	o = session.UploadOptions{Env: env, Image: in.Image, Mode: session.Offset, Offset: cl.v1, Chunked: cl.v2,
		Endpoint: cl.endpointHost, ChunkSize: ts.chunkSize,
		Drive: c.String(flagUploadDrive), Name: c.String(flagUploadName), NameSet: c.IsSet(flagUploadName),
		AssumeZeroed: c.Bool(flagAssumeZeroed), DriveSize: driveSize,
		Engine: ts.opts, Meta: meta, Waits: uploadWaits(c), Progress: progressFunc(c), Explain: unreachableHint,
		Sent: func(sum transfer.Summary, data int64) {
			if data < 0 {
				data = allocatedBytes(in)
			}
			printSummary(c, uploadVerb(in, data), sum)
		},
	}
	if ts.api == "v2" {
		o.Mode = session.Chunked
		if c.Bool(flagSingle) {
			o.Mode = session.Single
		}
		o.Planned = func(pieces []chunker.Piece, size int64) { noteSparseV2(c, pieces, size) }
	}
	return o, cl, nil
}

// uploadWaits are the waits of an upload: a status line on a terminal
// unless --quiet.
func uploadWaits(c *cli.Context) session.Waits {
	var w session.Waits
	if !c.Bool(flagQuiet) && isTerminal(c.App.ErrWriter) {
		w.Progress = c.App.ErrWriter
	}
	return w
}

// progressFunc starts the command's progress bars (newProgress).
func progressFunc(c *cli.Context) session.ProgressFunc {
	return func(total int64, what string) (transfer.Progress, func()) {
		bar := newProgress(c, total, what)
		return bar, bar.done
	}
}

// noteSparseV2 tells, unless --quiet, that an image of which pieces show a
// quarter or more to be holes costs an API 2.0 upload that much more: its
// protocols carry every byte, where API 1.0 writes skip zero chunks of a new
// drive (and gzip the rest).
func noteSparseV2(c *cli.Context, pieces []chunker.Piece, size int64) {
	var holes int64
	for _, p := range pieces {
		if p.Hole {
			holes += p.Length
		}
	}
	if c.Bool(flagQuiet) || holes < size/4 {
		return
	}
	fmt.Fprintf(c.App.ErrWriter, "drivecp: note: %s of this %s image are holes, which an API 2.0 upload must send as zeros; "+
		"--api v1 skips them (and gzips the rest)\n", units.FormatSize(holes), units.FormatSize(size))
}

// verifyRemote compares the local image with the drive, chunk by chunk.
func verifyRemote(c *cli.Context, local io.ReaderAt, size int64, remote transfer.Source, ts *transferSettings) error {
	o := ts.opts
	bar := newProgress(c, size, "verify")
	o.Progress = bar
	sum, err := transfer.Verify(c.Context, local, remote, size, ts.chunkSize, o)
	bar.done()
	if err != nil {
		return err
	}
	noteVerified(c, size, sum)
	return nil
}

// noteVerified tells, unless --quiet, that a verification of size bytes
// found the two sides identical.
func noteVerified(c *cli.Context, size int64, sum transfer.Summary) {
	if !c.Bool(flagQuiet) {
		fmt.Fprintf(c.App.ErrWriter, "drivecp: verified %s in %.1fs, %.1f MB/s: identical\n", units.FormatSize(size), sum.Seconds, sum.MBps)
	}
}

// openImage opens a raw image for demo --image (upload reads every format
// through openInput), refusing what cannot be one: a
// missing file, a folder, an empty file, or a known container format (qcow2,
// VMDK, VHD, VHDX) unless forceRaw.
func openImage(path string, forceRaw bool) (*os.File, int64, error) {
	// Stat before opening: opening a FIFO with no writer blocks in the
	// kernel, where no signal handler can end the wait. O_NONBLOCK covers
	// the race of the path being swapped for one between the two calls.
	pre, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, usageErrorf("%s: no such file", path)
	}
	if err != nil {
		return nil, 0, usageErrorf("%s: %w", path, err)
	}
	if !pre.IsDir() && !pre.Mode().IsRegular() {
		return nil, 0, usageErrorf("%s is not a regular file (%s)", path, fileKind(pre.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, usageErrorf("%s: no such file", path)
	}
	if err != nil {
		return nil, 0, usageErrorf("%s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	switch {
	case fi.IsDir():
		f.Close()
		return nil, 0, usageErrorf("%s is a folder, not an image", path)
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, 0, usageErrorf("%s is not a regular file (%s)", path, fileKind(fi.Mode()))
	case fi.Size() == 0:
		f.Close()
		return nil, 0, usageErrorf("%s is empty", path)
	}
	if !forceRaw {
		if format, err := detectFormat(f, fi.Size()); err != nil {
			f.Close()
			return nil, 0, err
		} else if format != "" {
			f.Close()
			return nil, 0, withHint(usageErrorf("%s is a %s image, not a raw one", path, format),
				"convert it with 'qemu-img convert -O raw %s out.img', or pass --force-raw to upload it as it is", path)
		}
	}
	return f, fi.Size(), nil
}

// detectFormat names the container format of an image by its magic
// numbers, or returns "" for anything else (taken to be raw).
func detectFormat(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, 512)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		return "qcow2", nil
	case bytes.HasPrefix(head, []byte("KDMV")), bytes.HasPrefix(head, []byte("COWD")),
		bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		return "VMDK", nil
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return "VHDX", nil
	case bytes.HasPrefix(head, []byte("conectix")):
		return "VHD (dynamic)", nil
	}
	if size >= 512 {
		foot := make([]byte, 8)
		if _, err := r.ReadAt(foot, size-512); err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		if string(foot) == "conectix" {
			return "VHD", nil
		}
	}
	return "", nil
}
