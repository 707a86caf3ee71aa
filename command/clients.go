package command

import (
	"context"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// clients are a transfer command's two transfer APIs, as the chosen cloud's
// provider describes them: "v2", the default, with chunked, one-request and
// ranged transfers, and "v1" with offset reads and writes.
type clients struct {
	v1 session.OffsetAPI
	v2 session.ChunkedAPI
	// endpointHost names the endpoint in checkpoints and messages; it never
	// carries credentials.
	endpointHost string
}

// newClients opens the chosen cloud for a transfer command.
// concurrency sizes the keep-alive pool.
func newClients(c *cli.Context, concurrency int) (*clients, error) {
	return openClients(c, concurrency, nil)
}

// newOffsetClients is newClients for the offset (API 1.0) transfers of ts,
// refusing a --chunk-size larger than the API's largest piece.
func newOffsetClients(c *cli.Context, ts *transferSettings) (*clients, error) {
	cl, err := newClients(c, ts.opts.Concurrency)
	if err != nil {
		return nil, err
	}
	if m := cl.v1.MaxPiece; m > 0 && ts.chunkSize > m {
		return nil, usageErrorf("--chunk-size %s: API 1.0 reads and writes at most %s per request", c.String(flagChunkSize), sizeFlagText(m))
	}
	return cl, nil
}

// newTransferClients is newClients for API 2.0 transfers: the cloud first
// resolves what its transfer paths need (CloudSigma's authoritative direct
// host), under the retry policy of meta.
func newTransferClients(c *cli.Context, concurrency int, meta transfer.Options) (*clients, error) {
	return openClients(c, concurrency, &meta)
}

func openClients(c *cli.Context, concurrency int, meta *transfer.Options) (*clients, error) {
	cl, err := chosenCloud(c)
	if err != nil {
		return nil, err
	}
	if len(cl.Capabilities.Transfers) == 0 {
		return nil, cannotTransfer(cl)
	}
	cfg, err := cloudConfig(c, cl, os.Getenv)
	if err != nil {
		return nil, err
	}
	o := providers.OpenOptions{Version: Version, Concurrency: concurrency, Transfer: meta != nil}
	if meta != nil {
		m := *meta
		o.Retry = func(ctx context.Context, what string, fn func(ctx context.Context) error) error {
			return transfer.Do(ctx, m, what, 0, fn)
		}
	}
	if c.Bool(flagDebug) {
		o.Trace = c.App.ErrWriter
	}
	p, err := cl.Open(c.Context, cfg, o)
	if err != nil {
		return nil, unreachableHint(err)
	}
	out := &clients{endpointHost: p.Endpoint}
	for _, t := range p.Transfers {
		switch {
		case t.OffsetWriter != nil && t.OffsetReader != nil && out.v1.DriveService == nil:
			out.v1 = session.OffsetAPIOf(t)
		case t.Resumable != nil && t.Downloader != nil && out.v2.DriveService == nil:
			out.v2 = session.ChunkedAPIOf(t, p.DriveEditor)
		}
	}
	return out, nil
}

// cannotTransfer is the error of a transfer on a cloud without a byte
// path: it names the cloud and what it has instead.
func cannotTransfer(cl providers.Cloud) error {
	return &providers.UnsupportedError{Cloud: cl.Name, What: "transfer drive images (its API has no byte path)",
		Instead: strings.Join(cl.Capabilities.Services, ", ")}
}

// apiVersion validates an --api flag value.
func apiVersion(s string) (string, error) {
	switch s {
	case "v1", "1", "1.0":
		return "v1", nil
	case "v2", "2", "2.0", "":
		return "v2", nil
	}
	return "", usageErrorf("--api %q: use v1 or v2", s)
}

// sizeFlagText writes n as a size flag would take it: "4M" for 4 MiB.
func sizeFlagText(n int64) string {
	for _, u := range []struct {
		suffix string
		unit   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.unit && n%u.unit == 0 {
			return strconv.FormatInt(n/u.unit, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
