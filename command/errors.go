package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/httpclient"
)

// Exit codes, as docs/apis.md fixes them for scripts.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitAuth        = 3
	ExitNotFound    = 4
	ExitInterrupted = 5
)

// ErrInterrupted reports that a transfer stopped early but saved its state:
// running the same command again continues it.
var ErrInterrupted = failure.ErrInterrupted

// resumableError marks a transfer stopped by a failure that its saved
// progress lets the same command get past (exit 5); see failure.Resumable.
type resumableError = failure.Resumable

// usageError marks bad usage or bad input (exit 2).
type usageError = failure.Usage

// usageErrorf returns a bad-usage error (exit code 2).
func usageErrorf(format string, args ...any) error {
	return failure.Usagef(format, args...)
}

// hintError carries a suggestion printed on its own line after the error.
type hintError = failure.Hint

// withHint attaches a hint to err; a nil err stays nil.
func withHint(err error, format string, args ...any) error {
	return failure.WithHint(err, format, args...)
}

// ExitCode maps an error to drivecp's exit codes by its kind.
func ExitCode(err error) int {
	var usage *usageError
	var resumable *resumableError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrInterrupted), errors.As(err, &resumable):
		return ExitInterrupted
	case errors.Is(err, providers.ErrExpired):
		// Checked first: a refused signed URL wraps the storage host's 403,
		// which is no verdict on the credentials.
		return ExitFailure
	case errors.Is(err, providers.ErrAuth), errors.Is(err, providers.ErrPermission):
		return ExitAuth
	case errors.Is(err, providers.ErrNotFound):
		return ExitNotFound
	case errors.As(err, &usage), errors.Is(err, providers.ErrInvalid), errors.Is(err, httpclient.ErrInsecureAuth),
		errors.Is(err, providers.ErrUnsupported):
		return ExitUsage
	}
	return ExitFailure
}

// Report prints err as one `drivecp: error:` line (plus a hint line where
// one helps) and returns the exit code.
func Report(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if errors.Is(err, context.Canceled) && !errors.Is(err, ErrInterrupted) {
		msg = "interrupted"
	}
	fmt.Fprintf(w, "drivecp: error: %s\n", msg)
	var (
		h  *hintError
		ph *providers.HintError
	)
	// A hint the command added wins over the provider's: the command
	// knows more of what the user typed.
	if errors.As(err, &h) {
		fmt.Fprintf(w, "drivecp: hint: %s\n", h.Hint)
	} else if errors.As(err, &ph) {
		fmt.Fprintf(w, "drivecp: hint: %s\n", ph.Hint)
	} else if hint := defaultHint(err); hint != "" {
		fmt.Fprintf(w, "drivecp: hint: %s\n", hint)
	}
	return ExitCode(err)
}

// defaultHint suggests the next step for common failures.
func defaultHint(err error) string {
	var usage *usageError
	switch {
	case errors.Is(err, providers.ErrAuth):
		return "check the credentials of the chosen cloud (--cloud): 'drivecp clouds' lists the variables each one reads"
	case errors.Is(err, httpclient.ErrInsecureAuth):
		return "use an https:// endpoint; plain http is only allowed to loopback addresses"
	case errors.As(err, &usage):
		return "run 'drivecp help' or 'drivecp COMMAND --help' for usage"
	}
	return ""
}

// setUsageErrorHandlers makes flag-parsing failures and unknown commands,
// of the app and of every command group, usage errors (exit 2) instead of
// urfave/cli's default handling.
func setUsageErrorHandlers(app *cli.App) {
	handler := func(_ *cli.Context, err error, _ bool) error { return &usageError{Err: err} }
	app.OnUsageError = handler
	app.Action = unknownCommand
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.OnUsageError = handler
			if len(cmd.Subcommands) > 0 && cmd.Action == nil {
				cmd.Action = unknownCommand
			}
			walk(cmd.Subcommands)
		}
	}
	walk(app.Commands)
}

// unknownCommand is the action of the app and of command groups: without
// arguments it shows help, with one it names the command it does not know.
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowSubcommandHelp(c)
	}
	return withHint(usageErrorf("unknown command %q", c.Args().First()),
		"run '%s --help' to list the commands", c.Command.HelpName)
}
