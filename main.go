// Command drivecp moves raw VM drive images to and from the CloudSigma cloud.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/drivecp/drivecp/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := command.NewApp(os.Stdin, os.Stdout, os.Stderr)
	err := app.RunContext(ctx, command.ReorderArgs(app, os.Args))
	stop()
	os.Exit(command.Report(os.Stderr, err))
}
