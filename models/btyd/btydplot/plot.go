package btydplot

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/churnpipe/churnpipe/models/btyd"
)

// Tracking is the purchase history of a cohort for the tracking plot.
type Tracking struct {
	// Birth is the first purchase time of each customer, in time units
	// since the data start.
	Birth []float64
	// RepeatTimes is the time of each repeat purchase since data start.
	RepeatTimes []float64
	// CalibrationEnd and HoldoutEnd are the ends of the calibration and
	// holdout periods since data start.
	CalibrationEnd, HoldoutEnd float64
}

// Holdout is the calibration summary of each customer with the number of
// purchases each made in the holdout period that follows.
type Holdout struct {
	X, Tx, T     []float64
	HoldoutCount []float64
	// HoldoutLength is the length of the holdout period.
	HoldoutLength float64
}

// Options labels the plots.
type Options struct {
	// Unit is the model's time unit, used in axis labels; zero means the
	// labels say "time units".
	Unit btyd.TimeUnit
	// Title prefixes every plot title (for example the data set name).
	Title string
	// HeatMapT is the length of observation T of the P(alive) heat map;
	// zero means the largest T in the Holdout data.
	HeatMapT float64
	// MaxFrequency is the largest x of the heat map; zero means the 99th
	// percentile of x in the Holdout data, at least 10.
	MaxFrequency int
	// Attach adds top-level sections to report.json (for example the
	// holdout evaluation and the model comparison of `clv report`); a key
	// that the Report itself uses is an error.
	Attach map[string]any
}

// Report holds the numbers drawn in each plot.
type Report struct {
	Model       string            `json:"model"`
	Tracking    TrackingReport    `json:"tracking"`
	Conditional ConditionalReport `json:"conditional_expectations"`
	PAlive      PAliveReport      `json:"p_alive_heat_map"`
	Files       []string          `json:"files"`
}

// TrackingReport is the cumulative repeat purchases at each Time.
type TrackingReport struct {
	Time           []float64 `json:"time"`
	Actual         []float64 `json:"actual"`
	Expected       []float64 `json:"expected"`
	CalibrationEnd float64   `json:"calibration_end"`
}

// ConditionalReport is the mean holdout purchases per calibration-frequency
// bin.
type ConditionalReport struct {
	Bins          []string  `json:"bins"`
	Customers     []int     `json:"customers"`
	Actual        []float64 `json:"actual"`
	Expected      []float64 `json:"expected"`
	HoldoutLength float64   `json:"holdout_length"`
}

// PAliveReport is the heat map grid: P[i][j] = P(alive | x = Frequency[j],
// t_x = Recency[i], T). For x = 0 recency is meaningless and t_x = 0 is used.
type PAliveReport struct {
	T         float64     `json:"T"`
	Frequency []float64   `json:"frequency"`
	Recency   []float64   `json:"recency"`
	P         [][]float64 `json:"p"`
}

// File names written by Write.
const (
	TrackingFile    = "tracking.png"
	ConditionalFile = "conditional_expectations.png"
	HeatMapFile     = "p_alive_heatmap.png"
	ReportFile      = "report.json"
)

// Write renders the three plots of m on tr and h into dir (which must
// exist) with default Options, and writes report.json. See WriteOptions.
func Write(dir string, m btyd.CountModel, tr Tracking, h Holdout) (Report, error) {
	return WriteOptions(dir, m, tr, h, Options{})
}

