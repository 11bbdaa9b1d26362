package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Epsilon replaces an empty bin's share in the PSI formula.
const Epsilon = 1e-4

// DefaultBins is the number of quantile bins of a Reference.
const DefaultBins = 10

// ErrEmptySample is returned by NewReference for a sample without values.
var ErrEmptySample = errors.New("gate: empty reference sample")

// Reference is the binned distribution of a variable in the reference
// population. Edges are the ascending, distinct upper bounds of all bins but
// the last: bin i holds x with Edges[i−1] < x ≤ Edges[i] (with Edges[−1] = −∞
// and Edges[len] = +∞). Shares[i] is the fraction of the non-NaN sample in
// bin i, so len(Shares) = len(Edges)+1; NaNShare is the fraction of the whole
// sample that is NaN. Every number is finite, so a Reference marshals to JSON.
type Reference struct {
	Edges    []float64 `json:"edges"`
	Shares   []float64 `json:"shares"`
	NaNShare float64   `json:"nan_share"`
	N        int       `json:"n"`
}

// NewReference bins sample into at most bins quantile bins (0 means
// DefaultBins). Shares of the finite bins are fractions of the whole sample,
// so Σ Shares + NaNShare = 1. ±Inf are valid values (an infinite edge is
// clamped to ±math.MaxFloat64). It returns ErrEmptySample when sample is
// empty and panics when bins < 0.
func NewReference(sample []float64, bins int) (Reference, error) {
	if bins < 0 {
		panic(fmt.Sprintf("gate: NewReference: %d bins", bins))
	}
	if bins == 0 {
		bins = DefaultBins
	}
	if len(sample) == 0 {
		return Reference{}, ErrEmptySample
	}
	if ref, ok := countedReference(sample, bins); ok {
		return ref, nil
	}
	return sortedReference(sample, bins), nil
}

// sortedReference is NewReference by sorting the sample's values.
func sortedReference(sample []float64, bins int) Reference {
	sorted := make([]float64, 0, len(sample))
	for _, v := range sample {
		if !math.IsNaN(v) {
			sorted = append(sorted, v)
		}
	}
	slices.Sort(sorted)
	ref := Reference{N: len(sample)}
	n := len(sorted)
	if n > 0 {
		for k := 1; k < bins; k++ {
			// Empirical quantile: smallest x with F̂(x) ≥ k/bins, i.e. the
			// ⌈k·n/bins⌉-th smallest value.
			idx := (k*n+bins-1)/bins - 1
			e := clampInf(sorted[idx])
			if e == clampInf(sorted[n-1]) {
				break // nothing would fall above this edge
			}
			if len(ref.Edges) == 0 || e > ref.Edges[len(ref.Edges)-1] {
				ref.Edges = append(ref.Edges, e)
			}
		}
	}
	counts := make([]int, len(ref.Edges)+1)
	for _, v := range sorted {
		counts[ref.bin(v)]++
	}
	ref.Shares = make([]float64, len(counts))
	for i, c := range counts {
		ref.Shares[i] = float64(c) / float64(len(sample))
	}
	ref.NaNShare = float64(len(sample)-n) / float64(len(sample))
	return ref
}

