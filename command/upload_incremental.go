package command

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// incrementalFlags are upload's flags of incremental re-upload.
func incrementalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagIncremental, Usage: "with --drive (API 1.0): send only the chunks that differ from what drivecp recorded the drive holds, after reading a sample back"},
		&cli.StringFlag{Name: flagBase, Usage: "with --incremental: what the drive holds, as a drive record or a backup manifest (DIR/backups/ID.json), instead of drivecp's own record"},
	}
}

// checkIncrementalUsage refuses flag combinations an incremental upload
// cannot honour, before anything is opened.
func checkIncrementalUsage(c *cli.Context, ts *transferSettings, in *imageInput) error {
	switch {
	case c.IsSet(flagBase) && !c.Bool(flagIncremental):
		return usageErrorf("--base applies to --incremental")
	case c.String(flagUploadDrive) == "":
		return withHint(usageErrorf("--incremental rewrites an existing drive: name it with --drive"), "a new drive gets every chunk: drop --incremental")
	case c.IsSet(flagAPI) && ts.api != "v1":
		return usageErrorf("--incremental writes chunks at offsets, which only API 1.0 can (--api v1)")
	case c.Bool(flagAssumeZeroed):
		return usageErrorf("--assume-zeroed and --incremental exclude each other: the drive's record says which chunks are zeros")
	case in.At == nil:
		return withHint(usageErrorf("--incremental reads the image twice (to hash it, then to send what changed); %s is a stream", dash(in.Path)),
			"decompress it to a file first, or upload it in full")
	}
	return nil
}

// runUploadIncremental is `upload IMAGE --drive UUID --incremental`: the
// image is hashed chunk by chunk and only the chunks whose hash differs from
// the drive's record (or --base) are written, at their offsets. The record
// is checked first by reading a sample of its chunks back from the drive; a
// drive that no longer matches is refused. The record follows the upload
// (see incrementalWrite), so an interrupted run continues when run again.
func runUploadIncremental(c *cli.Context, ts *transferSettings, in *imageInput) error {
	if err := checkIncrementalUsage(c, ts, in); err != nil {
		return err
	}
	ctx := c.Context
	id := c.String(flagUploadDrive)
	again := fmt.Sprintf("upload in full: drivecp upload %s --drive %s (without --incremental)", in.Path, id)
	cl, err := newOffsetClients(c, ts)
	if err != nil {
		return err
	}
	records, err := driveRecords()
	if err != nil {
		return err
	}
	cloud := cloudName(c)
	d, err := cl.v1.GetDrive(ctx, id)
	if err != nil {
		return unreachableHint(err)
	}
	var base *driverecord.Record
	if path := c.String(flagBase); path != "" {
		if base, err = driverecord.ReadBase(path); err != nil {
			return usageErrorf("--base: %v", err)
		}
		base.Cloud, base.Endpoint, base.Drive = cloud, cl.endpointHost, d.UUID
	} else {
		base, err = records.Load(cloud, cl.endpointHost, d.UUID)
		if errors.Is(err, driverecord.ErrNotFound) {
			return withHint(usageErrorf("--incremental: drivecp has no record of what drive %s holds", id),
				"%s; or name what it holds with --base (a backup manifest of the store, DIR/backups/ID.json)", again)
		}
		if err != nil {
			return err
		}
	}
	if base.Size != d.Size || in.Size != d.Size {
		return withHint(usageErrorf("--incremental: drive %s holds %s, its record describes %s, %s is %s",
			id, units.FormatSize(d.Size), units.FormatSize(base.Size), in.Path, units.FormatSize(in.Size)), "%s", again)
	}
	if err := session.CheckRecord(ctx, cl.v1, d.UUID, base, ts.opts.Concurrency); err != nil {
		return staleRecordHint(err, again)
	}
	want, err := driverecord.HashImage(ctx, in.At, in.Size, base.ChunkSize, base.HashKind(), ts.opts.Concurrency)
	if err != nil {
		return imageError(in.Path, err)
	}
	bar := newProgress(c, in.Size, "upload")
	res, err := session.WriteIncremental(ctx, session.IncrementalOptions{API: cl.v1, Records: records, Drive: d, Base: base,
		Image: in.At, Want: want, Source: driverecord.FromUpload, Engine: ts.opts, Progress: bar})
	bar.done()
	if err != nil {
		return fmt.Errorf("upload %s to drive %s: %w", in.Path, d.UUID, err)
	}
	allocated := allocatedBytes(in)
	printSummary(c, uploadVerb(in, allocated), res.Summary)
	if !c.Bool(flagQuiet) {
		fmt.Fprintf(c.App.ErrWriter, "drivecp: %d of %d chunks differed from what drive %s held and were sent\n", res.Changed, res.Chunks, d.UUID)
	}
	if ts.verify {
		if err := verifyRemote(c, in.At, in.Size, transfer.OffsetSource{R: cl.v1, Drive: d.UUID}, ts); err != nil {
			return fmt.Errorf("drive %s: %w", d.UUID, err)
		}
	}
	if c.Bool(flagJSON) {
		return printJSON(c.App.Writer, newUploadResult(d.UUID, in, in.Size, allocated, res.Summary, ts.verify))
	}
	_, err = fmt.Fprintln(c.App.Writer, d.UUID)
	return err
}