// WriteOptions is Write with labels and heat-map settings. Errors wrap
// btyd.ErrInvalidInput for inconsistent inputs.
func WriteOptions(dir string, m btyd.CountModel, tr Tracking, h Holdout, o Options) (Report, error) {
	if err := validate(tr, h); err != nil {
		return Report{}, err
	}
	unit := "time units"
	if o.Unit != 0 {
		unit = o.Unit.String() + "s"
	}
	prefix := o.Title
	if prefix != "" {
		prefix += ": "
	}
	rep := Report{Model: m.Name()}
	rep.Tracking = tracking(m, tr)
	rep.Conditional = conditional(m, h)
	rep.PAlive = pAliveGrid(m, h, o)

	type job struct {
		file string
		draw func(path string) error
	}
	jobs := []job{
		{TrackingFile, func(p string) error { return drawTracking(p, rep.Tracking, prefix, unit, m.Name()) }},
		{ConditionalFile, func(p string) error { return drawConditional(p, rep.Conditional, prefix, unit, m.Name()) }},
		{HeatMapFile, func(p string) error { return drawHeatMap(p, rep.PAlive, prefix, unit, m.Name()) }},
	}
	for _, j := range jobs {
		if err := j.draw(filepath.Join(dir, j.file)); err != nil {
			return rep, fmt.Errorf("btydplot: %s: %w", j.file, err)
		}
		rep.Files = append(rep.Files, j.file)
	}
	b, err := reportJSON(rep, o.Attach)
	if err != nil {
		return rep, fmt.Errorf("btydplot: report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportFile), b, 0o644); err != nil {
		return rep, fmt.Errorf("btydplot: %w", err)
	}
	rep.Files = append(rep.Files, ReportFile)
	return rep, nil
}

func validate(tr Tracking, h Holdout) error {
	n := len(h.X)
	if len(h.Tx) != n || len(h.T) != n || len(h.HoldoutCount) != n {
		return fmt.Errorf("%w: holdout column lengths differ: x %d, t_x %d, T %d, count %d",
			btyd.ErrInvalidInput, n, len(h.Tx), len(h.T), len(h.HoldoutCount))
	}
	if n == 0 || len(tr.Birth) == 0 {
		return fmt.Errorf("%w: no customers", btyd.ErrInvalidInput)
	}
	if err := (btyd.Data{X: h.X, Tx: h.Tx, T: h.T}).Validate(); err != nil {
		return err
	}
	if !(h.HoldoutLength > 0) || math.IsInf(h.HoldoutLength, 0) {
		return fmt.Errorf("%w: holdout length %v", btyd.ErrInvalidInput, h.HoldoutLength)
	}
	if !(tr.CalibrationEnd > 0 && tr.HoldoutEnd >= tr.CalibrationEnd) || math.IsInf(tr.HoldoutEnd, 0) {
		return fmt.Errorf("%w: calibration end %v, holdout end %v", btyd.ErrInvalidInput, tr.CalibrationEnd, tr.HoldoutEnd)
	}
	for _, v := range append(append([]float64{}, tr.Birth...), tr.RepeatTimes...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: non-finite time %v", btyd.ErrInvalidInput, v)
		}
	}
	return nil
}

// tracking evaluates cumulative repeat purchases at τ = 1, 2, … ,
// ceil(HoldoutEnd): actual counts of RepeatTimes ≤ τ and the expectation
// Σ_i E[X(τ - birth_i)] over customers born before τ.
func tracking(m btyd.CountModel, tr Tracking) TrackingReport {
	births := map[float64]float64{}
	for _, b := range tr.Birth {
		births[b]++
	}
	keys := make([]float64, 0, len(births))
	for b := range births {
		keys = append(keys, b)
	}
	sort.Float64s(keys)
	rt := append([]float64(nil), tr.RepeatTimes...)
	sort.Float64s(rt)
	rep := TrackingReport{CalibrationEnd: tr.CalibrationEnd}
	end := math.Ceil(tr.HoldoutEnd)
	for tau := 1.0; tau <= end; tau++ {
		if tau > tr.HoldoutEnd {
			tau = tr.HoldoutEnd
		}
		var e float64
		for _, b := range keys {
			if b < tau {
				e += births[b] * m.ExpectedNew(tau-b)
			}
		}
		rep.Time = append(rep.Time, tau)
		rep.Expected = append(rep.Expected, e)
		rep.Actual = append(rep.Actual, float64(sort.Search(len(rt), func(i int) bool { return rt[i] > tau })))
	}
	return rep
}

const topBin = 7

func conditional(m btyd.CountModel, h Holdout) ConditionalReport {
	rep := ConditionalReport{HoldoutLength: h.HoldoutLength,
		Customers: make([]int, topBin+1), Actual: make([]float64, topBin+1), Expected: make([]float64, topBin+1)}
	for b := 0; b <= topBin; b++ {
		label := fmt.Sprint(b)
		if b == topBin {
			label += "+"
		}
		rep.Bins = append(rep.Bins, label)
	}
	for i := range h.X {
		b := int(math.Min(h.X[i], topBin))
		rep.Customers[b]++
		rep.Actual[b] += h.HoldoutCount[i]
		rep.Expected[b] += m.ExpectedPurchases(h.HoldoutLength, h.X[i], h.Tx[i], h.T[i])
	}
	for b := range rep.Customers {
		if c := float64(rep.Customers[b]); c > 0 {
			rep.Actual[b] /= c
			rep.Expected[b] /= c
		}
	}
	return rep
}

