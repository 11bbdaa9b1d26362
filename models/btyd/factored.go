package btyd

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// aliveFactored is implemented by the count models whose conditional
// expectation factors as
//
//	E[Y(t) | x, t_x, T] = P(alive at T | x, t_x, T) · g(t; x, T),
//
// where g, the expected purchases of a customer known to be alive at T, does
// not depend on t_x. BG/NBD, MBG/NBD and Pareto/NBD all do (FHL 2005 eq. 10
// and note eq. 21; Batislam et al. 2007): the costly part of g (the 2F1
// series of the BG family) is then evaluated once per distinct (x, T)
// instead of once per customer.
//
// The probability of no purchase factors the same way,
// P(Y(t) = 0 | x, t_x, T) = 1 − P(alive at T) · b(t; x, T), with b the
// probability that a customer alive at T buys in (T, T+t].
type aliveFactored interface {
	CountModel
	aliveExpected(t, x, T float64) float64
	aliveBuy(t, x, T float64) float64
}

// pAliveBatcher is implemented by the models whose P(alive) has a part
// shared by many rows (Pareto/NBD's dropout integral, whose antiderivative
// depends on (x, t_x) and (x, T) separately).
type pAliveBatcher interface {
	pAliveRows(d Data, workers int) []float64
}

// pAliveRows returns P(alive at T) for every row of d, row by row or, where
// the model can, with the shared parts once per distinct pair.
func pAliveRows(m CountModel, d Data, workers int) []float64 {
	if b, ok := m.(pAliveBatcher); ok {
		return b.pAliveRows(d, workers)
	}
	out := make([]float64, d.Len())
	parallelRows(d.Len(), workers, func(i int) { out[i] = m.PAlive(d.X[i], d.Tx[i], d.T[i]) })
	return out
}

func (m BGNBD) aliveBuy(t, x, T float64) float64 {
	return -math.Expm1(-(m.R + x) * math.Log1p(t/(m.Alpha+T)))
}

func (m MBGNBD) aliveBuy(t, x, T float64) float64 {
	return -math.Expm1(-(m.R + x) * math.Log1p(t/(m.Alpha+T)))
}

func (m ParetoNBD) aliveBuy(t, x, T float64) float64 {
	if t == 0 {
		return 0
	}
	rx, aT, bT := m.R+x, m.Alpha+T, m.Beta+T
	l1 := -rx*math.Log1p(t/aT) - m.S*math.Log1p(t/bT)
	l2 := math.Log(m.S) + rx*math.Log(aT) + m.S*math.Log(bT) + lnParetoIntegral(rx, m.S, aT, bT, 0, t)
	lp0, _ := lse2(l1, l2)
	return -math.Expm1(math.Min(lp0, 0))
}

func (m ParetoNBD) pAliveRows(d Data, workers int) []float64 {
	n := d.Len()
	pi := keysFor(d).pairsOf(d)
	anti := make([]float64, len(pi.px))
	parallelRows(len(pi.px), workers, func(j int) { anti[j] = paretoAnti(m.R+pi.px[j], m.S, m.Alpha, m.Beta, pi.pt[j]) })
	ls := math.Log(m.S)
	out := make([]float64, n)
	parallelRows(n, workers, func(i int) {
		k := pi.row[i]
		if k < 0 {
			out[i] = math.NaN()
			return
		}
		x, tx, T := d.X[i], d.Tx[i], d.T[i]
		li := math.Inf(-1)
		if T > tx {
			li = lnParetoIntegralAnti(m.R+x, m.S, m.Alpha, m.Beta, tx, T, anti[pi.itx[k]], anti[pi.iT[k]])
		}
		out[i] = invOnePlusExp(ls + (m.R+x)*math.Log(m.Alpha+T) + m.S*math.Log(m.Beta+T) + li)
	})
	return out
}

func (m BGNBD) aliveExpected(t, x, T float64) float64 {
	return bgExpected(t, m.R+x, m.Alpha+T, m.A, m.B+x)
}

func (m MBGNBD) aliveExpected(t, x, T float64) float64 {
	return bgExpected(t, m.R+x, m.Alpha+T, m.A, m.B+x+1)
}

func (m ParetoNBD) aliveExpected(t, x, T float64) float64 {
	return paretoAliveExpected(t, m.R+x, m.Alpha+T, m.S, m.Beta+T)
}

