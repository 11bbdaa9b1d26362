package btyd

import (
	"runtime"
	"sync"
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
	u, idx := compressIndex(Data{X: d.X, Tx: d.Tx, T: d.T})
	n := u.Len()
	pa, p0 := make([]float64, n), make([]float64, n)
	// The expectations: the alive factor once per distinct (x, T).
	ex := ExpectedPurchasesRows(m, u, t, workers)
	chunks := workers
	if n < 4096 {
		chunks = 1
	}
	var wg sync.WaitGroup
	for c := 0; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				x, tx, T := u.X[i], u.Tx[i], u.T[i]
				pa[i] = m.PAlive(x, tx, T)
				p0[i] = m.ProbNoPurchase(t, x, tx, T)
			}
		}()
	}
	wg.Wait()
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
