// Package command is drivecp's command line: one file per command group,
// each a constructor returning a *cli.Command whose action only turns flags
// into an options struct and calls the library packages.
package command

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/all"
)

// Version is drivecp's version, reported by `drivecp version` and in the
// User-Agent.
const Version = "0.1.0"

// Names of the global flags, shared by the commands that read them.
const (
	// flagEndpoint is the setting most clouds share: one base URL for the
	// cloud's APIs (the emulator's).
	flagEndpoint = "endpoint"
	flagJSON     = "json"
	flagQuiet    = "quiet"
	flagDebug    = "debug"
)

// NewApp builds the drivecp application for every cloud drivecp serves.
// Results go to stdout; progress, warnings and errors to stderr; stdin
// answers confirmations.
func NewApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return NewAppFor(all.Registry(), stdin, stdout, stderr)
}

// NewAppFor is NewApp for the clouds of reg (tests plug in clouds of their
// own).
func NewAppFor(reg *providers.Registry, stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "drivecp",
		Usage:                "move VM drive images to and from the cloud, fast and resumable, and manage drives, snapshots and images",
		Version:              Version,
		HideVersion:          true,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: flagJSON, Usage: "print results as JSON"},
			&cli.BoolFlag{Name: flagQuiet, Aliases: []string{"q"}, Usage: "no progress output"},
			&cli.BoolFlag{Name: flagDebug, Usage: "trace HTTP requests on stderr (credentials redacted)"},
		},
		Commands: []*cli.Command{
			newVersionCommand(), newCloudsCommand(),
			newServeCommand(),
			newDriveCommand(), newSnapshotCommand(), newLibdriveCommand(), newImageCommand(), newJobCommand(), newServerCommand(),
			newUploadCommand(), newDownloadCommand(), newDemoCommand(),
			newBackupCommand(), newBackupsCommand(), newRestoreCommand(), newVerifyCommand(),
			newCheckpointCommand(),
			newBenchCommand(),
		},
		// Errors are printed once, by Report; urfave/cli must not print or exit.
		ExitErrHandler: func(*cli.Context, error) {},
		Metadata:       map[string]any{registryKey: reg},
	}
	app.Flags = append(cloudFlags(reg), app.Flags...)
	setUsageErrorHandlers(app)
	return app
}

func newVersionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print drivecp's version",
		Action: func(c *cli.Context) error {
			_, err := io.WriteString(c.App.Writer, "drivecp "+Version+"\n")
			return err
		},
	}
}
