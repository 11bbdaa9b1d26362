package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected values of the tie-free cases come from the reference
// implementation of Kaggle's normalized Gini (sort by descending
// prediction, index order within ties; Σ cumulative share / n − (n+1)/2n),
// evaluated in Python.
func TestNormalizedGini(t *testing.T) {
	cases := []struct {
		name         string
		actual, pred []float64
		want         float64
	}{
		{"binary outcome", []float64{0, 0, 1, 0, 1}, []float64{0.1, 0.4, 0.35, 0.8, 0.9}, 0.33333333333333337},
		{"perfect ranking", []float64{3.5, 0, 12, 1, 0, 7.25}, []float64{2, 0.5, 9, 1.5, 0.1, 3}, 1},
		{"reversed ranking", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{"imperfect ranking", []float64{3.5, 0, 12, 1, 0, 7.25}, []float64{2, 0.5, 9, 3.1, 0.1, 3}, 0.7922848664688429},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.InDelta(t, c.want, NormalizedGini(c.actual, c.pred), 1e-12)
		})
	}
	assert.True(t, math.IsNaN(NormalizedGini([]float64{2, 2, 2}, []float64{1, 2, 3})), "all realized values equal")
	assert.True(t, math.IsNaN(NormalizedGini([]float64{0, 0}, []float64{1, 2})), "realized total zero")
	assert.Panics(t, func() { NormalizedGini([]float64{1}, []float64{1, 2}) })
}

// permutations calls f with every ordering of xs.
func permutations(xs []int, f func([]int)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(xs) {
			f(xs)
			return
		}
		for i := k; i < len(xs); i++ {
			xs[k], xs[i] = xs[i], xs[k]
			rec(k + 1)
			xs[k], xs[i] = xs[i], xs[k]
		}
	}
	rec(0)
}

// TestTiesAreTheMeanOverOrders checks the tie rule against brute force: the
// Gini and top share with tied predictions equal their average over every
// order of the tied customers.
func TestTiesAreTheMeanOverOrders(t *testing.T) {
	actual := []float64{5, 0, 2, 9, 1, 0, 4}
	pred := []float64{3, 1, 3, 3, 0.5, 1, 2} // ties: {0, 2, 3} at 3 and {1, 5} at 1
	fixed := []int{6, 4}                     // the untied customers
	var sumG, sumTop float64
	var n int
	group1 := []int{0, 2, 3}
	group2 := []int{1, 5}
	permutations(group1, func(g1 []int) {
		permutations(group2, func(g2 []int) {
			order := append(append(append(append([]int{}, g1...), fixed[0]), g2...), fixed[1])
			sorted := make([]float64, len(order))
			for i, j := range order {
				sorted[i] = actual[j]
			}
			sumG += gini(sorted)
			var top, total float64
			for i, v := range sorted {
				total += v
				if i < 2 {
					top += v
				}
			}
			top += 0.1 * sorted[2] // 30 % of 7 customers = 2.1
			sumTop += top / total
			n++
		})
	})
	require.Equal(t, 12, n)
	sortedActual := []float64{9, 5, 4, 2, 1, 0, 0}
	assert.InDelta(t, sumG/float64(n)/gini(sortedActual), NormalizedGini(actual, pred), 1e-12)
	assert.InDelta(t, sumTop/float64(n), TopShare(actual, pred, 0.3), 1e-12)
}

func TestTopShare(t *testing.T) {
	a := []float64{3.5, 0, 12, 1, 0, 7.25}
	p := []float64{2, 0.5, 9, 3.1, 0.1, 3}
	assert.InDelta(t, 0.8526315789473684, TopShare(a, p, 0.5), 1e-12, "top 3 by prediction: 12, 1, 7.25")
	assert.InDelta(t, 0.5263157894736842, TopShare(a, p, 0.25), 1e-12, "1.5 customers: 12 and half of 1")
	assert.InDelta(t, 1, TopShare(a, p, 1), 1e-12)
	assert.InDelta(t, 0, TopShare(a, p, 0), 1e-12)
	assert.GreaterOrEqual(t, TopShare(a, a, 0.2), TopShare(a, p, 0.2), "the realized ranking is the best possible")
	assert.Panics(t, func() { TopShare(a, p, 1.5) })
	assert.True(t, math.IsNaN(TopShare([]float64{0, 0}, []float64{1, 2}, 0.5)))
}

func TestLiftTable(t *testing.T) {
	actual := []float64{10, 0, 7, 1, 3, 0, 2}
	pred := []float64{9, 0.1, 8, 1, 4, 0.2, 2}
	g := LiftTable(actual, pred, 3) // 7 customers: groups of 3, 2, 2
	require.Len(t, g, 3)
	assert.Equal(t, []int{3, 2, 2}, []int{g[0].Customers, g[1].Customers, g[2].Customers})
	assert.InDelta(t, (9+8+4)/3.0, g[0].Predicted, 1e-12)
	assert.InDelta(t, (10+7+3)/3.0, g[0].Actual, 1e-12)
	assert.InDelta(t, (2+1)/2.0, g[1].Actual, 1e-12)
	assert.InDelta(t, 0, g[2].Actual, 1e-12)
	assert.InDelta(t, 20.0/23, g[0].Share, 1e-12)
	var share float64
	for _, x := range g {
		share += x.Share
	}
	assert.InDelta(t, 1, share, 1e-12)
	assert.Len(t, LiftTable(actual, pred, 10), 7, "no empty groups")
	assert.Panics(t, func() { LiftTable(actual, pred, 0) })
}

func TestMAE(t *testing.T) {
	assert.InDelta(t, (1+0+2.5)/3, MAE([]float64{1, 2, 3}, []float64{2, 2, 0.5}), 1e-15)
	assert.True(t, math.IsNaN(MAE(nil, nil)))
}
