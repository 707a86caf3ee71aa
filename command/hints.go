package command

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/drivecp/drivecp/providers"
)

// lostAnswerHint explains a request that creates something (a drive, a
// clone, a snapshot) and failed in transit: the server may have acted
// before the connection broke, so running the command again blindly could
// make a second one. check is the command that tells. Refusals of the API
// and failures to connect at all are left as they are (the latter with
// unreachableHint's hint).
func lostAnswerHint(err error, what, check string) error {
	var apiErr *providers.APIError
	var op *net.OpError
	switch {
	case err == nil || errors.As(err, &apiErr) || !providers.IsRetryable(err) || errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &op) && op.Op == "dial":
		return unreachableHint(err)
	}
	return withHint(err, "the %s may have been created: check with '%s' before running this again", what, check)
}

// listCommand is the drive listing that finds a drive named name, or all
// drives when the API chooses the name.
func listCommand(name string) string {
	if name == "" {
		return "drivecp drive list"
	}
	if strings.ContainsAny(name, " \t'\"$`\\!*?[](){}<>|&;#~") {
		name = strconv.Quote(name)
	}
	return "drivecp drive list --name " + name
}