func pAliveGrid(m btyd.CountModel, h Holdout, o Options) PAliveReport {
	T := o.HeatMapT
	if T <= 0 {
		for _, v := range h.T {
			T = math.Max(T, v)
		}
	}
	maxX := o.MaxFrequency
	if maxX <= 0 {
		xs := append([]float64(nil), h.X...)
		sort.Float64s(xs)
		maxX = int(math.Max(10, xs[int(0.99*float64(len(xs)-1))]))
	}
	rep := PAliveReport{T: T}
	for x := 0; x <= maxX; x++ {
		rep.Frequency = append(rep.Frequency, float64(x))
	}
	const rows = 40
	for i := 0; i <= rows; i++ {
		rep.Recency = append(rep.Recency, T*float64(i)/rows)
	}
	rep.P = make([][]float64, len(rep.Recency))
	for i, tx := range rep.Recency {
		rep.P[i] = make([]float64, len(rep.Frequency))
		for j, x := range rep.Frequency {
			if x == 0 {
				rep.P[i][j] = m.PAlive(0, 0, T)
				continue
			}
			rep.P[i][j] = m.PAlive(x, tx, T)
		}
	}
	return rep
}

// style sets readable font sizes on p.
func style(p *plot.Plot) {
	p.Title.TextStyle.Font.Size = vg.Points(15)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(13)
		a.Tick.Label.Font.Size = vg.Points(11)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(12)
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
}

var (
	colActual   = color.RGBA{R: 0x1f, G: 0x4e, B: 0x9a, A: 0xff}
	colExpected = color.RGBA{R: 0xd6, G: 0x60, B: 0x1c, A: 0xff}
	colMarker   = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
)

const (
	width  = 9 * vg.Inch
	height = 5.5 * vg.Inch
)

func drawTracking(path string, r TrackingReport, prefix, unit, model string) error {
	p := plot.New()
	style(p)
	p.Add(plotter.NewGrid())
	p.Title.Text = prefix + "cumulative repeat purchases, actual vs " + model
	p.X.Label.Text = "time since data start (" + unit + ")"
	p.Y.Label.Text = "cumulative repeat purchases (count)"
	act, exp := make(plotter.XYs, len(r.Time)), make(plotter.XYs, len(r.Time))
	ymax := 0.0
	for i, t := range r.Time {
		act[i] = plotter.XY{X: t, Y: r.Actual[i]}
		exp[i] = plotter.XY{X: t, Y: r.Expected[i]}
		ymax = math.Max(ymax, math.Max(r.Actual[i], r.Expected[i]))
	}
	la, err := plotter.NewLine(act)
	if err != nil {
		return err
	}
	la.Color, la.Width = colActual, vg.Points(2.5)
	le, err := plotter.NewLine(exp)
	if err != nil {
		return err
	}
	le.Color, le.Width, le.Dashes = colExpected, vg.Points(2.5), []vg.Length{vg.Points(7), vg.Points(4)}
	vl, err := plotter.NewLine(plotter.XYs{{X: r.CalibrationEnd, Y: 0}, {X: r.CalibrationEnd, Y: ymax * 1.05}})
	if err != nil {
		return err
	}
	vl.Color, vl.Width, vl.Dashes = colMarker, vg.Points(1.5), []vg.Length{vg.Points(2), vg.Points(3)}
	p.Add(la, le, vl)
	p.Legend.Add("actual", la)
	p.Legend.Add("expected ("+model+")", le)
	p.Legend.Add(fmt.Sprintf("end of calibration (%.4g %s)", r.CalibrationEnd, unit), vl)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(10), -vg.Points(10)
	p.Y.Min = 0
	return p.Save(width, height, path)
}

// niceTicks labels multiples of a 1-2-5 step chosen for about eight
// labels, with an unlabelled minor tick half-way.
type niceTicks struct{}

func (niceTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	if !(span > 0) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	raw := span / 8
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	var t []plot.Tick
	for v := math.Ceil(min/step*2) * step / 2; v <= max+1e-9*span; v += step / 2 {
		if k := math.Round(v / step); math.Abs(v-k*step) < 1e-9*step {
			val := k*step + 0 // +0 turns -0 into 0
			t = append(t, plot.Tick{Value: val, Label: fmt.Sprintf("%g", val)})
		} else {
			t = append(t, plot.Tick{Value: v})
		}
	}
	return t
}

type binTicks []string

func (b binTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for i, l := range b {
		t = append(t, plot.Tick{Value: float64(i), Label: l})
	}
	return t
}

