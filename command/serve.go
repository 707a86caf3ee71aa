package command

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers/cloudsigma/emulator"
)

// serveOptions are the flags of `drivecp serve`.
type serveOptions struct {
	config emulator.Config
	debug  bool
}

func newServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run a local emulator of the CloudSigma APIs (API 1.0 at /, API 2.0 at /api/2.0/)",
		Description: `Serves until interrupted and prints, one per line on stdout, the endpoint URL,
the user and the password. Point drivecp at it with
  export CLOUDSIGMA_ENDPOINT=URL CLOUDSIGMA_USERNAME=USER CLOUDSIGMA_PASSWORD=PASSWORD
Without --data, drives live in a temporary folder removed on exit.`,
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
	return serveOptions{config: cfg, debug: c.Bool(flagDebug)}, nil
}

// runServe runs the emulator until ctx is cancelled (SIGINT/SIGTERM), then
// shuts it down gracefully.
func runServe(ctx context.Context, stdout, stderr io.Writer, o serveOptions) error {
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
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
