package gbt

import (
	"math"
	"slices"
	"sort"
)

// cutPoints returns ascending upper bin edges for the values of one feature
// (NaNs skipped): a value v falls in the first bin k with v ≤ edges[k]. The
// last edge is +Inf; there are at most maxBins edges. vals is sorted in
// place.
func cutPoints(vals []float64, maxBins int) []float64 {
	slices.Sort(vals) // NaNs were removed by the caller
	m := len(vals)
	if m == 0 {
		return []float64{math.Inf(1)}
	}
	// Distinct values and their counts.
	var distinct []float64
	var counts []int
	for i := 0; i < m; {
		j := i
		for j < m && vals[j] == vals[i] {
			j++
		}
		distinct = append(distinct, vals[i])
		counts = append(counts, j-i)
		i = j
	}
	edges := make([]float64, 0, min(len(distinct), maxBins))
	if len(distinct) <= maxBins {
		for k := 0; k+1 < len(distinct); k++ {
			edges = append(edges, midpoint(distinct[k], distinct[k+1]))
		}
	} else {
		cum := 0
		for k := 0; k+1 < len(distinct) && len(edges) < maxBins-1; k++ {
			cum += counts[k]
			// Close the bin once it reaches its share of the remaining rows.
			if float64(cum) >= float64(len(edges)+1)*float64(m)/float64(maxBins) {
				edges = append(edges, midpoint(distinct[k], distinct[k+1]))
			}
		}
	}
	return append(edges, math.Inf(1))
}

// midpoint returns an edge e with a ≤ e < b (for a < b) that is finite.
func midpoint(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return -math.MaxFloat64
	}
	if math.IsInf(b, 1) {
		return math.MaxFloat64
	}
	m := a/2 + b/2
	if m >= b { // a and b adjacent floats
		m = a
	}
	return m
}

// binOf returns the bin of v under edges, NaNBin for NaN.
func binOf(edges []float64, v float64) uint8 {
	if math.IsNaN(v) {
		return NaNBin
	}
	return uint8(sort.SearchFloat64s(edges, v))
}
