package churnreport

import (
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is the resolution of the PNGs: a 10×7 inch canvas is 1000×700 px.
const dpi = 100

// Font sizes in points (1 pt = 1/72 inch = 1.39 px at 100 dpi).
const (
	titleSize  = 18
	labelSize  = 15
	tickSize   = 13
	legendSize = 13
	noteSize   = 12
)

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Okabe–Ito colours, distinguishable with the common colour-vision
// deficiencies. The model is always blue; baselines take the others.
var (
	colModel    = rgb(0x00, 0x72, 0xB2)
	colChurn    = rgb(0xD5, 0x5E, 0x00)
	colRetained = rgb(0x00, 0x72, 0xB2)
	colChance   = rgb(0x77, 0x77, 0x77)
	colGrid     = rgb(0xE3, 0xE3, 0xE3)
	colBaseline = []color.RGBA{
		rgb(0xE6, 0x9F, 0x00), rgb(0x00, 0x9E, 0x73), rgb(0xCC, 0x79, 0xA7),
		rgb(0xD5, 0x5E, 0x00), rgb(0x56, 0xB4, 0xE9), rgb(0x33, 0x33, 0x33),
	}
	// baselineDashes tell baselines apart without colour.
	baselineDashes = [][]vg.Length{
		{vg.Points(8), vg.Points(4)},
		{vg.Points(2), vg.Points(3)},
		{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
		{vg.Points(12), vg.Points(4)},
	}
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 255} }

func withAlpha(c color.RGBA, a uint8) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: a}
}

func textStyle(size float64) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(sans, vg.Points(size)),
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a plot with the report's fonts, a title, axis labels and
// a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, titleSize)
	p.Title.Padding = vg.Points(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, labelSize)
		a.Label.Padding = vg.Points(6)
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Padding = vg.Points(4)
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = colGrid, colGrid
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.75), vg.Points(0.75)
	p.Add(g)
	return p
}

// line returns a plotter.Line of the points with the given colour, width in
// points and dash pattern (nil for solid).
func line(xys plotter.XYs, c color.Color, width float64, dashes []vg.Length) *plotter.Line {
	l := &plotter.Line{XYs: xys}
	l.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: dashes}
	return l
}

// entry is one line of a legend.
type entry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// legend is drawn by drawPlot in a corner of the data area over a white
// box, so that it stays readable over grid lines and curves.
type legend struct {
	entries   []entry
	top, left bool
}

func (l *legend) add(name string, thumbs ...plot.Thumbnailer) {
	l.entries = append(l.entries, entry{name: name, thumbs: thumbs})
}

// drawPlot draws p into c and then its legend lg.
func drawPlot(p *plot.Plot, c draw.Canvas, lg legend) {
	p.Draw(c)
	if len(lg.entries) == 0 {
		return
	}
	dc := p.DataCanvas(c)
	l := plot.NewLegend()
	l.TextStyle = textStyle(legendSize)
	l.Top, l.Left = lg.top, lg.left
	l.ThumbnailWidth = vg.Points(30)
	l.Padding = vg.Points(4)
	inset := vg.Points(12)
	l.XOffs, l.YOffs = -inset, inset
	if l.Left {
		l.XOffs = inset
	}
	if l.Top {
		l.YOffs = -inset
	}
	var textW, entH vg.Length
	for _, e := range lg.entries {
		l.Add(e.name, e.thumbs...)
		r := l.TextStyle.Rectangle(e.name)
		textW = max(textW, r.Max.X)
		entH = max(entH, r.Max.Y)
	}
	// The geometry follows plot.Legend.Draw: thumbnails at the outer edge,
	// one em between thumbnail and text, entries stacked from the corner.
	em := l.TextStyle.Rectangle(" ").Max.X
	w := l.ThumbnailWidth + em + textW
	nEnt := vg.Length(len(lg.entries))
	h := nEnt*entH + (nEnt-1)*l.Padding
	var box vg.Rectangle
	if l.Left {
		box.Min.X = dc.Min.X + l.XOffs
	} else {
		box.Min.X = dc.Max.X + l.XOffs - w
	}
	if l.Top {
		box.Min.Y = dc.Max.Y - l.TextStyle.FontExtents().Descent + l.YOffs - h
	} else {
		box.Min.Y = dc.Min.Y + l.YOffs
	}
	box.Max = vg.Point{X: box.Min.X + w, Y: box.Min.Y + h}
	m := vg.Points(6)
	box.Min.X -= m
	box.Min.Y -= m
	box.Max.X += m
	box.Max.Y += m
	dc.SetColor(color.NRGBA{R: 255, G: 255, B: 255, A: 235})
	dc.Fill(box.Path())
	dc.SetLineStyle(draw.LineStyle{Color: rgb(0xB0, 0xB0, 0xB0), Width: vg.Points(0.75)})
	dc.Stroke(box.Path())
	l.Draw(dc)
}

// canvas returns a white canvas of wPx×hPx pixels.
func canvas(wPx, hPx int) *vgimg.Canvas {
	return vgimg.NewWith(
		vgimg.UseWH(vg.Length(wPx)*vg.Inch/dpi, vg.Length(hPx)*vg.Inch/dpi),
		vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White),
	)
}

// writePNG encodes c as PNG.
func writePNG(w io.Writer, c *vgimg.Canvas) error {
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// margin returns the drawing area of a figure: the whole canvas less a
// small white border.
func margin(c *vgimg.Canvas) draw.Canvas {
	return draw.Crop(draw.New(c), vg.Points(6), -vg.Points(12), vg.Points(4), -vg.Points(6))
}

// niceTicks places about n labelled ticks at 1, 2, 2.5 or 5 times a power
// of ten, with one unlabelled minor tick between them. Labels use format,
// or the fewest decimals that tell the ticks apart.
type niceTicks struct {
	n      int
	format func(float64) string
}

// Ticks implements plot.Ticker.
func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	n := max(t.n, 2)
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	dec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if math.Abs(step/math.Pow(10, -float64(dec))-2.5) < 1e-9 {
		dec++
	}
	format := t.format
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'f', dec, 64) }
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if v == 0 {
			v = 0 // no "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: format(v)})
		if m := v + step/2; m <= hi {
			ticks = append(ticks, plot.Tick{Value: m})
		}
	}
	return ticks
}

// countTicks labels whole counts with thousands separators.
var countTicks = niceTicks{n: 5, format: func(v float64) string { return commas(int(math.Round(v))) }}
