package command

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// flagYes skips the confirmation of destructive commands.
const flagYes = "yes"

// yesFlag is the --yes flag of the delete commands.
func yesFlag() cli.Flag {
	return &cli.BoolFlag{Name: flagYes, Aliases: []string{"y"}, Usage: "do not ask for confirmation (required when stdin is not a terminal)"}
}

// errDeclined is returned when the user answers no to a confirmation.
var errDeclined = errors.New("cancelled: nothing was deleted")

// confirmFunc asks the user to agree to question, after showing details
// (one line each). It returns nil to go ahead, errDeclined otherwise.
type confirmFunc func(question string, details []string) error

// confirmerFrom decides how a destructive command is confirmed: --yes
// skips the question (nil), a terminal on stdin gets asked, and anything
// else is a usage error, so a script never hangs on a prompt nor deletes
// without saying so.
func confirmerFrom(c *cli.Context) (confirmFunc, error) {
	if c.Bool(flagYes) {
		return nil, nil
	}
	if !isTerminal(c.App.Reader) {
		return nil, withHint(usageErrorf("refusing to delete without confirmation: stdin is not a terminal"),
			"pass --yes to delete without asking")
	}
	return promptConfirm(c.App.Reader, c.App.ErrWriter), nil
}

// promptConfirm asks on out and reads the answer from in; only y or yes
// (any case) agrees.
func promptConfirm(in io.Reader, out io.Writer) confirmFunc {
	return func(question string, details []string) error {
		for _, d := range details {
			fmt.Fprintf(out, "  %s\n", d)
		}
		fmt.Fprintf(out, "%s [y/N] ", question)
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(out)
			return errDeclined
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return nil
		}
		return errDeclined
	}
}

// deleteAction is the action of the delete subcommands: one or more UUIDs,
// a confirmation (asked on a terminal, --yes otherwise), then run.
func deleteAction(run func(ctx context.Context, s services, uuids []string, confirm confirmFunc) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		uuids, err := someArgs(c, "UUID")
		if err != nil {
			return err
		}
		confirm, err := confirmerFrom(c)
		if err != nil {
			return err
		}
		s, err := servicesFrom(c)
		if err != nil {
			return err
		}
		return run(c.Context, s, uuids, confirm)
	}
}

// ask asks confirm, when there is one to ask (--yes leaves it nil).
func ask(confirm confirmFunc, question string, details []string) error {
	if confirm == nil {
		return nil
	}
	return confirm(question, details)
}
