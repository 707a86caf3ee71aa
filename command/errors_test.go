package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/session"
)

// TestSavedFailureExitCodes: a transfer that failed with its progress
// saved exits 5 exactly when the same command can continue (lost network,
// server trouble, full disk), and otherwise keeps its own code with a hint
// that fits: a drive that is gone needs its checkpoint discarded.
func TestSavedFailureExitCodes(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		code int
		hint string
	}{
		{"connection refused", fmt.Errorf("read chunk 3: %w (gave up after 10 attempts)", dial), ExitInterrupted, "run the same command again"},
		{"stalled", fmt.Errorf("chunk 1: %w", providers.ErrStalled), ExitInterrupted, "run the same command again"},
		{"server busy", &providers.APIError{Op: "read", Status: 503}, ExitInterrupted, "run the same command again"},
		{"full disk", fmt.Errorf("write chunk 2: %w", &fs.PathError{Op: "write", Path: "x.img.part", Err: syscall.ENOSPC}), ExitInterrupted, "run the same command again"},
		{"quota", fmt.Errorf("write chunk 2: %w", syscall.EDQUOT), ExitInterrupted, "run the same command again"},
		{"drive gone", fmt.Errorf("read: %w", providers.ErrNotFound), ExitNotFound, "drivecp checkpoint rm ID"},
		{"password changed", fmt.Errorf("read: %w", providers.ErrAuth), ExitAuth, "once the cause is fixed"},
		{"image shrank", fmt.Errorf("read image: %w", io.ErrUnexpectedEOF), ExitFailure, "once the cause is fixed"},
		{"other", errors.New("boom"), ExitFailure, "once the cause is fixed"},
	} {
		err := session.SavedFailure(tc.err, 3, 10, "ID")
		var h *hintError
		if code := ExitCode(err); code != tc.code || !errors.As(err, &h) || !strings.Contains(h.Hint, tc.hint) || !errors.Is(err, tc.err) {
			t.Errorf("%s: exit %d, hint %v; want %d and a hint with %q", tc.name, code, h, tc.code, tc.hint)
		}
	}
	if ExitCode(session.SavedFailure(context.Canceled, 1, 2, "ID")) == ExitInterrupted {
		t.Error("a cancelled context is ErrInterrupted's business, not a continuable failure")
	}
}

// TestReportHints: a provider's hint reaches the user, and one the command
// added wins over it.
func TestReportHints(t *testing.T) {
	provider := providers.WithHint(fmt.Errorf("%w: a snapshot is there", providers.ErrInvalid), "replace it with --replace")
	for _, tc := range []struct {
		name string
		err  error
		hint string
	}{
		{"provider", fmt.Errorf("snapshot create: %w", provider), "drivecp: hint: replace it with --replace\n"},
		{"command over provider", withHint(provider, "the command's"), "drivecp: hint: the command's\n"},
		{"none", errors.New("plain"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			Report(&out, tc.err)
			_, hint, _ := strings.Cut(out.String(), "\n")
			if hint != tc.hint {
				t.Errorf("Report printed %q, want the hint line %q", out.String(), tc.hint)
			}
		})
	}
}
