// Command drivecp moves VM drive images to and from CloudSigma and manages
// drives, snapshots and images there and on Online Labs, CenturyLink and
// e24cloud.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/drivecp/drivecp/command"
)

func main() {
	// SIGHUP (the terminal or SSH session went away) stops a run like
	// Ctrl-C and SIGTERM do: progress saved, one line, exit 5. Left to its
	// default it killed the process silently with status 129.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	app := command.NewApp(os.Stdin, os.Stdout, os.Stderr)
	err := app.RunContext(ctx, command.ReorderArgs(app, os.Args))
	stop()
	os.Exit(command.Report(os.Stderr, err))
}
