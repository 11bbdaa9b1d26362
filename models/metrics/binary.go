package metrics

import (
	"math"
	"sort"
)

// LogLossEps is the probability clip used by LogLoss: predictions are
// clipped to [LogLossEps, 1-LogLossEps] before taking logarithms.
const LogLossEps = 1e-15

func checkLen(a, b int) {
	if a != b {
		panic("metrics: length mismatch")
	}
}

func isPos(v float64) bool { return v != 0 }

// AUC returns the area under the ROC curve in its Mann-Whitney form,
//
//	AUC = (R₊ − n₊(n₊+1)/2) / (n₊ n₋),
//
// where R₊ is the sum of the mid-ranks (ties get the average rank) of the
// positive examples' scores. A tie between a positive and a negative counts
// one half. AUC returns NaN if y holds a single class; it panics if
// len(y) != len(score).
func AUC(y, score []float64) float64 {
	checkLen(len(y), len(score))
	n := len(y)
	idx := argsortAsc(score)
	var rankSumPos float64
	var nPos, nNeg float64
	for i := 0; i < n; {
		j := i
		for j+1 < n && score[idx[j+1]] == score[idx[i]] {
			j++
		}
		mid := float64(i+j)/2 + 1 // 1-based mid-rank of the tie group
		for k := i; k <= j; k++ {
			if isPos(y[idx[k]]) {
				rankSumPos += mid
				nPos++
			} else {
				nNeg++
			}
		}
		i = j + 1
	}
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSumPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// argsortAsc returns the indices that sort s ascending (stable).
func argsortAsc(s []float64) []int {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
	return idx
}

// argsortDesc returns the indices that sort s descending (stable).
func argsortDesc(s []float64) []int {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	return idx
}

// thresholdCounts walks the distinct scores from high to low and returns,
// per distinct threshold t, the cumulative true and false positives of the
// rule score ≥ t.
func thresholdCounts(y, score []float64) (thr, tp, fp []float64) {
	idx := argsortDesc(score)
	var ctp, cfp float64
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && score[idx[j+1]] == score[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			if isPos(y[idx[k]]) {
				ctp++
			} else {
				cfp++
			}
		}
		thr = append(thr, score[idx[i]])
		tp = append(tp, ctp)
		fp = append(fp, cfp)
		i = j + 1
	}
	return thr, tp, fp
}

// CurvePoint is one point of a ROC or precision-recall curve at the decision
// rule score ≥ Threshold.
type CurvePoint struct {
	Threshold float64 `json:"threshold"`
	X         float64 `json:"x"` // false-positive rate (ROC) or recall (PR)
	Y         float64 `json:"y"` // true-positive rate (ROC) or precision (PR)
}

// ROC returns the ROC curve with one point per distinct score, ordered by
// decreasing threshold and preceded by the point (0, 0) at threshold +Inf,
// as scikit-learn's roc_curve with drop_intermediate=False. X is the
// false-positive rate, Y the true-positive rate. Rates are NaN when the
// corresponding class is absent. It panics if len(y) != len(score).
func ROC(y, score []float64) []CurvePoint {
	checkLen(len(y), len(score))
	thr, tp, fp := thresholdCounts(y, score)
	var P, N float64
	if len(tp) > 0 {
		P, N = tp[len(tp)-1], fp[len(fp)-1]
	}
	pts := make([]CurvePoint, 0, len(thr)+1)
	pts = append(pts, CurvePoint{Threshold: math.Inf(1), X: 0 / N, Y: 0 / P})
	for i := range thr {
		pts = append(pts, CurvePoint{Threshold: thr[i], X: fp[i] / N, Y: tp[i] / P})
	}
	return pts
}

// PR returns the precision-recall curve with one point per distinct score,
// ordered by decreasing threshold and preceded by the point recall 0,
// precision 1 at threshold +Inf. X is recall, Y precision. This is
// scikit-learn's precision_recall_curve (drop_intermediate=False) in reverse
// order. It panics if len(y) != len(score).
func PR(y, score []float64) []CurvePoint {
	checkLen(len(y), len(score))
	thr, tp, fp := thresholdCounts(y, score)
	var P float64
	if len(tp) > 0 {
		P = tp[len(tp)-1]
	}
	pts := make([]CurvePoint, 0, len(thr)+1)
	pts = append(pts, CurvePoint{Threshold: math.Inf(1), X: 0, Y: 1})
	for i := range thr {
		pts = append(pts, CurvePoint{Threshold: thr[i], X: tp[i] / P, Y: tp[i] / (tp[i] + fp[i])})
	}
	return pts
}

// AveragePrecision returns the area under the precision-recall curve as the
// step sum of scikit-learn's average_precision_score,
//
//	AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ,
//
// over distinct thresholds in decreasing order (no interpolation). It returns
// NaN when y holds no positive and panics if len(y) != len(score).
func AveragePrecision(y, score []float64) float64 {
	checkLen(len(y), len(score))
	thr, tp, fp := thresholdCounts(y, score)
	if len(thr) == 0 || tp[len(tp)-1] == 0 {
		return math.NaN()
	}
	P := tp[len(tp)-1]
	var ap, prevR float64
	for i := range thr {
		r := tp[i] / P
		ap += (r - prevR) * tp[i] / (tp[i] + fp[i])
		prevR = r
	}
	return ap
}

// Brier returns the mean squared difference between predicted probability p
// and outcome y: (1/n) Σ (pᵢ − yᵢ)². It returns NaN for empty input and
// panics if len(y) != len(p).
func Brier(y, p []float64) float64 {
	checkLen(len(y), len(p))
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range y {
		t := 0.0
		if isPos(y[i]) {
			t = 1
		}
		d := p[i] - t
		s += d * d
	}
	return s / float64(len(y))
}

