package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

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
var ErrInterrupted = errors.New("interrupted; progress was saved, run the same command again to continue")

// resumableError marks a transfer stopped by a failure that its saved
// progress lets the same command get past once the cause is gone: the
// network or the server gave out, the disk filled up. Like an
// interruption it exits 5, so a script can tell "run me again" from a
// failure that would repeat.
type resumableError struct{ err error }

func (e *resumableError) Error() string { return e.err.Error() }
func (e *resumableError) Unwrap() error { return e.err }

// continuable reports whether a transfer that failed with err continues
// from its checkpoint when the same command runs again: a request that
// spent its retries on failures that pass (a lost or refused connection,
// a stall, a temporary API error) or a local disk or quota that is full.
// Refusals (not found, authentication, permission, bad input) would fail
// again the same way; an early end of file is left out because it also
// means an image that shrank while it was read, which the next run
// refuses. The one place this rule lives, for uploads and downloads.
func continuable(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		var apiErr *providers.APIError
		var netErr net.Error
		if !errors.As(err, &apiErr) && !errors.As(err, &netErr) {
			return false
		}
	}
	return providers.IsRetryable(err)
}

// savedFailure is the error a transfer returns when it failed with err
// after saving done of total chunks in checkpoint id: exit 5 with a hint to
// run the command again when continuable(err); for a drive that is gone, a
// hint to discard the checkpoint, which no rerun can use; otherwise err's
// own exit code, with a hint that the progress is kept for when the cause
// is fixed.
func savedFailure(err error, done, total int, id string) error {
	switch {
	case continuable(err):
		return &resumableError{withHint(err, "%d of %d chunks are saved (checkpoint %s): run the same command again to resume", done, total, id)}
	case errors.Is(err, providers.ErrNotFound):
		return withHint(err, "the drive is gone, so its saved progress is of no use: discard it with 'drivecp checkpoint rm %s'", id)
	}
	return withHint(err, "%d of %d chunks are saved (checkpoint %s): once the cause is fixed, run the same command again to resume", done, total, id)
}

// usageError marks bad usage or bad input (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a bad-usage error (exit code 2).
func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// hintError carries a suggestion printed on its own line after the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// withHint attaches a hint to err; a nil err stays nil.
func withHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
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
		fmt.Fprintf(w, "drivecp: hint: %s\n", h.hint)
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
	handler := func(_ *cli.Context, err error, _ bool) error { return &usageError{err} }
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