// ExpectedPurchasesRows returns E[Y(t) | x, t_x, T] for every row of d, in
// d's order, split over workers goroutines (≤ 0: runtime.GOMAXPROCS(0)).
// For the models of this package the alive-customer factor is computed once
// per distinct (x, T); the values agree with ExpectedPurchases row by row to
// rounding (the product is the same, its factors computed once). Rows outside
// the domain, or t < 0 or infinite, get NaN.
func ExpectedPurchasesRows(m CountModel, d Data, t float64, workers int) []float64 {
	out := make([]float64, d.Len())
	f, ok := m.(aliveFactored)
	if !ok || !(t >= 0) || math.IsInf(t, 0) {
		parallelRows(d.Len(), workers, func(i int) { out[i] = m.ExpectedPurchases(t, d.X[i], d.Tx[i], d.T[i]) })
		return out
	}
	g := aliveGrid(f, d, []float64{t}, workers, f.aliveExpected)
	pa := pAliveRows(m, d, workers)
	for i := range out {
		out[i] = pa[i] * g.vals[g.idx[i]] // NaN outside the domain, through pa
	}
	return out
}

// DiscountedPurchasesRows returns, for every row of d, CLV(m, 1, x, t_x, T,
// o): the discounted expected purchases over the horizon of o, which
// multiplied by the expected spend per purchase is the CLV. For the models
// of this package the alive-customer factor of every period end is computed
// once per distinct (x, T) and the sum is P(alive) · Σ_k (g_k − g_{k−1}) /
// (1+d)^k, equal to CLV's Σ_k (E_k − E_{k−1}) / (1+d)^k up to rounding. The
// error wraps ErrInvalidInput for invalid options, and is a *RowError for a
// row outside the domain.
func DiscountedPurchasesRows(m CountModel, d Data, o CLVOptions, workers int) ([]float64, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	for i := 0; i < d.Len(); i++ {
		if err := checkRow(d.X[i], d.Tx[i], d.T[i]); err != nil {
			return nil, &RowError{Row: i, Err: err}
		}
	}
	out := make([]float64, d.Len())
	f, ok := m.(aliveFactored)
	if !ok {
		errs := make([]error, d.Len())
		parallelRows(d.Len(), workers, func(i int) { out[i], errs[i] = CLV(m, 1, d.X[i], d.Tx[i], d.T[i], o) })
		for i, err := range errs {
			if err != nil {
				return nil, &RowError{Row: i, Err: err}
			}
		}
		return out, nil
	}
	step := o.Period.Days() / o.ModelUnit.Days()
	ts := make([]float64, o.Periods)
	disc := make([]float64, o.Periods)
	for k := range ts {
		ts[k] = float64(k+1) * step
		disc[k] = math.Pow(1+o.DiscountRate, float64(k+1))
	}
	g := aliveGrid(f, d, ts, workers, f.aliveExpected)
	// The discounted sum of the alive factor, per distinct (x, T).
	sum := make([]float64, len(g.vals)/len(ts))
	for j := range sum {
		row := g.vals[j*len(ts) : (j+1)*len(ts)]
		var v, prev float64
		for k, e := range row {
			v += (e - prev) / disc[k]
			prev = e
		}
		sum[j] = v
	}
	pa := pAliveRows(m, d, workers)
	for i := range out {
		out[i] = pa[i] * sum[g.idx[i]]
	}
	return out, nil
}

// RowError is the error of a batch function about one row of its Data; it
// unwraps to the row's error (which wraps ErrInvalidInput).
type RowError struct {
	Row int // index in the Data passed in
	Err error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Row, e.Err) }

func (e *RowError) Unwrap() error { return e.Err }

// grid holds an alive-customer quantity g(ts[k]; x, T) (the expectation or
// the probability to buy) of the distinct (x, T) pairs of a Data: vals[j·len(ts)+k] for pair j, idx[i] the pair of
// row i.
type grid struct {
	idx  []int32
	vals []float64
}

func aliveGrid(f aliveFactored, d Data, ts []float64, workers int, g func(t, x, T float64) float64) grid {
	gi := keysFor(d).gridOf(d)
	keys := gi.keys
	vals := make([]float64, len(keys)*len(ts))
	parallelRows(len(keys), workers, func(j int) {
		for k, t := range ts {
			vals[j*len(ts)+k] = g(t, keys[j].x, keys[j].T)
		}
	})
	return grid{idx: gi.idx, vals: vals}
}

// parallelRows calls f(i) for i in [0, n), in contiguous chunks over
// workers goroutines (≤ 0: runtime.GOMAXPROCS(0)); small n runs inline.
func parallelRows(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if n < 1024 || workers == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}
