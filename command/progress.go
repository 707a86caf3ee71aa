package command

import (
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
	"github.com/drivecp/drivecp/transfer"
)

// progressBar renders acknowledged bytes on stderr when stderr is a
// terminal and --quiet is not set; otherwise it renders nothing. With
// --log-json it also feeds the event log's progress lines.
type progressBar struct {
	bar *progressbar.ProgressBar
	log *eventLog
	// phase counts for the event log; nil without one.
	phase *phaseProgress
	// toMove is the bar's total: the bytes that must travel, the whole
	// image less what was settled without moving.
	toMove int64
}

// newProgress starts a bar of total bytes described by desc.
func newProgress(c *cli.Context, total int64, desc string) *progressBar {
	pb := &progressBar{}
	if l := eventLogFrom(c.Context); l != nil {
		pb.log, pb.phase = l, l.startPhase(desc, total)
	}
	if c.Bool(flagQuiet) || !isTerminal(c.App.ErrWriter) {
		return pb
	}
	pb.toMove = total
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.App.ErrWriter),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // 100 ms
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprint(c.App.ErrWriter, "\r") }),
	)
	pb.bar = bar
	return pb
}

// Add implements transfer.Progress.
func (p *progressBar) Add(n int64) {
	if p.phase != nil {
		p.phase.Add(n)
	}
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

// Settled implements transfer.Settler: bytes that did not move (done by an
// earlier run, holes a new drive need not receive) leave the bar's total
// instead of filling it, so the bar and its rate show what travels; a
// sparse terabyte no longer reads "1.1 TB/s" on its first tick.
func (p *progressBar) Settled(n int64) {
	if p.phase != nil {
		p.phase.Settled(n)
	}
	if p.bar != nil && n > 0 {
		p.toMove -= n
		p.bar.ChangeMax64(max(p.toMove, 1))
	}
}

// done removes the bar before the summary line is printed, and ends the
// event log's phase.
func (p *progressBar) done() {
	if p.log != nil {
		p.log.endPhase()
	}
	if p.bar != nil {
		_ = p.bar.Clear()
	}
}

var _ transfer.Settler = (*progressBar)(nil)

// printSummary writes the one-line summary of a transfer on stderr, unless
// --quiet.
func printSummary(c *cli.Context, verb string, s transfer.Summary) {
	if l := eventLogFrom(c.Context); l != nil {
		l.summary(verb, s)
	}
	if c.Bool(flagQuiet) {
		return
	}
	var line string
	if s.MBps > 0 {
		line = fmt.Sprintf("drivecp: %s %s in %.1fs, %.1f MB/s (%s on the wire, %.1f MB/s",
			verb, units.FormatSize(s.LogicalBytes), s.Seconds, s.MBps, units.FormatSize(s.WireBytes), s.WireMBps)
	} else {
		// Nothing travelled, or too briefly for a rate to mean anything.
		line = fmt.Sprintf("drivecp: %s %s in %.1fs (%s on the wire",
			verb, units.FormatSize(s.LogicalBytes), s.Seconds, units.FormatSize(s.WireBytes))
	}
	if s.ZeroBytesSkipped > 0 {
		line += fmt.Sprintf("; %s of zero chunks skipped", units.FormatSize(s.ZeroBytesSkipped))
	}
	if s.ChunksSkipped > 0 {
		line += fmt.Sprintf("; %d of %d chunks already done", s.ChunksSkipped, s.Chunks)
	}
	if s.Retries > 0 {
		line += fmt.Sprintf("; %d retries", s.Retries)
	}
	if s.Concurrency > 0 {
		line += fmt.Sprintf("; concurrency %d, chosen by -c auto", s.Concurrency)
	}
	fmt.Fprintln(c.App.ErrWriter, line+")")
}
