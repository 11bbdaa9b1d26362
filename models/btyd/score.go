package btyd

import (
	"math"
	"runtime"
)

// Scores holds per-customer scores, aligned with the rows of the scored
// Data.
type Scores struct {
	// PAlive is P(alive at T).
	PAlive []float64
	// ExpectedPurchases is E[Y(Horizon) | x, t_x, T].
	ExpectedPurchases []float64
	// ProbNoPurchase is P(Y(Horizon) = 0 | x, t_x, T), the churn probability.
	ProbNoPurchase []float64
}

// Score computes Scores for every row of d with a horizon of t model time
// units. Identical (x, t_x, T) rows are scored once, and the distinct rows
// are split over workers goroutines (≤ 0 means runtime.GOMAXPROCS(0)).
// Weights are ignored. Rows outside the domain get NaN; Score does not
// validate d beyond that.
func Score(m CountModel, d Data, t float64, workers int) Scores {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Rows found distinct before (a night scores its distinct rows several
	// times) are scored as they are; idx nil is the identity.
	u, idx := Data{X: d.X, Tx: d.Tx, T: d.T}, []int32(nil)
	keys := keysFor(u)
	if distinct, known := keys.distinctRows(); !known || !distinct {
		u, idx = compressIndex(u)
		if u.Len() == d.Len() {
			u, idx = Data{X: d.X, Tx: d.Tx, T: d.T}, nil
		}
		keys.setDistinct(idx == nil)
	}
	n := u.Len()
	var pa, ex, p0 []float64
	if f, ok := m.(aliveFactored); ok && t >= 0 && !math.IsInf(t, 0) {
		// P(alive) per row (shared parts once per pair); the alive
		// customer's expectation and probability to buy once per (x, T).
		pa = pAliveRows(m, u, workers)
		ge := aliveGrid(f, u, []float64{t}, workers, f.aliveExpected)
		gb := aliveGrid(f, u, []float64{t}, workers, f.aliveBuy)
		ex, p0 = make([]float64, n), make([]float64, n)
		for i := range pa {
			ex[i] = pa[i] * ge.vals[ge.idx[i]]
			p0[i] = clamp01(1 - pa[i]*gb.vals[gb.idx[i]])
		}
	} else {
		pa, ex, p0 = make([]float64, n), make([]float64, n), make([]float64, n)
		parallelRows(n, workers, func(i int) {
			x, tx, T := u.X[i], u.Tx[i], u.T[i]
			pa[i] = m.PAlive(x, tx, T)
			ex[i] = m.ExpectedPurchases(t, x, tx, T)
			p0[i] = m.ProbNoPurchase(t, x, tx, T)
		})
	}
	if idx == nil {
		return Scores{PAlive: pa, ExpectedPurchases: ex, ProbNoPurchase: p0}
	}
	out := Scores{
		PAlive:            make([]float64, len(idx)),
		ExpectedPurchases: make([]float64, len(idx)),
		ProbNoPurchase:    make([]float64, len(idx)),
	}
	for i, j := range idx {
		out.PAlive[i], out.ExpectedPurchases[i], out.ProbNoPurchase[i] = pa[j], ex[j], p0[j]
	}
	return out
}
