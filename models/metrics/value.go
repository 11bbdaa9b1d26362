package metrics

import (
	"math"
	"sort"
)

// Value metrics compare a predicted value per customer (future spend, future
// transactions) with the realized value. They take the realized values first
// and the predictions second, like the binary metrics, and panic when the
// lengths differ.
//
// Ties in the prediction are one rank: every customer of a group of equal
// predictions is given the group's mean realized value before ranking. The
// results are therefore independent of the input order, and equal to their
// expectation over a random order of the tied customers.

// tieOrder returns the customers ordered by descending prediction (index
// order within ties, which the tie averaging makes irrelevant) and the
// realized values with each tie group replaced by its mean.
func tieOrder(actual, pred []float64) ([]int, []float64) {
	checkLen(len(actual), len(pred))
	n := len(pred)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pred[idx[a]] > pred[idx[b]] })
	avg := make([]float64, n)
	for i := 0; i < n; {
		j := i
		sum := actual[idx[i]]
		for j+1 < n && pred[idx[j+1]] == pred[idx[i]] {
			j++
			sum += actual[idx[j]]
		}
		m := sum / float64(j-i+1)
		for k := i; k <= j; k++ {
			avg[k] = m
		}
		i = j + 1
	}
	return idx, avg
}

// gini is the Gini coefficient of the realized values taken in the order
// sorted (descending prediction):
//
//	G = Σₖ Cₖ / n − (n + 1) / (2n),   Cₖ = Σ_{j ≤ k} sorted_j / Σ sorted,
//
// the area between the cumulative-share curve and the diagonal (the
// normalization used by Kaggle's insurance competitions). NaN when the
// realized values sum to zero.
func gini(sorted []float64) float64 {
	n := float64(len(sorted))
	var total float64
	for _, v := range sorted {
		total += v
	}
	if n == 0 || total == 0 {
		return math.NaN()
	}
	var cum, area float64
	for _, v := range sorted {
		cum += v
		area += cum / total
	}
	return area/n - (n+1)/(2*n)
}

// NormalizedGini is the Gini coefficient of the realized values ordered by
// the prediction divided by that of the realized values ordered by
// themselves: 1 for a prediction that ranks customers exactly as they
// turned out, 0 for a random ranking (in expectation), negative for a
// ranking worse than random. Only the order of pred matters. It returns NaN
// when the realized values are all equal (no ranking can be judged) or sum
// to zero; it panics if len(actual) != len(pred).
func NormalizedGini(actual, pred []float64) float64 {
	_, byPred := tieOrder(actual, pred)
	_, byActual := tieOrder(actual, actual)
	g := gini(byActual)
	if g == 0 {
		return math.NaN()
	}
	return gini(byPred) / g
}

// TopShare is the share of the total realized value that falls to the
// fraction frac of customers with the highest predictions (a customer on the
// cut-off counts with the fraction of it inside, so TopShare(·, ·, 0.2) is
// exact for any n). With pred = actual it is the best share possible. It
// returns NaN when the realized values sum to zero, and panics if
// len(actual) != len(pred) or frac is outside [0, 1].
func TopShare(actual, pred []float64, frac float64) float64 {
	if !(frac >= 0 && frac <= 1) {
		panic("metrics: TopShare fraction outside [0, 1]")
	}
	_, v := tieOrder(actual, pred)
	var total float64
	for _, a := range v {
		total += a
	}
	if total == 0 {
		return math.NaN()
	}
	m := frac * float64(len(v))
	k := int(m)
	var top float64
	for _, a := range v[:k] {
		top += a
	}
	if k < len(v) {
		top += (m - float64(k)) * v[k]
	}
	return top / total
}

// Group is one quantile group of a lift table.
type Group struct {
	Group     int     `json:"group"` // 1 = the highest predictions
	Customers int     `json:"customers"`
	Predicted float64 `json:"predicted_mean"`
	Actual    float64 `json:"actual_mean"`
	// Share is the group's share of the total realized value.
	Share float64 `json:"actual_share"`
}

// LiftTable splits the customers, ordered by descending prediction, into k
// groups of equal size (the first len % k groups one customer larger) and
// gives each group's mean prediction, mean realized value (tie-averaged, see
// above) and share of the realized total; k = 10 gives the decile table. It
// panics if len(actual) != len(pred) or k < 1.
func LiftTable(actual, pred []float64, k int) []Group {
	if k < 1 {
		panic("metrics: LiftTable needs k ≥ 1")
	}
	idx, v := tieOrder(actual, pred)
	n := len(v)
	var total float64
	for _, a := range v {
		total += a
	}
	out := make([]Group, 0, k)
	start := 0
	for g := 0; g < k && start < n; g++ {
		size := n / k
		if g < n%k {
			size++
		}
		if size == 0 {
			continue
		}
		var sp, sa float64
		for i := start; i < start+size; i++ {
			sp += pred[idx[i]]
			sa += v[i]
		}
		grp := Group{Group: g + 1, Customers: size, Predicted: sp / float64(size), Actual: sa / float64(size), Share: math.NaN()}
		if total != 0 {
			grp.Share = sa / total
		}
		out = append(out, grp)
		start += size
	}
	return out
}

// MAE is the mean absolute error mean |actualᵢ − predᵢ|; NaN for no
// values; it panics if the lengths differ.
func MAE(actual, pred []float64) float64 {
	checkLen(len(actual), len(pred))
	if len(actual) == 0 {
		return math.NaN()
	}
	var s float64
	for i, a := range actual {
		s += math.Abs(a - pred[i])
	}
	return s / float64(len(actual))
}
