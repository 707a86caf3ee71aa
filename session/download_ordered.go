package session

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// DownloadOrdered writes the bytes of the drive o names to w in order,
// read in parallel (offset reads, or ranges in the Chunked and Single
// modes) through a bounded reorder window (transfer.DownloadOrdered), so
// the image can be piped into another tool. A pipe cannot be rewound, so
// there is no checkpoint: an interrupted download starts over, and its
// error says so. Out, RemoteName, Force and CheckOutput do not apply.
func DownloadOrdered(ctx context.Context, o DownloadOptions, w io.Writer) (providers.Drive, transfer.Summary, error) {
	return DownloadOrderedTo(ctx, o, OrderedTarget{
		Name: "standard output",
		Hint: "a download to a pipe cannot be resumed: run it again, or download into a file (-o FILE), which can",
		Open: func(providers.Drive) (io.Writer, error) { return w, nil },
	})
}

// OrderedTarget is where DownloadOrderedTo writes a drive's bytes.
type OrderedTarget struct {
	// Name says where the bytes go, in the error of a failed transfer.
	Name string
	// Hint is the hint of a failed transfer: how to get the bytes after all.
	Hint string
	// Open returns the writer, once the drive (its size) is known.
	Open func(providers.Drive) (io.Writer, error)
}

// DownloadOrderedTo is DownloadOrdered into a writer that needs the
// drive's size before the first byte (a qcow2 file's table sizes).
func DownloadOrderedTo(ctx context.Context, o DownloadOptions, t OrderedTarget) (providers.Drive, transfer.Summary, error) {
	drives := o.Offset.DriveService
	if o.Mode != Offset {
		drives = o.Chunked.DriveService
	}
	var drive providers.Drive
	err := transfer.Do(ctx, o.Meta, "drive lookup", 0, func(ctx context.Context) (err error) {
		drive, err = drives.GetDrive(ctx, o.Drive)
		return err
	})
	if err != nil {
		return drive, transfer.Summary{}, o.explain(err)
	}
	var (
		src    transfer.Source = transfer.OffsetSource{R: o.Offset, Drive: drive.UUID}
		ranged *transfer.RangedSource
	)
	if o.Mode != Offset {
		ranged = transfer.NewRangedSource(o.Chunked, drive.UUID)
		src = ranged
	}
	tw, err := t.Open(drive)
	if err != nil {
		return drive, transfer.Summary{}, err
	}
	w := &countingWriter{w: tw}
	chunk := o.ChunkSize
	if m := src.MaxPiece(); m > 0 {
		chunk = min(chunk, m)
	}
	eo := o.Engine
	var done func()
	if o.Progress != nil {
		eo.Progress, done = o.Progress(drive.Size, "download")
	}
	var sum transfer.Summary
	if o.Mode == Single {
		sum, err = transfer.StreamOrdered(ctx, ranged, drive.Size, chunk, w, eo)
	} else {
		sum, err = transfer.DownloadOrdered(ctx, src, chunker.Plan(drive.Size, chunk, false), w, eo)
		// A host that ignores Range fails the first range, before a byte
		// is written: the same bytes come as one stream instead.
		if errors.Is(err, transfer.ErrRangeIgnored) && w.n == 0 {
			if o.FallbackNotes {
				o.notef("the download server ignores Range requests: continuing as one stream")
			}
			if done != nil {
				done()
				eo.Progress, done = o.Progress(drive.Size, "download")
			}
			sum, err = transfer.StreamOrdered(ctx, ranged, drive.Size, chunk, w, eo)
		}
	}
	if done != nil {
		done()
	}
	if err != nil {
		return drive, sum, failure.WithHint(fmt.Errorf("download drive %s to %s: %w", drive.UUID, t.Name, err), "%s", t.Hint)
	}
	return drive, sum, nil
}

// countingWriter counts the bytes written through it: whether a failed
// download may start over into the same writer.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
