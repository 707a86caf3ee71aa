package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/emulator"
	emulators "github.com/drivecp/drivecp/emulator/all"
	"github.com/drivecp/drivecp/internal/units"
)

// serveOptions are the flags of `drivecp serve`.
type serveOptions struct {
	cloud    string
	emulator emulator.Entry
	settings emulator.Settings
	debug    bool
}

func newServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run a local emulator of the chosen cloud (--cloud; CloudSigma: API 1.0 at /, API 2.0 at /api/2.0/)",
		Description: `Serves until interrupted and prints, one per line on stdout, the endpoint URL
and the credentials, then one line a shell can evaluate to point drivecp at it:
  eval "$(drivecp serve | tail -n 1)"   # in a script: read the last line
For CloudSigma, without --data, drives live in a temporary folder removed on
exit; the other clouds' emulators keep their state in memory.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: emulator.DefaultAddr, Usage: "API listen address (127.0.0.1:0 picks a free port)"},
			&cli.StringFlag{Name: "storage-addr", Usage: "listen address of the download storage host (default: a free port on --addr's host)"},
			&cli.StringFlag{Name: "data", Usage: "folder that keeps drives across restarts (default: a temporary folder)"},
			&cli.StringFlag{Name: "user", Usage: "accepted user name, on clouds with one", DefaultText: "the emulator's, e.g. user@example.com"},
			&cli.StringFlag{Name: "password", Usage: "accepted password, on clouds with one", DefaultText: "the emulator's, e.g. secret"},
			&cli.DurationFlag{Name: "url-expiry", Usage: "lifetime of signed download URLs", DefaultText: "the emulator's, e.g. 10m0s"},
			&cli.DurationFlag{Name: "token-ttl", Usage: "lifetime of bearer tokens, on clouds that hand them out (CenturyLink)", DefaultText: "the emulator's, e.g. 2h0m0s"},
			&cli.DurationFlag{Name: "operation-time", Aliases: []string{"job-duration"},
				Usage: "how long asynchronous operations (jobs, tasks) take; negative: at once", DefaultText: operationTimes()},
			&cli.DurationFlag{Name: "transition-time", Usage: "how long a drive created through the API stays creating, and one resized by an edit resizing, on clouds whose emulator has those states; negative: none",
				DefaultText: "the emulator's, e.g. 200ms"},
			&cli.StringFlag{Name: "rate-limits", Usage: "limit requests per minute by method as the cloud documents (CloudSigma API 2.0: 10000 GET, POST, PUT, 1000 DELETE), answered 429 over it: documented, or METHOD=N pairs replacing those, e.g. GET=600,DELETE=60",
				DefaultText: "no limits"},
			&cli.Float64Flag{Name: "fail-rate", Usage: "fraction of API requests refused as the cloud refuses an overloaded one (503)"},
			&cli.Float64Flag{Name: "reset-rate", Usage: "fraction of requests whose connection is dropped mid-way"},
			&cli.DurationFlag{Name: "latency", Usage: "delay added to every request"},
			&cli.StringFlag{Name: "conn-bandwidth", Usage: "per-connection bandwidth each way, e.g. 10MB/s (default unlimited)"},
			&cli.StringFlag{Name: "total-bandwidth", Usage: "bandwidth of all connections together each way, the client's link, e.g. 40MB/s (default unlimited)"},
			&cli.IntFlag{Name: "max-concurrent", Usage: "API requests one client may have in flight; more are refused as the cloud refuses an overloaded one (default no limit)"},
			&cli.BoolFlag{Name: "no-range", Usage: "downloads ignore Range headers"},
			&cli.StringFlag{Name: "max-drive-size", Usage: "largest drive accepted, on clouds whose emulator limits it (CloudSigma: 4 TiB as documented); drives are sparse files, so 16T works for scale tests"},
			&cli.StringFlag{Name: "storage-types", Usage: "storage types offered, comma-separated, on clouds with several (CloudSigma: dssd, zadara)",
				DefaultText: "the emulator's, e.g. dssd"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the fault injection, for reproducible runs"},
		},
		Action: func(c *cli.Context) error {
			opts, err := serveOptionsFrom(c)
			if err != nil {
				return err
			}
			return runServe(c.Context, c.App.Writer, c.App.ErrWriter, opts)
		},
	}
}

// operationTimes lists each emulator's default operation time for --help.
func operationTimes() string {
	var out []string
	for name, e := range emulators.Emulators() {
		out = append(out, name+" "+e.OperationTime.String())
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func serveOptionsFrom(c *cli.Context) (serveOptions, error) {
	if c.Args().Present() {
		return serveOptions{}, usageErrorf("serve takes no arguments, got %q", c.Args().First())
	}
	cl, err := chosenCloud(c)
	if err != nil {
		return serveOptions{}, err
	}
	all := emulators.Emulators()
	em, ok := all[cl.Name]
	if !ok {
		return serveOptions{}, usageErrorf("drivecp has no emulator of %s; it has emulators of %s",
			cl.Name, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
	}
	sh := emulator.Shaping{
		FailRate:  c.Float64("fail-rate"),
		ResetRate: c.Float64("reset-rate"),
		Latency:   c.Duration("latency"),
		Seed:      c.Int64("seed"),
	}
	for name, rate := range map[string]float64{"--fail-rate": sh.FailRate, "--reset-rate": sh.ResetRate} {
		if rate < 0 || rate >= 1 {
			return serveOptions{}, usageErrorf("%s %v: use a fraction from 0 up to (not including) 1", name, rate)
		}
	}
	for flag, dst := range map[string]*int64{"conn-bandwidth": &sh.ConnBandwidth, "total-bandwidth": &sh.TotalBandwidth} {
		if s := c.String(flag); s != "" {
			bw, err := units.ParseRate(s)
			if err != nil || bw <= 0 {
				return serveOptions{}, usageErrorf("--%s %q: give bytes per second such as 10MB/s", flag, s)
			}
			*dst = bw
		}
	}
	if sh.MaxConcurrent = c.Int("max-concurrent"); sh.MaxConcurrent < 0 {
		return serveOptions{}, usageErrorf("--max-concurrent must not be negative")
	}
	var maxDrive int64
	if v := c.String("max-drive-size"); v != "" {
		if maxDrive, err = units.ParseSize(v); err != nil || maxDrive <= 0 {
			return serveOptions{}, usageErrorf("--max-drive-size %q: give a size such as 16T", v)
		}
	}
	opTime := em.OperationTime
	if c.IsSet("operation-time") {
		opTime = c.Duration("operation-time")
	}
	return serveOptions{
		cloud:    cl.Name,
		emulator: em,
		settings: emulator.Settings{
			Addr:          c.String("addr"),
			Shaping:       sh,
			OperationTime: opTime,
			DataDir:       c.String("data"),
			User:          c.String("user"),
			Password:      c.String("password"),
			StorageAddr:   c.String("storage-addr"),
			URLExpiry:     c.Duration("url-expiry"),
			TokenTTL:      c.Duration("token-ttl"),
			MaxDriveSize:  maxDrive,
			NoRange:       c.Bool("no-range"),
			StorageTypes:  c.String("storage-types"),
			Transition:    c.Duration("transition-time"),
			RateLimits:    c.String("rate-limits"),
		},
		debug: c.Bool(flagDebug),
	}, nil
}

// runServe runs the chosen cloud's emulator until ctx is cancelled
// (SIGINT/SIGTERM), then shuts it down gracefully.
func runServe(ctx context.Context, stdout, stderr io.Writer, o serveOptions) error {
	if o.debug {
		o.settings.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "drivecp: serve: "+format+"\n", args...) }
	}
	srv, err := o.emulator.Start(o.settings)
	if errors.Is(err, emulator.ErrListen) {
		return withHint(err, "is another emulator already listening there? --addr 127.0.0.1:0 picks a free port")
	}
	if errors.Is(err, emulator.ErrSetting) {
		return &usageError{Err: err}
	}
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, srv.Banner())
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
