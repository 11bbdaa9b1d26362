package churnreport

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/churnpipe/churnpipe/models/metrics"
)

// curveEps is the thinning distance of ROC and PR curves in axis units:
// 0.001 of the axis is below one pixel of a 1000-pixel-wide figure.
const curveEps = 1e-3

// histBins is the number of bins of score_histogram.png (width 0.025).
const histBins = 40

// where returns the snapshot and size suffix of the figure titles.
func (d *data) where() string {
	if d.in.TestSnapshot == "" {
		return fmt.Sprintf("(n = %s)", commas(d.n))
	}
	return fmt.Sprintf("(test snapshot %s, n = %s)", d.in.TestSnapshot, commas(d.n))
}

// style returns the colour, width in points and dashes of score i: the
// model solid and thick, baselines thinner with their own colour and dash.
func (d *data) style(i int) (color.Color, float64, []vg.Length) {
	if i == 0 {
		return colModel, 3.5, nil
	}
	return colBaseline[(i-1)%len(colBaseline)], 2.25, baselineDashes[(i-1)%len(baselineDashes)]
}

// drawOrder is baselines first so that the model is drawn on top.
func (d *data) drawOrder() []int {
	order := make([]int, 0, len(d.scores))
	for i := 1; i < len(d.scores); i++ {
		order = append(order, i)
	}
	return append(order, 0)
}

func curveXYs(pts []metrics.CurvePoint) plotter.XYs {
	pts = thin(pts, curveEps)
	xys := make(plotter.XYs, len(pts))
	for i, q := range pts {
		xys[i].X, xys[i].Y = q.X, q.Y
	}
	return xys
}

func unitAxes(p *plot.Plot) {
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	ticks := plot.ConstantTicks(unitTicks())
	p.X.Tick.Marker, p.Y.Tick.Marker = ticks, ticks
}

func unitTicks() []plot.Tick {
	var t []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		lbl := ""
		if i%2 == 0 {
			lbl = strconv.FormatFloat(v, 'f', 1, 64)
		}
		t = append(t, plot.Tick{Value: v, Label: lbl})
	}
	return t
}

func percentTicks(step, minor float64) plot.Ticker {
	var t []plot.Tick
	for v := 0.0; v <= 100+1e-9; v += minor {
		lbl := ""
		if math.Mod(v+1e-9, step) < 1e-6 {
			lbl = strconv.FormatFloat(v, 'f', 0, 64)
		}
		t = append(t, plot.Tick{Value: v, Label: lbl})
	}
	return plot.ConstantTicks(t)
}

func (d *data) renderROC(f *os.File) error {
	p := newPlot("ROC curve "+d.where(),
		"false-positive rate: share of retained customers flagged (0–1)",
		"true-positive rate: share of churners flagged (0–1)")
	unitAxes(p)
	var lg legend
	chance := line(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}, colChance, 1.5, []vg.Length{vg.Points(2), vg.Points(4)})
	p.Add(chance)
	lines := make([]*plotter.Line, len(d.scores))
	for _, i := range d.drawOrder() {
		c, w, dash := d.style(i)
		lines[i] = line(curveXYs(metrics.ROC(d.in.Y, d.scores[i].s)), c, w, dash)
		p.Add(lines[i])
	}
	for i, sc := range d.scores {
		lg.add(fmt.Sprintf("%s, AUC %.3f", sc.name, sc.auc), lines[i])
	}
	lg.add("random ranking, AUC 0.500", chance)
	c := canvas(1000, 700)
	drawPlot(p, margin(c), lg)
	return writePNG(f, c)
}

func (d *data) renderPR(f *os.File) error {
	p := newPlot("Precision–recall curve "+d.where(),
		"recall: share of churners flagged (0–1)",
		"precision: share of flagged customers who churn (0–1)")
	unitAxes(p)
	var lg legend
	chance := line(plotter.XYs{{X: 0, Y: d.rate}, {X: 1, Y: d.rate}}, colChance, 1.5, []vg.Length{vg.Points(2), vg.Points(4)})
	p.Add(chance)
	lines := make([]*plotter.Line, len(d.scores))
	for _, i := range d.drawOrder() {
		c, w, dash := d.style(i)
		lines[i] = line(curveXYs(metrics.PR(d.in.Y, d.scores[i].s)), c, w, dash)
		p.Add(lines[i])
	}
	for i, sc := range d.scores {
		lg.add(fmt.Sprintf("%s, AP %.3f", sc.name, sc.ap), lines[i])
	}
	lg.add(fmt.Sprintf("random targeting = churn rate %.1f %%", 100*d.rate), chance)
	// PR curves run from the top left to (1, churn rate): with a common
	// churn rate the bottom left is empty, with a rare one the top right.
	lg.top = d.rate < 0.25
	c := canvas(1000, 700)
	drawPlot(p, margin(c), lg)
	return writePNG(f, c)
}

