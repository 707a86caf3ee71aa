package command

import (
	"github.com/urfave/cli/v2"
)

// runUploadStream uploads a compressed stream or standard input.
func runUploadStream(c *cli.Context, ts *transferSettings, in *imageInput) error {
	return withHint(usageErrorf("%s is a %s stream, which upload cannot read yet", in.path, in.format),
		"decompress it to a file first")
}
