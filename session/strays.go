package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// ExtraCreating is the checkpoint key of a drive creation in progress. It
// holds the drives of the new drive's name and size that existed before
// the creation was asked for, comma-separated (possibly none): a run killed
// before it recorded the drive it created left that drive among the others,
// and the next run tells it by its absence here.
const ExtraCreating = "drives_before_create"

// Creation makes the drive a new-drive upload writes, and names the
// drives a lost answer left behind. Creating a drive is not idempotent in
// either API: when the answer to a create is lost after the server acted
// (a connection reset), the retry makes a second drive; when the process
// dies between the answer and the checkpoint, the next run does. The first
// drive then stays, billed and unused.
//
// drivecp tells drives apart only by name and size, so it never deletes or
// adopts one of them: another upload of the same name and size may be
// creating it at this very moment. It names them on stderr, with the
// command that deletes them, and leaves the decision to the user.
type Creation struct {
	// API names the transfer API in the delete hint (--api API).
	API  string
	Name string
	Size int64
	// What names the create request in retry messages.
	What string
	// Create sends one create request.
	Create func(ctx context.Context) (providers.Drive, error)
	// Drives lists the drives named Name.
	Drives func(ctx context.Context) ([]providers.Drive, error)
	// Retry is the retry policy of the requests.
	Retry transfer.Options
}

// run creates the drive through the session s, which keeps the drives that
// existed before in the checkpoint until the new one is recorded.
func (dc *Creation) run(ctx context.Context, s *Session) (providers.Drive, error) {
	before, err := dc.similar(ctx)
	var apiErr *providers.APIError
	switch {
	case errors.As(err, &apiErr) && !providers.IsRetryable(err):
		// The API refuses the listing (an account allowed to create but
		// not to list, say): the check is a safety net, not the job.
		fmt.Fprintf(s.cfg.Stderr, "drivecp: warning: %v; a drive left by a lost answer would go unnoticed\n", err)
		d, _, err := dc.createCounting(ctx)
		return d, err
	case err != nil:
		return providers.Drive{}, err
	}
	if prev, ok := s.extraValue(ExtraCreating); ok && s.Resumed() {
		// The run before this one died while creating: what it did not
		// see before is probably its drive.
		dc.warn(s, missingFrom(before, splitUUIDs(prev)))
	}
	ids := make([]string, len(before))
	for i, d := range before {
		ids[i] = d.UUID
	}
	if err := s.Record(map[string]string{ExtraCreating: strings.Join(ids, ",")}); err != nil {
		return providers.Drive{}, err
	}

	d, attempts, err := dc.createCounting(ctx)
	if attempts > 1 && ctx.Err() == nil {
		// An attempt failed after it may have reached the server. A
		// failure to look is not worth failing the upload over: the
		// checkpoint still holds what the next run needs to look again.
		if after, lerr := dc.similar(ctx); lerr == nil {
			dc.warn(s, slices.DeleteFunc(missingFrom(after, ids), func(x providers.Drive) bool { return x.UUID == d.UUID }))
		}
	}
	return d, err
}

// createCounting creates the drive with retries and says how many create
// requests it sent.
func (dc *Creation) createCounting(ctx context.Context) (d providers.Drive, attempts int, err error) {
	err = transfer.Do(ctx, dc.Retry, dc.What, 0, func(ctx context.Context) error {
		attempts++
		var err error
		d, err = dc.Create(ctx)
		return err
	})
	return d, attempts, err
}

// similar lists the drives of the new drive's name and size, with retries.
func (dc *Creation) similar(ctx context.Context) ([]providers.Drive, error) {
	var all []providers.Drive
	err := transfer.Do(ctx, dc.Retry, "drive listing", 0, func(ctx context.Context) error {
		var err error
		all, err = dc.Drives(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("before creating drive %q: %w", dc.Name, err)
	}
	return slices.DeleteFunc(all, func(d providers.Drive) bool { return d.Name != dc.Name || d.Size != dc.Size }), nil
}

// warn names each stray drive on stderr (also under --quiet: the user pays
// for them) with the command that deletes it.
func (dc *Creation) warn(s *Session, strays []providers.Drive) {
	for _, d := range strays {
		fmt.Fprintf(s.cfg.Stderr, "drivecp: warning: drive %s (%s, %s) is probably left over from a drive creation "+
			"whose answer was lost; if so, delete it: drivecp drive delete --api %s %s\n",
			d.UUID, d.Name, units.FormatSize(d.Size), dc.API, d.UUID)
	}
}

// missingFrom returns the drives of list whose UUIDs are not in known.
func missingFrom(list []providers.Drive, known []string) []providers.Drive {
	var out []providers.Drive
	for _, d := range list {
		if !slices.Contains(known, d.UUID) {
			out = append(out, d)
		}
	}
	return out
}

// splitUUIDs splits a comma-separated list; the empty string is no UUIDs.
func splitUUIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
