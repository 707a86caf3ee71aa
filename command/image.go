package command

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// Sources of `image create`; which one a cloud takes is
// ImageService.ImageSource.
const (
	flagImageSnapshot = "snapshot"
	flagImageDrive    = "drive"
)

func newImageCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "list, inspect, create and delete disk images (on clouds that keep them)",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list images (all pages)",
				Action: withProvider(noArgsRule, func(c *cli.Context, p *providers.Provider, _ []string) error {
					return runImageList(c.Context, c.App.Writer, p, c.Bool(flagJSON))
				}),
			},
			{
				Name:      "info",
				Usage:     "show one image",
				ArgsUsage: "IMAGE",
				Action: withProvider(oneArg("IMAGE"), func(c *cli.Context, p *providers.Provider, args []string) error {
					return runImageInfo(c.Context, c.App.Writer, p, args[0], c.Bool(flagJSON))
				}),
			},
			{
				Name:  "create",
				Usage: "make an image of a snapshot or a drive (whichever the cloud makes images of) and print its ID",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "the image's name", Required: true},
					&cli.StringFlag{Name: flagImageSnapshot, Usage: "the snapshot to make the image of"},
					&cli.StringFlag{Name: flagImageDrive, Aliases: []string{"volume"}, Usage: "the drive to make the image of"},
				}, waitFlags()...),
				Action: withProvider(noArgsRule, func(c *cli.Context, p *providers.Provider, _ []string) error {
					o := imageCreateOptions{Name: c.String("name"), Snapshot: c.String(flagImageSnapshot),
						Drive: c.String(flagImageDrive), Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)}
					return runImageCreate(c.Context, c.App.Writer, p, o)
				}),
			},
			{
				Name:      "delete",
				Aliases:   []string{"rm"},
				Usage:     "delete images",
				ArgsUsage: "IMAGE...",
				Flags:     []cli.Flag{yesFlag()},
				Action: withProvider(someArgsRule("IMAGE"), func(c *cli.Context, p *providers.Provider, args []string) error {
					confirm, err := confirmerFrom(c)
					if err != nil {
						return err
					}
					return runImageDelete(c.Context, p, dedupe(args), confirm)
				}),
			},
		},
	}
}

func runImageList(ctx context.Context, w io.Writer, p *providers.Provider, asJSON bool) error {
	if p.Images == nil {
		return p.Lack("list images")
	}
	list, err := p.Images.ListImages(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printRaws(w, list, func(i providers.Image) any { return i.Raw })
	}
	t := newTable(w, "ID", "NAME", "SIZE", "STATUS", "SOURCE", "PUBLIC")
	for _, i := range list {
		t.row(i.ID, dash(i.Name), imageSize(i), dash(i.Status), dash(i.Source), yesNo(i.Public))
	}
	return t.flush()
}

func imageSize(i providers.Image) string {
	if i.Size <= 0 {
		return "-"
	}
	return units.FormatSize(i.Size)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func runImageInfo(ctx context.Context, w io.Writer, p *providers.Provider, id string, asJSON bool) error {
	if p.Images == nil {
		return p.Lack("show images")
	}
	i, err := p.Images.GetImage(ctx, id)
	if err != nil {
		return err
	}
	return printImageResult(w, i, asJSON)
}

func printImageResult(w io.Writer, i providers.Image, asJSON bool) error {
	if asJSON {
		return printJSON(w, i.Raw)
	}
	return printFields(w, "ID", i.ID, "Name", i.Name, "Size", imageSize(i), "Status", i.Status,
		"Source", i.Source, "Public", yesNo(i.Public), "Arch", i.Arch)
}

// imageCreateOptions are the inputs of `image create`.
type imageCreateOptions struct {
	Name            string
	Snapshot, Drive string
	Wait            waitOptions
	JSON            bool
}

func runImageCreate(ctx context.Context, w io.Writer, p *providers.Provider, o imageCreateOptions) error {
	if p.Images == nil || p.Images.ImageSource() == "" {
		return p.Lack("create images")
	}
	from, err := imageSource(p, o)
	if err != nil {
		return err
	}
	img, err := p.Images.CreateImage(ctx, providers.ImageSpec{Name: o.Name, From: from})
	if err != nil {
		return lostAnswerHint(err, "image", "drivecp image list")
	}
	if !o.Wait.NoWait {
		if img, err = waitImage(ctx, p, img, o.Wait); err != nil {
			return withHint(err, "the image is %s; 'drivecp image info %s' shows its status", img.ID, img.ID)
		}
	}
	if o.JSON {
		return printImageResult(w, img, true)
	}
	_, err = fmt.Fprintln(w, img.ID)
	return err
}

// imageSource checks that exactly the source the cloud makes images of is
// given, and returns it.
func imageSource(p *providers.Provider, o imageCreateOptions) (string, error) {
	want, other, from := flagImageSnapshot, flagImageDrive, o.Snapshot
	if p.Images.ImageSource() == "drive" {
		want, other, from = flagImageDrive, flagImageSnapshot, o.Drive
	}
	if (want == flagImageSnapshot && o.Drive != "") || (want == flagImageDrive && o.Snapshot != "") {
		return "", withHint(usageErrorf("%s makes images of a %s, not of a %s", p.Cloud, want, other),
			"give --%s", want)
	}
	if from == "" {
		return "", withHint(usageErrorf("image create needs --%s", want), "%s makes images of a %s", p.Cloud, want)
	}
	return from, nil
}

// waitImage waits until an image being made settles: for its job when the
// API handed one out, then for the image itself.
func waitImage(ctx context.Context, p *providers.Provider, img providers.Image, o waitOptions) (providers.Image, error) {
	if n := len(img.Jobs); n > 0 && p.Jobs != nil {
		if _, err := waitJob(ctx, p.Jobs, img.Jobs[n-1], o); err != nil {
			return img, err
		}
	}
	if img.State.Settled() {
		return img, checkSettled("image "+img.ID, img.State, img.Status)
	}
	cur := img
	err := waitFor(ctx, o, "image "+img.ID, func(ctx context.Context) (bool, string, error) {
		got, err := p.Images.GetImage(ctx, img.ID)
		if err != nil {
			return false, "", err
		}
		cur = got
		return got.State.Settled(), got.Status, nil
	})
	if err != nil {
		return cur, err
	}
	return cur, checkSettled("image "+img.ID, cur.State, cur.Status)
}

// checkSettled turns a settled state that is a failure into an error.
func checkSettled(what string, st providers.State, status string) error {
	if st == providers.StateFailed || st == providers.StateGone {
		return fmt.Errorf("%s ended %s (%s)", what, st, status)
	}
	return nil
}

func runImageDelete(ctx context.Context, p *providers.Provider, ids []string, confirm confirmFunc) error {
	if p.Images == nil {
		return p.Lack("delete images")
	}
	var details []string
	for _, id := range ids {
		i, err := p.Images.GetImage(ctx, id)
		if err != nil {
			return err
		}
		if i.Public {
			return usageErrorf("image %s (%s) is a public image of %s, not yours to delete", i.ID, i.Name, p.Cloud)
		}
		details = append(details, fmt.Sprintf("%s  %s  %s", i.ID, dash(i.Name), imageSize(i)))
	}
	if err := ask(confirm, fmt.Sprintf("Delete %s?", plural(len(ids), "image")), details); err != nil {
		return err
	}
	return p.Images.DeleteImages(ctx, ids...)
}