func drawConditional(path string, r ConditionalReport, prefix, unit, model string) error {
	p := plot.New()
	style(p)
	p.Add(plotter.NewGrid())
	p.Title.Text = fmt.Sprintf("%sholdout purchases by calibration frequency, actual vs %s", prefix, model)
	p.X.Label.Text = "repeat purchases in calibration period, x (count)"
	p.Y.Label.Text = fmt.Sprintf("mean purchases in %.4g-%s holdout (per customer)", r.HoldoutLength, unit[:len(unit)-1])
	if unit == "time units" {
		p.Y.Label.Text = fmt.Sprintf("mean purchases in holdout of %.4g time units", r.HoldoutLength)
	}
	act, exp := make(plotter.XYs, len(r.Bins)), make(plotter.XYs, len(r.Bins))
	for i := range r.Bins {
		act[i] = plotter.XY{X: float64(i), Y: r.Actual[i]}
		exp[i] = plotter.XY{X: float64(i), Y: r.Expected[i]}
	}
	la, pa, err := plotter.NewLinePoints(act)
	if err != nil {
		return err
	}
	la.Color, la.Width = colActual, vg.Points(2.5)
	pa.Color, pa.Shape, pa.Radius = colActual, draw.CircleGlyph{}, vg.Points(4)
	le, pe, err := plotter.NewLinePoints(exp)
	if err != nil {
		return err
	}
	le.Color, le.Width, le.Dashes = colExpected, vg.Points(2.5), []vg.Length{vg.Points(7), vg.Points(4)}
	pe.Color, pe.Shape, pe.Radius = colExpected, draw.SquareGlyph{}, vg.Points(4)
	p.Add(la, pa, le, pe)
	p.Legend.Add("actual", la, pa)
	p.Legend.Add("expected ("+model+")", le, pe)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(10), -vg.Points(10)
	p.X.Tick.Marker = binTicks(r.Bins)
	p.X.Min, p.X.Max = -0.3, float64(len(r.Bins)-1)+0.3
	p.Y.Min = 0
	return p.Save(width, height, path)
}

// grid adapts PAliveReport to plotter.GridXYZ: columns are frequencies,
// rows recencies. Each cell is repeated k×k times so that the rasterised
// image, which is scaled with interpolation, keeps sharp cell edges.
type grid struct {
	r PAliveReport
	k int
}

func (g grid) Dims() (c, r int)   { return len(g.r.Frequency) * g.k, len(g.r.Recency) * g.k }
func (g grid) Z(c, r int) float64 { return g.r.P[r/g.k][c/g.k] }
func (g grid) X(c int) float64    { return sub(g.r.Frequency, c, g.k) }
func (g grid) Y(r int) float64    { return sub(g.r.Recency, r, g.k) }

// sub returns the position of sub-cell i of k per cell on the axis vs,
// whose cells are centred on vs with uniform spacing.
func sub(vs []float64, i, k int) float64 {
	step := 1.0
	if len(vs) > 1 {
		step = vs[1] - vs[0]
	}
	return vs[i/k] + step*((float64(i%k)+0.5)/float64(k)-0.5)
}

func drawHeatMap(path string, r PAliveReport, prefix, unit, model string) error {
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(1)
	pal := cm.Palette(100)
	hm := plotter.NewHeatMap(grid{r: r, k: 12}, pal)
	hm.Min, hm.Max = 0, 1
	hm.Rasterized = true // no seams between cells

	p := plot.New()
	style(p)
	p.Title.Text = fmt.Sprintf("%sP(alive) by frequency and recency, T = %.4g %s (%s)", prefix, r.T, unit, model)
	p.X.Label.Text = "repeat purchases, x (count)"
	p.Y.Label.Text = "recency: time of last purchase, t_x (" + unit + " since first)"
	p.Add(hm)

	bar := plot.New()
	cb := &plotter.ColorBar{ColorMap: cm}
	bar.Add(cb)
	bar.HideY()
	bar.X.Padding = 0
	bar.X.Label.Text = "P(alive)"
	bar.X.Label.TextStyle.Font.Size = vg.Points(13)
	bar.X.Tick.Label.Font.Size = vg.Points(11)

	img := vgimg.New(width, height+0.9*vg.Inch)
	dc := draw.New(img)
	barH := 0.9 * vg.Inch
	top := draw.Crop(dc, 0, 0, barH, 0)
	bottom := draw.Crop(dc, 0.9*vg.Inch, -0.4*vg.Inch, 0, -(height))
	p.Draw(top)
	bar.Draw(bottom)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reportJSON is rep as indented JSON with the attached sections added at the
// top level (their keys must not be the report's own).
func reportJSON(rep Report, attach map[string]any) ([]byte, error) {
	if len(attach) == 0 {
		return json.MarshalIndent(rep, "", " ")
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	top := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	for k, v := range attach {
		if _, dup := top[k]; dup {
			return nil, fmt.Errorf("attached section %q is a key of the report itself", k)
		}
		if top[k], err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("attached section %q: %w", k, err)
		}
	}
	return json.MarshalIndent(top, "", " ")
}