func (d *data) renderGains(f *os.File) error {
	gp := newPlot("Cumulative gains "+d.where(),
		"customers targeted: top % by score (%)",
		"churners captured (% of all churners)")
	gp.X.Min, gp.X.Max, gp.Y.Min, gp.Y.Max = 0, 100, 0, 100
	gp.X.Tick.Marker, gp.Y.Tick.Marker = percentTicks(20, 10), percentTicks(20, 10)
	var glg legend
	random := line(plotter.XYs{{X: 0, Y: 0}, {X: 100, Y: 100}}, colChance, 1.5, []vg.Length{vg.Points(2), vg.Points(4)})
	perfect := line(plotter.XYs{{X: 0, Y: 0}, {X: 100 * d.rate, Y: 100}, {X: 100, Y: 100}}, rgb(0xAA, 0xAA, 0xAA), 1.5, []vg.Length{vg.Points(8), vg.Points(4)})
	gp.Add(random, perfect)

	lp := newPlot("Cumulative lift by decile",
		"customers targeted: top % by score (%)",
		"lift: churn rate in target ÷ overall churn rate (×)")
	lp.X.Min, lp.X.Max, lp.Y.Min = 0, 100, 0
	lp.X.Tick.Marker = percentTicks(10, 10)
	lp.Y.Tick.Marker = niceTicks{n: 6}
	var llg legend
	one := line(plotter.XYs{{X: 0, Y: 1}, {X: 100, Y: 1}}, colChance, 1.5, []vg.Length{vg.Points(2), vg.Points(4)})
	lp.Add(one)

	gLines := make([]*plotter.Line, len(d.scores))
	lLines := make([]*plotter.Line, len(d.scores))
	lDots := make([]*plotter.Scatter, len(d.scores))
	var maxLift float64
	for _, i := range d.drawOrder() {
		c, w, dash := d.style(i)
		g := metrics.Gains(d.in.Y, d.scores[i].s, 100)
		xys := plotter.XYs{{}}
		for _, q := range g {
			xys = append(xys, plotter.XY{X: 100 * q.Fraction, Y: 100 * q.Gain})
		}
		gLines[i] = line(xys, c, w, dash)
		gp.Add(gLines[i])

		dec := metrics.Gains(d.in.Y, d.scores[i].s, 10)
		lxys := make(plotter.XYs, len(dec))
		for k, q := range dec {
			lxys[k] = plotter.XY{X: 100 * q.Fraction, Y: q.Lift}
			maxLift = max(maxLift, q.Lift)
		}
		lLines[i] = line(lxys, c, w, dash)
		lDots[i] = &plotter.Scatter{XYs: lxys, GlyphStyle: draw.GlyphStyle{Color: c, Radius: vg.Points(w + 1.5), Shape: draw.CircleGlyph{}}}
		lp.Add(lLines[i], lDots[i])
	}
	for i, sc := range d.scores {
		glg.add(sc.name, gLines[i])
		llg.add(fmt.Sprintf("%s, top-10 %% lift %.2f×", sc.name, sc.lift10), lLines[i], lDots[i])
	}
	glg.add("perfect ranking", perfect)
	glg.add("random targeting", random)
	llg.add("random targeting (lift 1)", one)
	llg.top = true
	lp.Y.Max = math.Ceil(maxLift*1.35*2) / 2 // room for the legend above the curves

	c := canvas(1400, 700)
	dc := margin(c)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	cs := plot.Align([][]*plot.Plot{{gp, lp}}, tiles, dc)
	drawPlot(gp, cs[0][0], glg)
	drawPlot(lp, cs[0][1], llg)
	return writePNG(f, c)
}

