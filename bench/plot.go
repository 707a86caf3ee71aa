package bench

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PlotOptions is what a plot shows besides the results.
type PlotOptions struct {
	// Title heads the chart, e.g. the table's heading.
	Title string
	// ConnBandwidth and TotalBandwidth are the link's shaping in bytes per
	// second (0: not shaped), drawn as limit lines.
	ConnBandwidth, TotalBandwidth int64
}

// ErrPlotFormat is returned for a plot file whose name ends in neither
// .svg nor .png.
var ErrPlotFormat = errors.New("the plot's file name must end in .svg or .png")

// PlotFormat returns "svg" or "png" from path's extension (any case).
func PlotFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return "svg", nil
	case ".png":
		return "png", nil
	}
	return "", ErrPlotFormat
}

// Plot sizes: wide enough for a legend of a dozen scenarios beside the
// lines; the second panel (-c auto over time) only when there is one.
const (
	plotWidth       = 12 * vg.Inch
	plotLegendWidth = 3.6 * vg.Inch // to the right of the panels, so it hides no line
	plotPanelHeight = 6 * vg.Inch
)

// WritePlotFile draws results into path, as SVG or PNG by its extension:
// the rate of every scenario against concurrency, with the limit lines,
// and for -c auto runs the concurrency chosen over time. The file appears
// whole or not at all: it is written to a temporary file beside it and
// renamed, and the temporary file is removed on any failure.
func WritePlotFile(path string, results []Result, o PlotOptions) (err error) {
	format, err := PlotFormat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = WritePlot(tmp, format, results, o); err != nil {
		return err
	}
	// The chart is for people and holds nothing secret: readable like a
	// file a user makes, not CreateTemp's 0600.
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WritePlot draws results to w in format "svg" or "png" (see
// WritePlotFile).
func WritePlot(w io.Writer, format string, results []Result, o PlotOptions) error {
	styles := map[string]int{} // a scenario's colour and shape in both panels
	for _, s := range scenarioOrder(results) {
		styles[s.Name] = len(styles)
	}
	rate, rateLegend := ratePlot(results, styles, o)
	panels := [][]*plot.Plot{{rate}}
	legends := []plot.Legend{rateLegend}
	if auto, autoLegend := autoPlot(results, styles); auto != nil {
		panels = append(panels, []*plot.Plot{auto})
		legends = append(legends, autoLegend)
	}
	width, height := plotWidth, plotPanelHeight*vg.Length(len(panels))
	var c vg.CanvasWriterTo
	switch format {
	case "svg":
		c = vgsvg.New(width, height)
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	default:
		return ErrPlotFormat
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(6), PadY: vg.Points(18)}
	for i := range panels {
		// The panels have different x axes, so they are not aligned:
		// each tile is the panel, with its legend in a column at the right.
		tile := tiles.At(dc, 0, i)
		panels[i][0].Draw(draw.Crop(tile, 0, -plotLegendWidth, 0, 0))
		legends[i].Draw(draw.Crop(tile, tile.Max.X-tile.Min.X-plotLegendWidth+vg.Points(12), 0, 0, 0))
	}
	_, err := c.WriteTo(w)
	return err
}

// ratePlot is the main panel: logical MB/s against -c, one line per
// scenario (a point for single-stream ones), -c auto as a point at the
// concurrency it ended at, and the limits as dashed lines.
func ratePlot(results []Result, styles map[string]int, o PlotOptions) (*plot.Plot, plot.Legend) {
	p := plot.New()
	p.Title.Text = "drivecp bench: rate against concurrency\n(single streams at 1, -c auto where it ended; the limits bound the wire rate)"
	if o.Title != "" {
		// The table's heading is long: a line per clause.
		p.Title.Text += "\n" + strings.ReplaceAll(o.Title, "; ", "\n")
	}
	legend := newPlotLegend()
	p.X.Label.Text = "concurrency (-c)"
	p.Y.Label.Text = "logical MB/s (image bytes, 10^6/s, median of the runs)"
	p.X.Scale = plot.LogScale{}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())

	var concs []float64
	addConc := func(c float64) {
		if !slices.Contains(concs, c) {
			concs = append(concs, c)
		}
	}
	gzip := false
	chunker := 0.0
	for _, s := range scenarioOrder(results) {
		var line plotter.XYs
		var auto plotter.XYs
		for _, r := range results {
			if r.Name != s.Name || r.LogicalMBps.N == 0 {
				continue
			}
			x := float64(max(r.Concurrency, 1))
			addConc(x)
			pt := plotter.XY{X: x, Y: r.LogicalMBps.Median}
			if r.Auto {
				auto = append(auto, pt)
			} else {
				line = append(line, pt)
			}
			if r.Gzip && r.ChunkerMBps > 0 {
				gzip, chunker = true, r.ChunkerMBps
			}
		}
		if len(line) == 0 && len(auto) == 0 {
			continue
		}
		clr, shape := plotutil.Color(styles[s.Name]), plotutil.Shape(styles[s.Name])
		if len(line) > 0 {
			l, pts, err := plotter.NewLinePoints(line)
			if err == nil {
				l.Color, pts.Color, pts.Shape = clr, clr, shape
				l.Width = vg.Points(1.5)
				p.Add(l, pts)
				legend.Add(s.Title, l, pts)
			}
		}
		if len(auto) > 0 {
			pts, err := plotter.NewScatter(auto)
			if err == nil {
				pts.Color, pts.Shape, pts.Radius = clr, draw.CrossGlyph{}, vg.Points(6)
				p.Add(pts)
				legend.Add(s.Title+", -c auto", pts)
			}
		}
	}
	if len(concs) == 0 {
		concs = []float64{1}
	}
	slices.Sort(concs)
	lo, hi := concs[0], concs[len(concs)-1]
	if hi == lo {
		hi = lo * 2
	}
	p.X.Min, p.X.Max = lo/1.2, hi*1.2
	var ticks plot.ConstantTicks
	for _, c := range concs {
		ticks = append(ticks, plot.Tick{Value: c, Label: strconv.FormatFloat(c, 'f', -1, 64)})
	}
	p.X.Tick.Marker = ticks

	limit := func(name string, clr color.Color, xys plotter.XYs) {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return
		}
		l.Color = clr
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(l)
		legend.Add(name, l)
	}
	gray := color.Gray{Y: 0x60}
	// Shaping lines that run far above the measured rates would squash
	// them: keep the axis to 1.5 times the highest rate or the total.
	top := 0.0
	for _, r := range results {
		top = max(top, r.LogicalMBps.Median)
	}
	if o.TotalBandwidth > 0 {
		top = max(top, float64(o.TotalBandwidth)/1e6)
	}
	if o.ConnBandwidth > 0 {
		per := float64(o.ConnBandwidth) / 1e6
		// Many points, so the line n x bandwidth is drawn as the straight
		// line it is on the linear rate axis, curved by the log -c axis.
		var xys plotter.XYs
		for i := 0; i <= 64; i++ {
			x := p.X.Min * math.Pow(p.X.Max/p.X.Min, float64(i)/64)
			xys = append(xys, plotter.XY{X: x, Y: per * x})
		}
		limit(fmt.Sprintf("limit: %s MB/s x connections", formatNum(per)), gray, xys)
	}
	if o.TotalBandwidth > 0 {
		total := float64(o.TotalBandwidth) / 1e6
		limit(fmt.Sprintf("limit: %s MB/s in all", formatNum(total)), color.RGBA{R: 0xb0, A: 0xff},
			plotter.XYs{{X: p.X.Min, Y: total}, {X: p.X.Max, Y: total}})
	}
	if gzip {
		name := fmt.Sprintf("limit: chunker-only %s MB/s", formatNum(chunker))
		if top > 0 && chunker > top*1.5 {
			name += " (above)"
		}
		limit(name, color.RGBA{B: 0xb0, A: 0xff}, plotter.XYs{{X: p.X.Min, Y: chunker}, {X: p.X.Max, Y: chunker}})
	}
	// Set last: Add widens the axes to take in every line.
	if top > 0 {
		p.Y.Max = top * 1.5
	}
	return p, legend
}