// countedReference is NewReference by counting, for a sample whose values
// are integers in a range no wider than max(2¹⁶, len(sample)) — most
// feature columns are counts and day numbers —, in O(n + range) instead of
// a sort; it gives exactly sortedReference's result. It returns false for
// any other sample (a fraction, an infinity, a negative zero, a wide range,
// no value).
func countedReference(sample []float64, bins int) (Reference, bool) {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, v := range sample {
		if math.IsNaN(v) {
			continue
		}
		if v != math.Trunc(v) || math.IsInf(v, 0) || (v == 0 && math.Signbit(v)) {
			return Reference{}, false
		}
		lo, hi = min(lo, v), max(hi, v)
		n++
	}
	if n == 0 || hi-lo >= float64(max(1<<16, len(sample))) || len(sample) >= math.MaxInt32 {
		return Reference{}, false
	}
	counts := make([]int32, int(hi-lo)+1)
	for _, v := range sample {
		if !math.IsNaN(v) {
			counts[int(v-lo)]++
		}
	}
	// The k-th smallest value (0-based) of the sorted sample, for ascending k.
	at, seen := 0, int(counts[0]) // values below lo+at+1 seen so far
	kth := func(k int) float64 {
		for seen <= k {
			at++
			seen += int(counts[at])
		}
		return lo + float64(at)
	}
	ref := Reference{N: len(sample)}
	for k := 1; k < bins; k++ {
		idx := (k*n+bins-1)/bins - 1
		e := kth(idx)
		if e == hi {
			break // nothing would fall above this edge
		}
		if len(ref.Edges) == 0 || e > ref.Edges[len(ref.Edges)-1] {
			ref.Edges = append(ref.Edges, e)
		}
	}
	binCounts := make([]int, len(ref.Edges)+1)
	b := 0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		v := lo + float64(i)
		for b < len(ref.Edges) && ref.Edges[b] < v {
			b++ // values ascend: the first edge ≥ v moves forward only
		}
		binCounts[b] += int(c)
	}
	ref.Shares = make([]float64, len(binCounts))
	for i, c := range binCounts {
		ref.Shares[i] = float64(c) / float64(len(sample))
	}
	ref.NaNShare = float64(len(sample)-n) / float64(len(sample))
	return ref, true
}

func clampInf(v float64) float64 {
	switch {
	case v > math.MaxFloat64:
		return math.MaxFloat64
	case v < -math.MaxFloat64:
		return -math.MaxFloat64
	}
	return v
}

// bin returns the index of the finite bin holding v (v not NaN).
func (r Reference) bin(v float64) int {
	return sort.SearchFloat64s(r.Edges, v) // first edge ≥ v
}

// Distribution returns the shares of values in the bins of r: shares[i] for
// the finite bins and nan for NaN, all fractions of len(values). It returns
// zeros for no values.
func (r Reference) Distribution(values []float64) (shares []float64, nan float64) {
	counts := make([]int, len(r.Edges)+1)
	nNaN := 0
	for _, v := range values {
		if math.IsNaN(v) {
			nNaN++
			continue
		}
		counts[r.bin(v)]++
	}
	shares = make([]float64, len(counts))
	if len(values) == 0 {
		return shares, 0
	}
	for i, c := range counts {
		shares[i] = float64(c) / float64(len(values))
	}
	return shares, float64(nNaN) / float64(len(values))
}

// PSI returns the population stability index of values against ref:
// Σ (a−e)·ln(a/e) over ref's bins and the NaN bin, with empty shares
// replaced by Epsilon. It returns NaN when values is empty and panics when
// ref has no bins (the zero Reference).
func PSI(ref Reference, values []float64) float64 {
	if len(ref.Shares) != len(ref.Edges)+1 {
		panic("gate: PSI: reference has no bins (use NewReference)")
	}
	if len(values) == 0 {
		return math.NaN()
	}
	a, aNaN := ref.Distribution(values)
	return PSIShares(append(ref.Shares[:len(ref.Shares):len(ref.Shares)], ref.NaNShare), append(a, aNaN))
}

// PSIShares returns Σ (a_i − e_i)·ln(a_i / e_i) for expected shares e and
// actual shares a over the same bins, each share below Epsilon replaced by
// Epsilon. The shares are used as given (not renormalised). It panics when
// the lengths differ.
func PSIShares(expected, actual []float64) float64 {
	if len(expected) != len(actual) {
		panic(fmt.Sprintf("gate: PSIShares: %d expected and %d actual shares", len(expected), len(actual)))
	}
	psi := 0.0
	for i := range expected {
		e, a := math.Max(expected[i], Epsilon), math.Max(actual[i], Epsilon)
		psi += (a - e) * (math.Log(a) - math.Log(e))
	}
	return psi
}