func (d *data) renderCalibration(f *os.File) error {
	bins := metrics.Reliability(d.in.Y, d.in.P, CalibrationBins)
	top := newPlot("Calibration "+d.where(),
		"mean predicted churn probability in bin (0–1)",
		"observed churn rate in bin (0–1)")
	unitAxes(top)
	diag := line(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}, colChance, 1.5, []vg.Length{vg.Points(2), vg.Points(4)})
	top.Add(diag)
	var xys plotter.XYs
	var errs plotter.YErrors
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		pos := int(math.Round(b.FracPos * float64(b.Count)))
		lo, hi := wilson(pos, b.Count, 1.959963984540054)
		xys = append(xys, plotter.XY{X: b.MeanPred, Y: b.FracPos})
		errs = append(errs, struct{ Low, High float64 }{b.FracPos - lo, hi - b.FracPos})
	}
	eb := &plotter.YErrorBars{XYs: xys, YErrors: errs, CapWidth: vg.Points(10),
		LineStyle: draw.LineStyle{Color: colModel, Width: vg.Points(1.75)}}
	ln := line(xys, colModel, 3, nil)
	dots := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{Color: colModel, Radius: vg.Points(5), Shape: draw.CircleGlyph{}}}
	top.Add(eb, ln, dots)
	var lg legend
	lg.add(fmt.Sprintf("model, ECE %.3f (bars: 95 %% Wilson interval)", d.ece), ln, dots)
	lg.add("perfect calibration", diag)
	lg.top, lg.left = true, true

	bottom := newPlot("", "predicted churn probability, 10 equal-width bins (0–1)", "customers in bin (count)")
	bottom.X.Min, bottom.X.Max = 0, 1
	bottom.X.Tick.Marker = plot.ConstantTicks(unitTicks())
	bottom.Y.Tick.Marker = countTicks
	hist := &plotter.Histogram{Width: 1 / float64(CalibrationBins), FillColor: withAlpha(colModel, 90),
		LineStyle: draw.LineStyle{Color: colModel, Width: vg.Points(1)}}
	var lxys plotter.XYs
	var lbls []string
	var maxCount int
	for _, b := range bins {
		hist.Bins = append(hist.Bins, plotter.HistogramBin{Min: b.Lo, Max: b.Hi, Weight: float64(b.Count)})
		lxys = append(lxys, plotter.XY{X: (b.Lo + b.Hi) / 2, Y: float64(b.Count)})
		lbls = append(lbls, commas(b.Count))
		maxCount = max(maxCount, b.Count)
	}
	labels := newLabels(lxys, lbls, noteSize, draw.XCenter, draw.YBottom)
	labels.Offset = vg.Point{Y: vg.Points(3)}
	bottom.Add(hist, labels)
	bottom.Y.Min, bottom.Y.Max = 0, float64(maxCount)*1.3

	c := canvas(1000, 900)
	dc := margin(c)
	split := dc.Min.Y + (dc.Max.Y-dc.Min.Y)*0.33
	ct := dc
	ct.Min.Y = split + vg.Points(4)
	cb := dc
	cb.Max.Y = split - vg.Points(4)
	alignLeft(top, &ct, bottom, &cb)
	drawPlot(top, ct, lg)
	drawPlot(bottom, cb, legend{})
	return writePNG(f, c)
}

// alignLeft narrows the canvas of whichever plot has the wider y axis so
// that both data areas start at the same x.
func alignLeft(a *plot.Plot, ca *draw.Canvas, b *plot.Plot, cb *draw.Canvas) {
	da, db := a.DataCanvas(*ca), b.DataCanvas(*cb)
	if diff := da.Min.X - db.Min.X; diff > 0 {
		cb.Min.X += diff
	} else {
		ca.Min.X -= diff
	}
}

func newLabels(xys plotter.XYs, lbls []string, size float64, xa draw.XAlignment, ya draw.YAlignment) *plotter.Labels {
	l := &plotter.Labels{XYs: xys, Labels: lbls, TextStyle: make([]text.Style, len(lbls))}
	for i := range l.TextStyle {
		l.TextStyle[i] = textStyle(size)
		l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = xa, ya
	}
	return l
}

// importance returns the top features by |importance|, largest first, and
// whether the values are shares of the total in percent.
func (d *data) importance() (names []string, vals []float64, pct bool) {
	imp := d.in.Importance
	idx := make([]int, len(imp))
	pct = true
	var sum float64
	for j := range idx {
		idx[j] = j
		if imp[j] < 0 {
			pct = false
		}
		sum += imp[j]
	}
	if sum <= 0 {
		pct = false
	}
	sort.SliceStable(idx, func(a, b int) bool { return math.Abs(imp[idx[a]]) > math.Abs(imp[idx[b]]) })
	for _, j := range idx[:min(TopFeatures, len(idx))] {
		v := imp[j]
		if pct {
			v *= 100 / sum
		}
		names = append(names, d.in.Features[j])
		vals = append(vals, v)
	}
	return names, vals, pct
}