// LogLoss returns the mean negative log-likelihood in nats,
//
//	−(1/n) Σ [yᵢ log pᵢ + (1−yᵢ) log(1−pᵢ)],
//
// with pᵢ clipped to [LogLossEps, 1−LogLossEps]. It returns NaN for empty
// input and panics if len(y) != len(p).
func LogLoss(y, p []float64) float64 {
	checkLen(len(y), len(p))
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range y {
		q := math.Min(math.Max(p[i], LogLossEps), 1-LogLossEps)
		if isPos(y[i]) {
			s -= math.Log(q)
		} else {
			s -= math.Log1p(-q)
		}
	}
	return s / float64(len(y))
}

// Bin is one bin of a reliability diagram: predictions in (Lo, Hi] (the first
// bin also holds Lo), their count, mean prediction and observed positive
// rate. MeanPred and FracPos are NaN for an empty bin.
type Bin struct {
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
	Count    int     `json:"count"`
	MeanPred float64 `json:"mean_pred"`
	FracPos  float64 `json:"frac_pos"`
}

// Reliability returns nbins equal-width bins over [0, 1] of the predicted
// probabilities p, right-closed as scikit-learn's calibration_curve
// (0.5 falls in (0.4, 0.5] with 10 bins). Predictions outside [0, 1] and NaN
// are clamped into the end bins.
// It panics if len(y) != len(p) or nbins < 1.
func Reliability(y, p []float64, nbins int) []Bin {
	checkLen(len(y), len(p))
	if nbins < 1 {
		panic("metrics: nbins < 1")
	}
	bins := make([]Bin, nbins)
	sumP := make([]float64, nbins)
	sumY := make([]float64, nbins)
	for i := range p {
		b := binOf(p[i], nbins)
		bins[b].Count++
		sumP[b] += p[i]
		if isPos(y[i]) {
			sumY[b]++
		}
	}
	for b := range bins {
		bins[b].Lo = float64(b) / float64(nbins)
		bins[b].Hi = float64(b+1) / float64(nbins)
		c := float64(bins[b].Count)
		bins[b].MeanPred = sumP[b] / c
		bins[b].FracPos = sumY[b] / c
	}
	return bins
}

// ECE returns the expected calibration error over 10 equal-width bins,
//
//	ECE = Σ_b (n_b / n) |mean(p)_b − mean(y)_b|,
//
// empty bins contributing nothing. It returns NaN for empty input and panics
// if len(y) != len(p).
func ECE(y, p []float64) float64 { return ECEBins(y, p, 10) }

// ECEBins is ECE with nbins equal-width bins.
func ECEBins(y, p []float64, nbins int) float64 {
	bins := Reliability(y, p, nbins)
	if len(y) == 0 {
		return math.NaN()
	}
	var e float64
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		e += float64(b.Count) * math.Abs(b.MeanPred-b.FracPos)
	}
	return e / float64(len(y))
}

// Lift returns the lift of the top fraction frac of examples ranked by score
// (descending, ties broken by input order): the positive rate among the top
// ⌈frac·n⌉ examples divided by the overall positive rate. Lift(y, s, 0.1) is
// the top-decile lift. It returns NaN if there are no positives and panics
// if len(y) != len(score) or frac is not in (0, 1].
func Lift(y, score []float64, frac float64) float64 {
	checkLen(len(y), len(score))
	if !(frac > 0 && frac <= 1) {
		panic("metrics: lift fraction not in (0, 1]")
	}
	n := len(y)
	if n == 0 {
		return math.NaN()
	}
	k := int(math.Ceil(frac * float64(n)))
	idx := argsortDesc(score)
	var top, all float64
	for r, i := range idx {
		if isPos(y[i]) {
			all++
			if r < k {
				top++
			}
		}
	}
	if all == 0 {
		return math.NaN()
	}
	return (top / float64(k)) / (all / float64(n))
}

// GainsPoint is one point of a cumulative gains / lift chart: the top
// Fraction of the population by score captures Gain of all positives, a
// Lift = Gain / Fraction over random targeting.
type GainsPoint struct {
	Fraction float64 `json:"fraction"`
	Gain     float64 `json:"gain"`
	Lift     float64 `json:"lift"`
}

// Gains returns the cumulative gains curve at the quantiles 1/q, 2/q, …, 1
// of the population ranked by score (descending, ties by input order); the
// top k/q is its first ⌈k·n/q⌉ examples. Gains(y, s, 10) gives the decile
// chart. Gain and Lift are NaN when there are no positives. It panics if
// len(y) != len(score) or q < 1.
func Gains(y, score []float64, q int) []GainsPoint {
	checkLen(len(y), len(score))
	if q < 1 {
		panic("metrics: q < 1")
	}
	n := len(y)
	idx := argsortDesc(score)
	cum := make([]float64, n+1)
	for r, i := range idx {
		cum[r+1] = cum[r]
		if isPos(y[i]) {
			cum[r+1]++
		}
	}
	pts := make([]GainsPoint, q)
	for k := 1; k <= q; k++ {
		m := int(math.Ceil(float64(k) * float64(n) / float64(q)))
		frac := float64(k) / float64(q)
		g := cum[m] / cum[n]
		pts[k-1] = GainsPoint{Fraction: frac, Gain: g, Lift: g / frac}
	}
	return pts
}

// binOf returns the right-closed equal-width bin of p: the smallest b with
// p ≤ (b+1)/nbins, clamped to [0, nbins).
func binOf(p float64, nbins int) int {
	n := float64(nbins)
	if !(p > 0) { // also NaN
		return 0
	}
	if p >= 1 {
		return nbins - 1
	}
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
