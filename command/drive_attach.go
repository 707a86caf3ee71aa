package command

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
)

// flagStop lets attach and detach stop a running server around the change
// on clouds that change a server's drives only while it is stopped.
const flagStop = "stop"

// driveAttachCommands are `drive attach` and `drive detach`.
func driveAttachCommands() []*cli.Command {
	stop := &cli.BoolFlag{Name: flagStop, Usage: "if the server runs and the cloud needs it stopped: power it off, change it, power it on again"}
	return []*cli.Command{
		{
			Name:      "attach",
			Usage:     "attach a drive to a server",
			ArgsUsage: "DRIVE",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "server", Usage: "the server to attach the drive to", Required: true}, stop,
			}, waitFlags()...),
			Action: withProvider(oneArg("DRIVE"), func(c *cli.Context, p *providers.Provider, args []string) error {
				return runDriveAttach(c.Context, c.App.Writer, p, attachOptions{Drive: args[0], Server: c.String("server"),
					Stop: c.Bool(flagStop), Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)})
			}),
		},
		{
			Name:      "detach",
			Usage:     "detach a drive from the server it is attached to",
			ArgsUsage: "DRIVE",
			Flags:     append([]cli.Flag{stop}, waitFlags()...),
			Action: withProvider(oneArg("DRIVE"), func(c *cli.Context, p *providers.Provider, args []string) error {
				return runDriveAttach(c.Context, c.App.Writer, p, attachOptions{Drive: args[0], Detach: true,
					Stop: c.Bool(flagStop), Wait: waitOptionsFrom(c), JSON: c.Bool(flagJSON)})
			}),
		},
	}
}

// attachOptions are the inputs of `drive attach` and `drive detach`.
type attachOptions struct {
	Drive, Server string
	Detach, Stop  bool
	Wait          waitOptions
	JSON          bool
}

// runDriveAttach attaches (or detaches) a drive. Where the cloud changes a
// server's drives only while it is stopped, a running server is refused
// with a hint, or with --stop powered off, changed and powered on again,
// waiting for each step.
func runDriveAttach(ctx context.Context, w io.Writer, p *providers.Provider, o attachOptions) error {
	verb := "attach drives to servers"
	if o.Detach {
		verb = "detach drives from servers"
	}
	if p.Attacher == nil || p.Servers == nil {
		return p.Lack(verb)
	}
	server := o.Server
	if o.Detach {
		d, err := p.Drives.GetDrive(ctx, o.Drive)
		if err != nil {
			return err
		}
		if len(d.Servers) == 0 {
			return usageErrorf("%s %s is not attached to a server", p.Features.DriveNoun, o.Drive)
		}
		server = d.Servers[0]
	}
	s, err := p.Servers.GetServer(ctx, server)
	if err != nil {
		return err
	}
	restart := false
	if p.Features.AttachNeedsStop && s.State != providers.StateReady {
		if !o.Stop {
			return withHint(usageErrorf("server %s is %s: %s changes a server's %ss only while it is stopped", s.ID, s.Status, p.Cloud, p.Features.DriveNoun),
				"stop it first, or add --stop to power it off, make the change and power it on again")
		}
		if p.ServerPower == nil {
			return p.Lack("stop servers")
		}
		if err := powerServer(ctx, p, s.ID, false, o.Wait); err != nil {
			return err
		}
		restart = true
	}
	if o.Detach {
		s, err = p.Attacher.DetachDrive(ctx, o.Drive)
	} else {
		s, err = p.Attacher.AttachDrive(ctx, o.Drive, s.ID)
	}
	if err != nil {
		if restart {
			return withHint(err, "server %s was stopped for the change and is still stopped: 'drivecp server info %s'", server, server)
		}
		return err
	}
	if n := len(s.Jobs); n > 0 && p.Jobs != nil && !o.Wait.NoWait {
		if _, err := waitJob(ctx, p.Jobs, s.Jobs[n-1], o.Wait); err != nil {
			return err
		}
	}
	if restart {
		if err := powerServer(ctx, p, server, true, o.Wait); err != nil {
			return err
		}
	}
	if o.JSON {
		return printJSON(w, s.Raw)
	}
	_, err = fmt.Fprintln(w, s.ID)
	return err
}

// powerServer starts (on) or stops a server and waits until it is running
// or stopped.
func powerServer(ctx context.Context, p *providers.Provider, id string, on bool, o waitOptions) error {
	power, want, what := p.ServerPower.StopServer, providers.StateReady, "stop of server "+id
	if on {
		power, want, what = p.ServerPower.StartServer, providers.StateInUse, "start of server "+id
	}
	job, err := power(ctx, id)
	if err != nil {
		return err
	}
	if job.UUID != "" && p.Jobs != nil {
		if _, err := waitJob(ctx, p.Jobs, job.UUID, o); err != nil {
			return err
		}
	}
	return waitFor(ctx, o, what, func(ctx context.Context) (bool, string, error) {
		s, err := p.Servers.GetServer(ctx, id)
		if err != nil {
			return false, "", err
		}
		if s.State == providers.StateFailed {
			return false, "", fmt.Errorf("%s: server is %s", what, s.Status)
		}
		return s.State == want, s.Status, nil
	})
}