func (d *data) importanceHeight() int {
	return max(420, 190+34*min(TopFeatures, len(d.in.Importance)))
}

func (d *data) importanceCaption() string {
	_, _, pct := d.importance()
	n := len(d.in.Importance)
	shown := fmt.Sprintf("the top %d of %d features", min(TopFeatures, n), n)
	if min(TopFeatures, n) == n {
		shown = fmt.Sprintf("all %d features", n)
	}
	if pct {
		return "Feature importance as reported by the model (for gradient-boosted trees the total split gain), " +
			"as a share of the sum over all features; " + shown + ", largest at the top."
	}
	return "Feature importance as reported by the model, in the model's units, ranked by absolute value; " +
		shown + ", largest at the top."
}

func (d *data) renderImportance(f *os.File) error {
	names, vals, pct := d.importance()
	m := len(vals)
	xl := "importance (model units)"
	if pct {
		xl = "share of total importance (%)"
	}
	title := fmt.Sprintf("Feature importance, top %d of %d", m, len(d.in.Importance))
	if m == len(d.in.Importance) {
		title = fmt.Sprintf("Feature importance, all %d features", m)
	}
	p := newPlot(title, xl, "feature")
	p.X.Tick.Marker = niceTicks{n: 6}
	// Bottom-up order: the largest bar at the top.
	rv := make(plotter.Values, m)
	rn := make([]string, m)
	var lxys plotter.XYs
	var lbls []string
	lo, hi := 0.0, 0.0
	for i := range m {
		v := vals[m-1-i]
		rv[i], rn[i] = v, names[m-1-i]
		lo, hi = min(lo, v), max(hi, v)
		lxys = append(lxys, plotter.XY{X: v, Y: float64(i)})
		if pct {
			lbls = append(lbls, fmt.Sprintf(" %.1f %% ", v))
		} else {
			lbls = append(lbls, " "+strconv.FormatFloat(v, 'g', 3, 64)+" ")
		}
	}
	hPx := d.importanceHeight()
	barW := vg.Length(float64(hPx-190)/float64(max(m, 1))*0.62) * vg.Inch / dpi
	bars, err := plotter.NewBarChart(rv, barW)
	if err != nil {
		return err
	}
	bars.Horizontal = true
	bars.Color = colModel
	bars.LineStyle.Width = 0
	labels := newLabels(lxys, lbls, noteSize, draw.XLeft, draw.YCenter)
	for i, v := range rv {
		if v < 0 {
			labels.TextStyle[i].XAlign = draw.XRight
		}
	}
	p.Add(bars, labels)
	p.NominalY(rn...)
	p.X.Min = lo * 1.2
	p.X.Max = hi * 1.15
	if hi == 0 && lo == 0 {
		p.X.Max = 1
	}
	c := canvas(1000, hPx)
	drawPlot(p, margin(c), legend{})
	return writePNG(f, c)
}

// confGrid is the row-normalised confusion matrix as a heat-map grid with
// the first true class at the top.
type confGrid struct{ z [][]float64 }

func (g confGrid) Dims() (c, r int)   { return len(g.z), len(g.z) }
func (g confGrid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g confGrid) X(c int) float64    { return float64(c) }
func (g confGrid) Y(r int) float64    { return float64(r) }

// blues is a white-to-navy colour map with monotone luminance.
func blues() (palette.ColorMap, error) {
	// NewLuminance wants increasing luminance: navy to white, reversed.
	cm, err := moreland.NewLuminance([]color.Color{
		rgb(0x08, 0x30, 0x6B), rgb(0x21, 0x71, 0xB5), rgb(0x6B, 0xAE, 0xD6), rgb(0xC6, 0xDB, 0xEF), rgb(0xF7, 0xFB, 0xFF),
	})
	if err != nil {
		return nil, err
	}
	cm.SetMin(0)
	cm.SetMax(1)
	return palette.Reverse(cm), nil
}

