package session

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/drivecp/drivecp/internal/failure"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
)

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

// SavedFailure is the error a transfer returns when it failed with err
// after saving done of total chunks in checkpoint id: exit 5
// (failure.Resumable) with a hint to run the command again when the cause
// passes by itself; for a drive that is gone, a hint to discard the
// checkpoint, which no rerun can use; otherwise err's own kind, with a hint
// that the progress is kept for when the cause is fixed.
func SavedFailure(err error, done, total int, id string) error {
	switch {
	case continuable(err):
		return &failure.Resumable{Err: failure.WithHint(err, "%d of %d chunks are saved (checkpoint %s): run the same command again to resume", done, total, id)}
	case errors.Is(err, providers.ErrNotFound):
		return failure.WithHint(err, "the drive is gone, so its saved progress is of no use: discard it with 'drivecp checkpoint rm %s'", id)
	}
	return failure.WithHint(err, "%d of %d chunks are saved (checkpoint %s): once the cause is fixed, run the same command again to resume", done, total, id)
}

// LoadError explains an unreadable checkpoint id and how to get rid of it
// (a usage error: the saved input is bad). Other errors pass as they are.
func LoadError(id string, err error) error {
	switch {
	case errors.Is(err, resume.ErrVersion):
		return failure.WithHint(failure.Usagef("checkpoint %s was written by another drivecp version: %w", id, err),
			"discard it with 'drivecp checkpoint rm %s' or run the transfer with --restart", id)
	case errors.Is(err, resume.ErrCorrupt):
		return failure.WithHint(failure.Usagef("checkpoint %s is truncated or damaged: %w", id, err),
			"discard it with 'drivecp checkpoint rm %s' or run the transfer with --restart", id)
	}
	return err
}
