package command

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/drivecp/drivecp/internal/units"
)

// printJSON writes v as indented JSON, the --json form of every result.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints aligned columns; rows are written when Flush is called.
type table struct{ tw *tabwriter.Writer }

// newTable starts a table with a header row.
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, c)
	}
	fmt.Fprintln(t.tw)
}

func (t *table) flush() error { return t.tw.Flush() }

// printFields prints label/value pairs as aligned `Label:  value` lines;
// empty values show as "-".
func printFields(w io.Writer, pairs ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], dash(pairs[i+1]))
	}
	return tw.Flush()
}

// printRaws prints the API objects of a list as one JSON array ([] when
// empty, never null).
func printRaws[T any](w io.Writer, items []T, raw func(T) any) error {
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, raw(it))
	}
	return printJSON(w, out)
}

// sizeWithBytes shows a size for people and for copying: "10 GiB (10737418240 bytes)".
func sizeWithBytes(n int64) string {
	return fmt.Sprintf("%s (%d bytes)", units.FormatSize(n), n)
}

// formatMeta prints metadata as sorted k=v pairs.
func formatMeta(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// dash stands in for an empty table cell, so columns stay aligned for awk.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// dedupe drops repeated values, keeping the first order.
func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// nonEmpty drops empty strings, keeping a non-nil (possibly empty) slice.
func nonEmpty(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
