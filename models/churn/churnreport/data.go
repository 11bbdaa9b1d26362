package churnreport

import (
	"math"
	"os"

	"github.com/churnpipe/churnpipe/models/metrics"
)

// score is the model's churn probability or a baseline score with its
// ranking metrics on Y.
type score struct {
	name     string // legend name
	baseline bool
	s        []float64
	auc      float64 // ROC AUC
	ap       float64 // average precision (PR AUC)
	lift10   float64 // top-decile lift
}

// data is the validated input with everything the figures and the page
// share.
type data struct {
	in     Input
	n, pos int
	rate   float64 // churn rate of the test snapshot
	ece    float64 // 10-bin ECE of P, recomputed for the legend
	scores []score // the model first, then the baselines by name
	conf   [][]int // stage confusion matrix, nil without stages
}

// figure is one PNG of the report and its page text.
type figure struct {
	file, title, caption string
	wPx, hPx             int
	render               func(*os.File) error
}

func newData(in Input) *data {
	d := &data{in: in, n: len(in.Y)}
	for _, y := range in.Y {
		if y == 1 {
			d.pos++
		}
	}
	d.rate = float64(d.pos) / float64(d.n)
	d.ece = metrics.ECE(in.Y, in.P)
	model := "model"
	if in.ModelKind != "" {
		model = "model (" + in.ModelKind + ")"
	}
	d.scores = append(d.scores, newScore(model, false, in.Y, in.P))
	for _, name := range sortedKeys(in.Baselines) {
		d.scores = append(d.scores, newScore("baseline: "+name, true, in.Y, in.Baselines[name]))
	}
	if in.Stage != nil {
		d.conf = metrics.ConfusionMatrix(in.Stage, in.StageHat, len(in.StageCodes))
	}
	return d
}

func newScore(name string, baseline bool, y, s []float64) score {
	return score{
		name: name, baseline: baseline, s: s,
		auc:    metrics.AUC(y, s),
		ap:     metrics.AveragePrecision(y, s),
		lift10: metrics.Lift(y, s, 0.1),
	}
}

// figures returns the figures to draw, in page order.
func (d *data) figures() []figure {
	figs := []figure{
		{file: FileROC, title: "ROC curve", wPx: 1000, hPx: 700, render: d.renderROC,
			caption: "True-positive rate (share of churners flagged) against false-positive rate (share of retained " +
				"customers flagged) as the score threshold falls, for the model and the baseline scores. " +
				"The dotted diagonal is random ranking (AUC 0.5); a curve further up and left ranks churners better."},
		{file: FilePR, title: "Precision–recall curve", wPx: 1000, hPx: 700, render: d.renderPR,
			caption: "Precision (share of flagged customers who churn) against recall (share of churners flagged). " +
				"The dotted line is the churn rate, the precision of random targeting; AP is the area under the curve " +
				"(average precision)."},
		{file: FileGains, title: "Cumulative gains and lift", wPx: 1400, hPx: 700, render: d.renderGains,
			caption: "Left: share of all churners captured when targeting the top x % of customers by score " +
				"(diagonal: random targeting). Right: cumulative lift of the top deciles, the churn rate among the " +
				"targeted customers divided by the overall churn rate (1 = random). Ties are broken by row order."},
		{file: FileCalibration, title: "Calibration (reliability diagram)", wPx: 1000, hPx: 900, render: d.renderCalibration,
			caption: "Observed churn rate against mean predicted probability in 10 equal-width probability bins, " +
				"with 95 % Wilson intervals; on the diagonal a score of 0.3 means 30 % of such customers churn. " +
				"The lower panel shows how many customers fall in each bin; ECE weights each bin's gap by its count."},
	}
	if d.in.Importance != nil {
		figs = append(figs, figure{file: FileImportance, title: "Feature importance", wPx: 1000, hPx: d.importanceHeight(),
			render: d.renderImportance, caption: d.importanceCaption()})
	}
	if d.conf != nil {
		k := len(d.in.StageCodes)
		figs = append(figs, figure{file: FileConfusion, title: "Predicted lifecycle stage", wPx: 1000, hPx: 520 + 45*min(k, 12),
			render: d.renderConfusion,
			caption: "Confusion matrix of the lifecycle stage at the end of the horizon: rows are the true stage, " +
				"columns the predicted one. Each cell shows the count of customers and its share of the row; the " +
				"colour is the row share, so the diagonal reads as per-stage recall whatever the stage's size."})
	}
	figs = append(figs, figure{file: FileHistogram, title: "Score distribution", wPx: 1000, hPx: 700, render: d.renderHistogram,
		caption: "Distribution of the predicted churn probability for customers who churned and for those who " +
			"stayed, each normalised to 100 % of its class (bins of width 0.025). Less overlap means better separation."})
	return figs
}

// wilson returns the Wilson score interval for k successes in n trials at
// normal quantile z (1.96 for 95 %):
//
//	(p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
//
// It returns NaN, NaN for n = 0.
func wilson(k, n int, z float64) (lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	mid := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, mid-half), min(1, mid+half)
}

// thin returns the curve points that are at least eps from the previously
// kept point on either axis, always keeping the first and last point. For
// a monotone curve drawn with straight segments the dropped points lie
// within eps of the drawn line on both axes.
func thin(pts []metrics.CurvePoint, eps float64) []metrics.CurvePoint {
	if len(pts) <= 2 {
		return pts
	}
	out := []metrics.CurvePoint{pts[0]}
	last := pts[0]
	for _, q := range pts[1 : len(pts)-1] {
		if math.Abs(q.X-last.X) >= eps || math.Abs(q.Y-last.Y) >= eps {
			out = append(out, q)
			last = q
		}
	}
	return append(out, pts[len(pts)-1])
}

// classShares returns the share, in percent, of the values of s in each of
// nbins equal-width bins over [0, 1] (right-closed, as metrics.Reliability)
// among the rows with y == label.
func classShares(y, s []float64, label float64, nbins int) []float64 {
	out := make([]float64, nbins)
	var n float64
	for i, v := range s {
		if y[i] != label {
			continue
		}
		out[binOf(v, nbins)]++
		n++
	}
	if n > 0 {
		for b := range out {
			out[b] *= 100 / n
		}
	}
	return out
}

// binOf is the right-closed equal-width bin of p in [0, 1], as in
// metrics.Reliability: the smallest b with p ≤ (b+1)/nbins.
func binOf(p float64, nbins int) int {
	n := float64(nbins)
	b := int(math.Ceil(p*n)) - 1
	// Correct for rounding in p*n against the exact edges (b+1)/n.
	if b > 0 && p <= float64(b)/n {
		b--
	}
	if b < nbins-1 && p > float64(b+1)/n {
		b++
	}
	return max(0, min(b, nbins-1))
}

// rowShares returns the confusion matrix normalised by row sums (rows
// without examples stay 0).
func rowShares(c [][]int) [][]float64 {
	out := make([][]float64, len(c))
	for i, row := range c {
		out[i] = make([]float64, len(row))
		var s int
		for _, v := range row {
			s += v
		}
		if s == 0 {
			continue
		}
		for j, v := range row {
			out[i][j] = float64(v) / float64(s)
		}
	}
	return out
}
