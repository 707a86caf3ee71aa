package bench

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints results as an aligned table: each figure is the median
// of the runs with the min-max range in brackets when there were several.
// LIMIT is the limit the row comes closest to and OF LIMIT how close: wire
// MB/s against the shaping cap, logical MB/s against the chunker rate. An
// EMULATOR CPU column is added when the server's CPU time was measured, and
// OF CPU BOUND (Result.OfCPUBound) when the link was not shaped either.
// Rows that were not applicable or failed say so, and the reasons follow the
// table as numbered notes.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	server, bound := false, false
	for _, r := range results {
		server = server || r.ServerCPUSecondsPerGB.N > 0
		bound = bound || r.CPUBoundMBps > 0
	}
	head := "SCENARIO\tC\tLOGICAL MB/s\tWIRE MB/s\tCPU s/GB\tPEAK RSS MiB\tLIMIT MB/s\tOF LIMIT"
	if server {
		head += "\tEMULATOR CPU s/GB"
	}
	if bound {
		head += "\tOF CPU BOUND"
	}
	fmt.Fprintln(tw, head)
	var notes []string
	for _, r := range results {
		c := "-"
		switch {
		case r.Auto && r.Concurrency > 0:
			c = "auto (" + strconv.Itoa(r.Concurrency) + ")" // the value it ended at
		case r.Auto:
			c = "auto"
		case r.Concurrency > 0:
			c = strconv.Itoa(r.Concurrency)
		}
		if r.NA != "" {
			notes = append(notes, r.NA)
			fmt.Fprintf(tw, "%s\t%s\tn/a [%d]\t\t\t\t\t\n", r.Title, c, len(notes))
			continue
		}
		mark := ""
		if r.Error != "" {
			notes = append(notes, r.Error)
			mark = fmt.Sprintf(" FAILED [%d]", len(notes))
		}
		if r.LogicalMBps.N == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\n", r.Title, c, mark[1:])
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\t%s\t%s\t%s", r.Title, c,
			formatStat(r.LogicalMBps), mark, formatStat(r.WireMBps), formatStat(r.CPUSecondsPerGB),
			formatStat(r.PeakRSSMiB), limitCell(r), ofLimit(r))
		if server {
			fmt.Fprintf(tw, "\t%s", formatStat(r.ServerCPUSecondsPerGB))
		}
		if bound {
			cell := "-"
			if r.CPUBoundMBps > 0 {
				cell = fmt.Sprintf("%.0f%%", 100*r.OfCPUBound)
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, n := range notes {
		if _, err := fmt.Fprintf(w, "[%d] %s\n", i+1, n); err != nil {
			return err
		}
	}
	return nil
}

// limitCell names the limit a row is measured against.
func limitCell(r Result) string {
	if r.Limit == "" {
		return "none"
	}
	return r.Limit + " " + formatNum(r.LimitMBps)
}

func ofLimit(r Result) string {
	if r.Limit == "" {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*r.OfLimit)
}

// formatStat prints the median, and the range when there were several
// runs: "412 (398-420)".
func formatStat(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 || s.Min == s.Max {
		return formatNum(s.Median)
	}
	return fmt.Sprintf("%s (%s-%s)", formatNum(s.Median), formatNum(s.Min), formatNum(s.Max))
}

// formatNum keeps about three significant digits.
func formatNum(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