func (d *data) renderConfusion(f *os.File) error {
	codes := d.in.StageCodes
	k := len(codes)
	share := rowShares(d.conf)
	cm, err := blues()
	if err != nil {
		return err
	}
	p := newPlot(fmt.Sprintf("Lifecycle stage at horizon end (n = %s)", commas(d.n)),
		"predicted stage at horizon end", "true stage at horizon end")
	hm := plotter.NewHeatMap(confGrid{share}, cm.Palette(256))
	hm.Min, hm.Max = 0, 1
	p.Add(hm)
	size := float64(noteSize)
	if k > 9 {
		size = 10
	}
	var xys plotter.XYs
	var lbls []string
	var dark []bool
	for i, row := range d.conf {
		for j, v := range row {
			xys = append(xys, plotter.XY{X: float64(j), Y: float64(k - 1 - i)})
			lbls = append(lbls, commas(v)+"\n"+percentLabel(share[i][j]))
			dark = append(dark, share[i][j] > 0.5)
		}
	}
	labels := newLabels(xys, lbls, size, draw.XCenter, draw.YCenter)
	for i := range labels.TextStyle {
		if dark[i] {
			labels.TextStyle[i].Color = color.White
		}
	}
	p.Add(labels)
	p.NominalX(codes...)
	rev := make([]string, k)
	for i, c := range codes {
		rev[k-1-i] = c
	}
	p.NominalY(rev...)
	p.X.Min, p.X.Max = -0.5, float64(k)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5
	if k > 5 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}

	cbar := plot.New()
	cbar.BackgroundColor = color.White
	cbar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	cbar.HideX()
	cbar.Y.Label.Text = "row share (%)"
	cbar.Y.Label.TextStyle.Font.Typeface, cbar.Y.Label.TextStyle.Font.Variant = sans.Typeface, sans.Variant
	cbar.Y.Label.TextStyle.Font.Size = labelSize
	cbar.Y.Tick.Label.Font.Typeface, cbar.Y.Tick.Label.Font.Variant = sans.Typeface, sans.Variant
	cbar.Y.Tick.Label.Font.Size = tickSize
	var ct []plot.Tick
	for v := 0; v <= 100; v += 20 {
		ct = append(ct, plot.Tick{Value: float64(v) / 100, Label: strconv.Itoa(v)})
	}
	cbar.Y.Tick.Marker = plot.ConstantTicks(ct)

	hPx := 520 + 45*min(k, 12)
	c := canvas(1000, hPx)
	dc := margin(c)
	main := dc
	main.Max.X -= vg.Points(110)
	drawPlot(p, main, legend{})
	data := p.DataCanvas(main)
	side := dc
	side.Min.X = main.Max.X + vg.Points(20)
	side.Max.X -= vg.Points(40)
	side.Min.Y, side.Max.Y = data.Min.Y, data.Max.Y
	cbar.Draw(side)
	return writePNG(f, c)
}

func (d *data) renderHistogram(f *os.File) error {
	p := newPlot("Predicted churn probability by outcome "+d.where(),
		"predicted churn probability (0–1)",
		"customers in bin (% of their class)")
	p.X.Min, p.X.Max = 0, 1
	p.X.Tick.Marker = plot.ConstantTicks(unitTicks())
	w := 1 / float64(histBins)
	mk := func(label float64, c color.RGBA) *plotter.Histogram {
		h := &plotter.Histogram{Width: w, FillColor: withAlpha(c, 100),
			LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1.5)}}
		for b, v := range classShares(d.in.Y, d.in.P, label, histBins) {
			h.Bins = append(h.Bins, plotter.HistogramBin{Min: float64(b) * w, Max: float64(b+1) * w, Weight: v})
		}
		return h
	}
	ret, ch := mk(0, colRetained), mk(1, colChurn)
	// Fills first, then both outlines, so that neither class hides the
	// other's shape.
	retLine, chLine := *ret, *ch
	retLine.FillColor, chLine.FillColor = nil, nil
	ret.LineStyle.Width, ch.LineStyle.Width = 0, 0
	p.Add(ret, ch, &retLine, &chLine)
	var top float64
	for i := range ret.Bins {
		top = max(top, ret.Bins[i].Weight, ch.Bins[i].Weight)
	}
	p.Y.Min, p.Y.Max = 0, top*1.25 // room for the legend above the bars
	p.Y.Tick.Marker = niceTicks{n: 6}
	var lg legend
	lg.add(fmt.Sprintf("churned (n = %s)", commas(d.pos)), ch, &chLine)
	lg.add(fmt.Sprintf("retained (n = %s)", commas(d.n-d.pos)), ret, &retLine)
	lg.top = true
	c := canvas(1000, 700)
	drawPlot(p, margin(c), lg)
	return writePNG(f, c)
}

// commas formats n with thousands separators.
func commas(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// percentLabel prints a share as a whole percentage, "<1 %" for a small
// non-zero share.
func percentLabel(s float64) string {
	if s > 0 && s < 0.005 {
		return "<1 %"
	}
	return fmt.Sprintf("%.0f %%", 100*s)
}
