package command

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/providers"
)

// Flags of `server delete`: what happens to the server's drives is never
// guessed.
const (
	flagKeepDrives   = "keep-drives"
	flagDeleteDrives = "delete-drives"
)

func newServerCommand() *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "list and inspect servers (to find the drives they use), and delete them",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list servers (all pages)",
				Action: withProvider(noArgsRule, func(c *cli.Context, p *providers.Provider, _ []string) error {
					return runServerList(c.Context, c.App.Writer, p, c.Bool(flagJSON))
				}),
			},
			{
				Name:      "info",
				Usage:     "show one server and its drives",
				ArgsUsage: "SERVER",
				Action: withProvider(oneArg("SERVER"), func(c *cli.Context, p *providers.Provider, args []string) error {
					return runServerInfo(c.Context, c.App.Writer, p, args[0], c.Bool(flagJSON))
				}),
			},
			{
				Name:      "delete",
				Aliases:   []string{"rm"},
				Usage:     "delete a server, keeping or deleting its drives",
				ArgsUsage: "SERVER",
				Flags: append([]cli.Flag{
					&cli.BoolFlag{Name: flagKeepDrives, Aliases: []string{"keep-volumes"}, Usage: "detach the server's drives and keep them"},
					&cli.BoolFlag{Name: flagDeleteDrives, Aliases: []string{"delete-volumes"}, Usage: "delete the server's drives with it"},
					yesFlag(),
				}, waitFlags()...),
				Action: withProvider(oneArg("SERVER"), func(c *cli.Context, p *providers.Provider, args []string) error {
					keep, del := c.Bool(flagKeepDrives), c.Bool(flagDeleteDrives)
					if keep == del {
						return withHint(usageErrorf("say what happens to the server's drives"),
							"give exactly one of --%s and --%s", flagKeepDrives, flagDeleteDrives)
					}
					confirm, err := confirmerFrom(c)
					if err != nil {
						return err
					}
					return runServerDelete(c.Context, c.App.Writer, p, serverDeleteOptions{
						ID: args[0], DeleteDrives: del, Confirm: confirm, Wait: waitOptionsFrom(c)})
				}),
			},
		},
	}
}

// withProvider is the shape of the actions of the cloud-neutral commands:
// check the arguments, open the chosen cloud, then run.
func withProvider(rule argsRule, run func(c *cli.Context, p *providers.Provider, args []string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		args, err := rule(c)
		if err != nil {
			return err
		}
		p, err := openProvider(c, providerOptions{Retry: metaPolicy(c)})
		if err != nil {
			return err
		}
		return run(c, p, args)
	}
}

func runServerList(ctx context.Context, w io.Writer, p *providers.Provider, asJSON bool) error {
	if p.Servers == nil {
		return p.Lack("list servers")
	}
	list, err := p.Servers.ListServers(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printRaws(w, list, func(s providers.Server) any { return s.Raw })
	}
	t := newTable(w, "ID", "NAME", "STATUS", "DRIVES")
	for _, s := range list {
		t.row(s.ID, dash(s.Name), dash(s.Status), dash(serverDriveIDs(s)))
	}
	return t.flush()
}

func serverDriveIDs(s providers.Server) string {
	ids := make([]string, len(s.Drives))
	for i, d := range s.Drives {
		ids[i] = d.Drive
	}
	return strings.Join(ids, ",")
}

func runServerInfo(ctx context.Context, w io.Writer, p *providers.Provider, id string, asJSON bool) error {
	if p.Servers == nil {
		return p.Lack("show servers")
	}
	s, err := p.Servers.GetServer(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, s.Raw)
	}
	if err := printFields(w, "ID", s.ID, "Name", s.Name, "Status", s.Status, "State", string(s.State)); err != nil {
		return err
	}
	if len(s.Drives) == 0 {
		_, err := fmt.Fprintln(w, "Drives:    -")
		return err
	}
	fmt.Fprintln(w, "Drives:")
	t := newTable(w, "  SLOT", "DRIVE", "SIZE", "BOOT")
	for _, d := range s.Drives {
		boot := ""
		if d.Boot {
			boot = "yes"
		}
		size := "-"
		if d.Size > 0 {
			size = units.FormatSize(d.Size)
		}
		t.row("  "+dash(d.Slot), d.Drive, size, dash(boot))
	}
	return t.flush()
}

// serverDeleteOptions are the inputs of `server delete`.
type serverDeleteOptions struct {
	ID           string
	DeleteDrives bool
	Confirm      confirmFunc
	Wait         waitOptions
}

func runServerDelete(ctx context.Context, w io.Writer, p *providers.Provider, o serverDeleteOptions) error {
	if p.ServerDeleter == nil {
		return p.Lack("delete servers")
	}
	what := "keeping its drives (detached)"
	if o.DeleteDrives {
		what = "and DELETE its drives"
	}
	var details []string
	if p.Servers != nil {
		s, err := p.Servers.GetServer(ctx, o.ID)
		if err != nil {
			return err
		}
		details = append(details, fmt.Sprintf("%s  %s  drives: %s", s.ID, dash(s.Name), dash(serverDriveIDs(s))))
	}
	if err := ask(o.Confirm, fmt.Sprintf("Delete server %s %s?", o.ID, what), details); err != nil {
		return err
	}
	job, err := p.ServerDeleter.DeleteServer(ctx, o.ID, o.DeleteDrives)
	if err != nil {
		return lostAnswerHint(err, "server deletion", "drivecp server info "+o.ID)
	}
	if o.Wait.NoWait {
		if job.UUID != "" {
			_, err = fmt.Fprintln(w, job.UUID)
		}
		return err
	}
	if job.UUID != "" && p.Jobs != nil {
		if _, err := waitJob(ctx, p.Jobs, job.UUID, o.Wait); err != nil {
			return err
		}
	}
	if p.Servers == nil {
		return nil
	}
	return waitFor(ctx, o.Wait, "deletion of server "+o.ID, func(ctx context.Context) (bool, string, error) {
		s, err := p.Servers.GetServer(ctx, o.ID)
		if isNotFound(err) {
			return true, "deleted", nil
		}
		if err != nil {
			return false, "", err
		}
		return s.State == providers.StateGone, s.Status, nil
	})
}
