package command

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	shared "github.com/drivecp/drivecp/emulator"
	emulators "github.com/drivecp/drivecp/emulator/all"
	"github.com/drivecp/drivecp/providers/cloudsigma"

	"github.com/urfave/cli/v2"

	emulator "github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/internal/units"
)

// serveOptions are the flags of `drivecp serve`.
type serveOptions struct {
	config emulator.Config
	debug  bool
	// cloud is the emulator to run; other holds the shared options of the
	// emulators of clouds other than CloudSigma.
	cloud string
	other shared.Options
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
			&cli.StringFlag{Name: "user", Value: emulator.DefaultUser, Usage: "accepted user name"},
			&cli.StringFlag{Name: "password", Value: emulator.DefaultPassword, Usage: "accepted password"},
			&cli.DurationFlag{Name: "url-expiry", Value: emulator.DefaultURLExpiry, Usage: "lifetime of signed download URLs"},
			&cli.DurationFlag{Name: "job-duration", Value: emulator.DefaultJobDuration, Usage: "how long clone, snapshot and resize jobs take"},
			&cli.Float64Flag{Name: "fail-rate", Usage: "fraction of API requests answered 503 (concurrency error)"},
			&cli.Float64Flag{Name: "reset-rate", Usage: "fraction of requests whose connection is dropped mid-way"},
			&cli.DurationFlag{Name: "latency", Usage: "delay added to every request"},
			&cli.StringFlag{Name: "conn-bandwidth", Usage: "per-connection bandwidth each way, e.g. 10MB/s (default unlimited)"},
			&cli.BoolFlag{Name: "no-range", Usage: "downloads ignore Range headers"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the fault injection, for reproducible runs"},
			&cli.DurationFlag{Name: "operation-time", Value: 3 * time.Second, Usage: "how long asynchronous operations take (clouds other than CloudSigma; CloudSigma: --job-duration)"},
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

func serveOptionsFrom(c *cli.Context) (serveOptions, error) {
	if c.Args().Present() {
		return serveOptions{}, usageErrorf("serve takes no arguments, got %q", c.Args().First())
	}
	cfg := emulator.Config{
		Addr:        c.String("addr"),
		StorageAddr: c.String("storage-addr"),
		DataDir:     c.String("data"),
		User:        c.String("user"),
		Password:    c.String("password"),
		URLExpiry:   c.Duration("url-expiry"),
		JobDuration: c.Duration("job-duration"),
		FailRate:    c.Float64("fail-rate"),
		ResetRate:   c.Float64("reset-rate"),
		Latency:     c.Duration("latency"),
		NoRange:     c.Bool("no-range"),
		Seed:        c.Int64("seed"),
	}
	for name, rate := range map[string]float64{"--fail-rate": cfg.FailRate, "--reset-rate": cfg.ResetRate} {
		if rate < 0 || rate >= 1 {
			return serveOptions{}, usageErrorf("%s %v: use a fraction from 0 up to (not including) 1", name, rate)
		}
	}
	if s := c.String("conn-bandwidth"); s != "" {
		bw, err := units.ParseRate(s)
		if err != nil || bw <= 0 {
			return serveOptions{}, usageErrorf("--conn-bandwidth: %v", err)
		}
		cfg.ConnBandwidth = bw
	}
	cl, err := chosenCloud(c)
	if err != nil {
		return serveOptions{}, err
	}
	other := shared.Options{ConnBandwidth: cfg.ConnBandwidth, OperationTime: c.Duration("operation-time"),
		Faults: shared.FaultConfig{FailRate: cfg.FailRate, ResetRate: cfg.ResetRate, Latency: cfg.Latency, Seed: cfg.Seed}}
	return serveOptions{config: cfg, debug: c.Bool(flagDebug), cloud: cl.Name, other: other}, nil
}

// runServe runs the emulator until ctx is cancelled (SIGINT/SIGTERM), then
// shuts it down gracefully.
func runServe(ctx context.Context, stdout, stderr io.Writer, o serveOptions) error {
	if o.cloud != cloudsigma.Name {
		return runOtherServe(ctx, stdout, o)
	}
	if o.debug {
		o.config.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "drivecp: serve: "+format+"\n", args...) }
	}
	srv, err := emulator.New(o.config)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Close()
		return withHint(err, "is another emulator already listening there? --addr 127.0.0.1:0 picks a free port")
	}
	cfg := srv.Config()
	fmt.Fprintf(stdout, "%s\n%s\n%s\n", srv.URL(), cfg.User, cfg.Password)
	fmt.Fprintf(stdout, "export DRIVECP_CLOUD=%s CLOUDSIGMA_ENDPOINT=%s CLOUDSIGMA_USERNAME=%s CLOUDSIGMA_PASSWORD=%s\n",
		cloudsigma.Name, shellQuote(srv.URL()), shellQuote(cfg.User), shellQuote(cfg.Password))
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// runOtherServe runs the emulator of a cloud other than CloudSigma on the
// --addr listener until ctx ends.
func runOtherServe(ctx context.Context, stdout io.Writer, o serveOptions) error {
	newEmulator, ok := emulators.Emulators()[o.cloud]
	if !ok {
		return usageErrorf("drivecp has no emulator of %s yet", o.cloud)
	}
	ln, err := net.Listen("tcp", o.config.Addr)
	if err != nil {
		return withHint(err, "is another emulator already listening there? --addr 127.0.0.1:0 picks a free port")
	}
	em := newEmulator(o.other.OperationTime)
	fmt.Fprint(stdout, em.Banner("http://"+ln.Addr().String()))
	return shared.Serve(ctx, ln, em, o.other)
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
