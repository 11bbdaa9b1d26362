package btyd

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Errors returned by this package wrap one of these.
var (
	// ErrInvalidInput reports data or arguments outside a model's domain.
	ErrInvalidInput = errors.New("btyd: invalid input")
	// ErrNotConverged reports that maximum likelihood estimation failed.
	ErrNotConverged = errors.New("btyd: optimisation did not converge")
	// ErrUnknownModel reports a model name that Fit does not know.
	ErrUnknownModel = errors.New("btyd: unknown model")
)

// Data is the recency-frequency summary of a set of customers, one row per
// customer (or per group of identical customers, see Weight).
//
// X is the number of repeat purchases, Tx the time of the last purchase and
// T the length of the observation window, both measured from the customer's
// first purchase in the model's time unit. Rows must satisfy x ≥ 0,
// 0 ≤ t_x ≤ T and be finite. Weight, when non-nil, gives the number of
// customers a row stands for (must be > 0 and finite); nil means 1 each.
type Data struct {
	X, Tx, T []float64
	Weight   []float64
}

// Len returns the number of rows.
func (d Data) Len() int { return len(d.X) }

// weight returns the weight of row i.
func (d Data) weight(i int) float64 {
	if d.Weight == nil {
		return 1
	}
	return d.Weight[i]
}

// TotalWeight returns the number of customers d stands for.
func (d Data) TotalWeight() float64 {
	if d.Weight == nil {
		return float64(len(d.X))
	}
	s := 0.0
	for _, w := range d.Weight {
		s += w
	}
	return s
}

// Validate checks the lengths and the domain of every row. The error wraps
// ErrInvalidInput and names the first offending row.
func (d Data) Validate() error {
	n := len(d.X)
	if len(d.Tx) != n || len(d.T) != n || (d.Weight != nil && len(d.Weight) != n) {
		return fmt.Errorf("%w: column lengths differ: x %d, t_x %d, T %d, weight %d",
			ErrInvalidInput, n, len(d.Tx), len(d.T), len(d.Weight))
	}
	if n == 0 {
		return fmt.Errorf("%w: no rows", ErrInvalidInput)
	}
	for i := 0; i < n; i++ {
		if err := checkRow(d.X[i], d.Tx[i], d.T[i]); err != nil {
			return fmt.Errorf("%w (row %d)", err, i)
		}
		if d.Weight != nil {
			if w := d.Weight[i]; !(w > 0) || math.IsInf(w, 0) {
				return fmt.Errorf("%w: weight %v (row %d) must be positive and finite", ErrInvalidInput, w, i)
			}
		}
	}
	return nil
}

func checkRow(x, tx, T float64) error {
	switch {
	case !isFinite(x) || !isFinite(tx) || !isFinite(T):
		return fmt.Errorf("%w: non-finite value x=%v t_x=%v T=%v", ErrInvalidInput, x, tx, T)
	case x < 0:
		return fmt.Errorf("%w: x=%v < 0", ErrInvalidInput, x)
	case tx < 0 || tx > T:
		return fmt.Errorf("%w: t_x=%v outside [0, T=%v]", ErrInvalidInput, tx, T)
	}
	return nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fbits is the map key of a float64: its bits, with -0 folded into 0.
// Go hashes a [k]uint64 key in one call and a struct of floats field by
// field (f64hash, which also handles NaN): the distinct-row maps of a
// million customers cost half as much this way. NaN has several bit
// patterns; callers that must never merge NaN (Compress) check for it.
func fbits(v float64) uint64 { return math.Float64bits(v + 0) }

// Compress merges rows with identical (x, t_x, T) into one row whose weight
// is the sum of the merged weights. Row order follows first occurrence, so
// the result is deterministic. The log-likelihood of the compressed data
// equals that of d exactly. Compress does not validate d; NaN values are
// never equal to each other and so are never merged.
func Compress(d Data) Data {
	c, _ := compressIndex(d)
	return c
}

// compressIndex is Compress that also returns, for every input row, the
// index of its row in the compressed data.
func compressIndex(d Data) (Data, []int32) {
	n := len(d.X)
	idx := make([]int32, n)
	seen := make(map[[3]uint64]int32, min(n, 1<<16))
	out := Data{Weight: make([]float64, 0, min(n, 1<<16))}
	for i := 0; i < n; i++ {
		// +0 folds -0 into 0 so they merge.
		x, tx, T := d.X[i]+0, d.Tx[i]+0, d.T[i]+0
		k := [3]uint64{fbits(x), fbits(tx), fbits(T)}
		j, ok := seen[k]
		if !ok {
			j = int32(len(out.X))
			if !math.IsNaN(x) && !math.IsNaN(tx) && !math.IsNaN(T) {
				seen[k] = j // a row with NaN is never merged
			}
			out.X = append(out.X, x)
			out.Tx = append(out.Tx, tx)
			out.T = append(out.T, T)
			out.Weight = append(out.Weight, 0)
		}
		out.Weight[j] += d.weight(i)
		idx[i] = j
	}
	return out, idx
}

// CompressIndex is Compress that also returns, for every row of d, the
// index of its row in the compressed data: scoring the compressed rows and
// gathering by the index gives every row its scores at the cost of the
// distinct rows only.
func CompressIndex(d Data) (Data, []int32) { return compressIndex(d) }
