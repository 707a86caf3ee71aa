package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

const (
	flagUploadName   = "name"
	flagUploadDrive  = "drive"
	flagAssumeZeroed = "assume-zeroed"
	flagForceRaw     = "force-raw"
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
		}, transferFlags()...),
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
	if in.at == nil {
		return runUploadStream(c, ts, in) // upload_stream.go
	}
	if c.IsSet(flagUploadSize) {
		return usageErrorf("--size applies to compressed images and standard input: %s is a %s image of %s", path, in.format, units.FormatSize(in.size))
	}
	size := in.size
	if ts.api == "v2" {
		return runUploadV2(c, ts, in) // upload_v2.go
	}

	cl, err := newOffsetClients(c, ts)
	if err != nil {
		return err
	}
	w, r := cl.v1, cl.v1
	ctx := c.Context
	meta := metaRetry(ts.opts)
	pieces, err := planInput(in, ts.chunkSize, false)
	if err != nil {
		return err
	}
	sess, err := openUploadSession(c, cl.endpointHost, resume.APIv1, path, in.file, ts.chunkSize, len(pieces), c.String(flagUploadDrive))
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := checkFormat(sess, in); err != nil {
		return err
	}

	var drive providers.Drive
	if id := c.String(flagUploadDrive); id != "" {
		err = transfer.Do(ctx, meta, "drive lookup", 0, func(ctx context.Context) error {
			drive, err = cl.v1.GetDrive(ctx, id)
			return err
		})
		if err != nil {
			return unreachableHint(err)
		}
		if drive.Size < size {
			return usageErrorf("%s (%s) does not fit drive %s (%s)", path, units.FormatSize(size), id, units.FormatSize(drive.Size))
		}
		ts.opts.SkipZero = c.Bool(flagAssumeZeroed)
	} else {
		if c.Bool(flagAssumeZeroed) {
			return usageErrorf("--assume-zeroed only applies with --drive")
		}
		name := c.String(flagUploadName)
		if name == "" {
			name = filepath.Base(path)
		}
		// A fresh drive reads as zeros: zero chunks need not travel. An
		// interrupted run's drive is one too, where it wrote nothing.
		drive, err = sess.UploadTarget(ctx, func(ctx context.Context, id string) (d providers.Drive, err error) {
			err = transfer.Do(ctx, meta, "drive lookup", 0, func(ctx context.Context) error {
				d, err = cl.v1.GetDrive(ctx, id)
				return err
			})
			return d, err
		}, &session.Creation{API: "v1", Name: name, Size: size, What: "drive creation", Retry: meta,
			Create: func(ctx context.Context) (providers.Drive, error) {
				return cl.v1.CreateDrive(ctx, providers.DriveSpec{Name: name, Size: size})
			},
			Drives: func(ctx context.Context) ([]providers.Drive, error) {
				return cl.v1.ListDrives(ctx, providers.DriveFilter{Names: []string{name}})
			},
		})
		if err != nil {
			return unreachableHint(err)
		}
		ts.opts.SkipZero = true
	}

	ts.opts.Gzip = true
	sess.Attach(&ts.opts, pieces)
	bar := newProgress(c, size, "upload")
	ts.opts.Progress = bar
	sum, err := transfer.Upload(ctx, in.at, pieces, transfer.OffsetSink{W: w, Drive: drive.UUID}, ts.opts)
	bar.done()
	err = sess.Finish(ctx, err)
	if err != nil {
		return fmt.Errorf("upload %s to drive %s: %w", path, drive.UUID, err)
	}
	allocated := allocatedBytes(in)
	printSummary(c, uploadVerb(in, allocated), sum)
	if ts.verify {
		if err := verifyRemote(c, in.at, size, transfer.OffsetSource{R: r, Drive: drive.UUID}, ts); err != nil {
			return fmt.Errorf("drive %s: %w", drive.UUID, err)
		}
	}
	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, newUploadResult(drive.UUID, in, size, allocated, sum, ts.verify))
	}
	_, err = fmt.Fprintln(c.App.Writer, drive.UUID)
	return err
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
