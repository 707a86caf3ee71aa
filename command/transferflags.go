package command

import (
	"errors"
	"log"
	"net"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/transfer"
)

// Names of the transfer flags shared by upload and download (--api is
// flagAPI, shared with the drive commands).
const (
	flagConcurrency  = "concurrency"
	flagChunkSize    = "chunk-size"
	flagGzipLevel    = "gzip-level"
	flagRetries      = "retries"
	flagRetryTime    = "retry-time"
	flagStallTimeout = "stall-timeout"
	flagVerify       = "verify"
	flagForce        = "force"
	flagSingle       = "single"
)

// v2MaxChunk bounds API 2.0 chunks, which the API does not limit, so that
// memory stays bounded.
const v2MaxChunk = 256 << 20

// transferFlags are the flags every transfer command takes.
func transferFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagAPI, Value: "v2", Usage: "API to transfer with: v2 (API 2.0 chunked upload, ranged download) or v1 (API 1.0 offset I/O)"},
		&cli.StringFlag{Name: flagConcurrency, Aliases: []string{"c"}, Value: strconv.Itoa(transfer.DefaultConcurrency),
			Usage: "chunks in flight, or auto: find and follow the number that moves the most bytes per second"},
		&cli.StringFlag{Name: flagChunkSize, Value: "4M", Usage: "chunk size (at most 4M with --api v1)"},
		&cli.IntFlag{Name: flagGzipLevel, Value: chunker.DefaultLevel, Usage: "gzip level for API 1.0 uploads (1 fastest .. 9 smallest)"},
		bwlimitFlag(),
		windowFlag(),
		logJSONFlag(),
		&cli.IntFlag{Name: flagRetries, Value: 10, Usage: "attempts per request before giving up (the lookups before a transfer: 4 unless given)"},
		&cli.DurationFlag{Name: flagRetryTime, Value: 5 * time.Minute, Usage: "longest time one request may spend retrying (the lookups before a transfer: 15s unless given)"},
		&cli.DurationFlag{Name: flagStallTimeout, Value: 60 * time.Second, Usage: "retry a request that makes no progress for this long (0: never)"},
		&cli.BoolFlag{Name: flagVerify, Usage: "read every chunk back from the other side and compare hashes"},
		&cli.BoolFlag{Name: flagForce, Usage: "replace an existing file"},
		&cli.BoolFlag{Name: flagSingle, Usage: "API 2.0: one request (direct upload) or one stream (download) instead of parallel chunks"},
		&cli.BoolFlag{Name: flagRestart, Usage: "discard the saved progress of an interrupted run of this transfer and start over"},
	}
}

// transferSettings are the parsed transfer flags.
type transferSettings struct {
	api       string
	chunkSize int64
	opts      transfer.Options
	verify    bool
	force     bool
}

// parseTransferFlags validates the transfer flags into engine options.
func parseTransferFlags(c *cli.Context) (*transferSettings, error) {
	api, err := apiVersion(c.String(flagAPI))
	if err != nil {
		return nil, err
	}
	if api == "v1" && c.Bool(flagSingle) {
		return nil, usageErrorf("--single applies to --api v2 transfers only")
	}
	chunk, err := units.ParseSize(c.String(flagChunkSize))
	if err != nil {
		return nil, usageErrorf("--chunk-size: %v", err)
	}
	n, auto := transfer.DefaultConcurrency, false
	switch s := c.String(flagConcurrency); s {
	case "auto":
		n, auto = transfer.AutoLimit(chunk), true
	default:
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 256 {
			return nil, usageErrorf("--concurrency %q: use 1 to 256, or auto", s)
		}
	}
	if chunk < 64<<10 {
		return nil, usageErrorf("--chunk-size %s: use at least 64K", c.String(flagChunkSize))
	}
	if chunk > v2MaxChunk {
		// Each worker holds up to two chunks (the protocol's last chunk
		// carries the remainder): memory is concurrency × 2 × chunk size.
		return nil, usageErrorf("--chunk-size %s: use at most 256M", c.String(flagChunkSize))
	}
	level := c.Int(flagGzipLevel)
	if level < 1 || level > 9 {
		return nil, usageErrorf("--gzip-level %d: use 1 to 9", level)
	}
	if c.Int(flagRetries) < 1 {
		return nil, usageErrorf("--retries %d: use at least 1", c.Int(flagRetries))
	}
	if c.Duration(flagStallTimeout) < 0 {
		return nil, usageErrorf("--stall-timeout must not be negative")
	}
	// A flag left at its default stays zero in the policy (RetryPolicy
	// fills in the same defaults), so that metaRetry can tell it from one
	// the user chose.
	var retry transfer.RetryPolicy
	if c.IsSet(flagRetries) {
		retry.Attempts = c.Int(flagRetries)
	}
	if c.IsSet(flagRetryTime) {
		if c.Duration(flagRetryTime) <= 0 {
			return nil, usageErrorf("--retry-time must be positive")
		}
		retry.MaxElapsed = c.Duration(flagRetryTime)
	}
	o := transfer.Options{
		Concurrency:     n,
		AutoConcurrency: auto,
		Retry:           retry,
		StallTimeout:    c.Duration(flagStallTimeout),
		GzipLevel:       level,
	}
	if o.Limiter, err = bandwidthLimiter(c, chunk); err != nil {
		return nil, err
	}
	if c.Bool(flagDebug) {
		o.Logger = debugLogger(c)
	}
	if l := eventLogFrom(c.Context); l != nil {
		o.OnRetry = l.retry
		if auto {
			o.OnConcurrency = l.concurrency
		}
	}
	if auto {
		// The endpoint only names the memory: an unreadable setting
		// shares the default's.
		endpoint, _ := cloudSetting(c, flagEndpoint)
		rememberAuto(&o, c.Command.Name, api, chunk, endpoint)
	}
	return &transferSettings{api: api, chunkSize: chunk, opts: o, verify: c.Bool(flagVerify), force: c.Bool(flagForce)}, nil
}

// debugLogger is where --debug sends one line per retried request.
func debugLogger(c *cli.Context) *log.Logger { return log.New(c.App.ErrWriter, "drivecp: ", 0) }

// Defaults of metaRetry's policy.
const (
	metaAttempts   = 4
	metaMaxElapsed = 15 * time.Second
)

// metaRetry is the retry policy of the few calls around a transfer (the
// location and drive lookups): short by default, so an unreachable
// endpoint fails within seconds, but --retries and --retry-time, when
// given, apply to them as to the transfer's own requests: a user who asks
// for 20 attempts over a flaky link must not lose the run to the first
// request's fourth failure.
func metaRetry(o transfer.Options) transfer.Options {
	p := transfer.RetryPolicy{Attempts: metaAttempts, MaxElapsed: metaMaxElapsed}
	if o.Retry.Attempts > 0 {
		p.Attempts = o.Retry.Attempts
	}
	if o.Retry.MaxElapsed > 0 {
		p.MaxElapsed = o.Retry.MaxElapsed
	}
	return transfer.Options{Retry: p, StallTimeout: o.StallTimeout, Logger: o.Logger}
}

// unreachableHint adds a hint to a failure to connect at all, once.
func unreachableHint(err error) error {
	var op *net.OpError
	var hinted *hintError
	if errors.As(err, &op) && op.Op == "dial" && !errors.As(err, &hinted) {
		return withHint(err, "is the endpoint reachable? check --endpoint/CLOUDSIGMA_ENDPOINT or --location")
	}
	return err
}