// newPlotLegend is a legend for the column right of a panel.
func newPlotLegend() plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.Padding = vg.Points(3)
	return l
}

// autoPlot is the panel of the concurrency -c auto chose over time, one
// step line per scenario; nil when no row ran -c auto.
func autoPlot(results []Result, styles map[string]int) (*plot.Plot, plot.Legend) {
	p := plot.New()
	legend := newPlotLegend()
	p.Title.Text = "-c auto: the concurrency it chose over time (median run)"
	p.X.Label.Text = "seconds since the command started"
	p.Y.Label.Text = "concurrency"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	n, most := 0, 0
	for _, r := range results {
		if !r.Auto || len(r.ConcurrencyTrace) == 0 {
			continue
		}
		var xys plotter.XYs
		for j, st := range r.ConcurrencyTrace {
			if j > 0 {
				// A step: the value holds until the next change.
				xys = append(xys, plotter.XY{X: st.Seconds, Y: xys[len(xys)-1].Y})
			}
			xys = append(xys, plotter.XY{X: st.Seconds, Y: float64(st.Concurrency)})
			most = max(most, st.Concurrency)
		}
		if end := r.Seconds.Median; end > xys[len(xys)-1].X {
			xys = append(xys, plotter.XY{X: end, Y: xys[len(xys)-1].Y})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		l.Color = plotutil.Color(styles[r.Name])
		l.Width = vg.Points(1.5)
		p.Add(l)
		legend.Add(r.Title, l)
		n++
	}
	if n == 0 {
		return nil, legend
	}
	p.Y.Max = float64(most)*1.15 + 1 // the highest step clear of the frame
	return p, legend
}

// scenarioOrder returns the scenarios of results that have figures, once
// each, in the order they first appear.
func scenarioOrder(results []Result) []Scenario {
	var out []Scenario
	for _, r := range results {
		if r.LogicalMBps.N > 0 && !slices.ContainsFunc(out, func(s Scenario) bool { return s.Name == r.Name }) {
			out = append(out, r.Scenario)
		}
	}
	return out
}
