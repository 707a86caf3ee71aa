package command

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
)

func newJobCommand() *cli.Command {
	return &cli.Command{
		Name:  "job",
		Usage: "list, inspect and wait for asynchronous jobs (clones, snapshots)",
		Subcommands: []*cli.Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list jobs (all pages)",
				Action: withServices(noArgsRule, func(c *cli.Context, s services, _ []string) error {
					return runJobList(c.Context, c.App.Writer, s, c.Bool(flagJSON))
				}),
			},
			{
				Name:      "info",
				Usage:     "show one job",
				ArgsUsage: "UUID",
				Action: withServices(oneArg("UUID"), func(c *cli.Context, s services, args []string) error {
					return runJobInfo(c.Context, c.App.Writer, s, args[0], c.Bool(flagJSON))
				}),
			},
			{
				Name:      "wait",
				Usage:     "wait until a job has succeeded (exit 1 if it fails) and print its UUID",
				ArgsUsage: "UUID",
				Flags: []cli.Flag{
					&cli.DurationFlag{Name: flagTimeout, Value: defaultWaitTimeout, Usage: "give up waiting after this long (the job goes on)"},
				},
				Action: withServices(oneArg("UUID"), func(c *cli.Context, s services, args []string) error {
					return runJobWait(c.Context, c.App.Writer, s, args[0], waitOptionsFrom(c), c.Bool(flagJSON))
				}),
			},
		},
	}
}

// runJobList prints every job.
func runJobList(ctx context.Context, w io.Writer, s services, asJSON bool) error {
	if s.jobs == nil {
		return s.unsupported("job list")
	}
	js, err := s.jobs.ListJobs(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printRaws(w, js, func(j providers.Job) any { return j.Raw })
	}
	t := newTable(w, "UUID", "OPERATION", "STATE", "PROGRESS", "RESOURCES")
	for _, j := range js {
		t.row(j.UUID, dash(j.Operation), dash(j.Status), percent(j.Progress), dash(resourceIDs(j.Resources)))
	}
	return t.flush()
}

// runJobInfo prints one job.
func runJobInfo(ctx context.Context, w io.Writer, s services, uuid string, asJSON bool) error {
	if s.jobs == nil {
		return s.unsupported("job info")
	}
	j, err := s.jobs.GetJob(ctx, uuid)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, j.Raw)
	}
	return printFields(w, "UUID", j.UUID, "Operation", j.Operation, "State", j.Status,
		"Progress", percent(j.Progress), "Resources", resourceIDs(j.Resources))
}

// runJobWait waits for a job to succeed and prints its UUID (or object).
// A failed job is an error (exit 1).
func runJobWait(ctx context.Context, w io.Writer, s services, uuid string, o waitOptions, asJSON bool) error {
	if s.jobs == nil {
		return s.unsupported("job wait")
	}
	j, err := waitJob(ctx, s.jobs, uuid, o)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, j.Raw)
	}
	_, err = fmt.Fprintln(w, j.UUID)
	return err
}

// resourceIDs shortens resource URIs (/api/2.0/drives/UUID/) to their
// UUIDs, comma-separated.
func resourceIDs(rs []string) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = path.Base(strings.TrimSuffix(r, "/"))
	}
	return strings.Join(out, ",")
}

// percent shows a job's progress; a cloud that does not report one (-1)
// gets a dash, not "-1%".
func percent(p int) string {
	if p < 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", p)
}
