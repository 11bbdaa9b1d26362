package btyd

import (
	"gonum.org/v1/gonum/mat"
	"math"
	"sync"
)

// ParetoNBD is a fitted Pareto/NBD model: purchase rate λ ~ Gamma(R, Alpha)
// and exponential lifetime with rate μ ~ Gamma(S, Beta) (shape, rate).
type ParetoNBD struct {
	R, Alpha, S, Beta float64
}

// Name returns "paretonbd".
func (ParetoNBD) Name() string { return "paretonbd" }

// Params returns the parameters keyed r, alpha, s, beta.
func (m ParetoNBD) Params() map[string]float64 {
	return map[string]float64{"r": m.R, "alpha": m.Alpha, "s": m.S, "beta": m.Beta}
}

// logAliveRatio returns log[(1-P(alive))/P(alive)] =
// log[s (α+T)^(r+x) (β+T)^s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ], which
// is FHL's (s/(r+s+x)) (α+T)^(r+x) (β+T)^s A0 written with the integral
// that A0 stands for.
func (m ParetoNBD) logAliveRatio(x, tx, T float64) float64 {
	li := lnParetoIntegral(m.R+x, m.S, m.Alpha, m.Beta, tx, T)
	return math.Log(m.S) + (m.R+x)*math.Log(m.Alpha+T) + m.S*math.Log(m.Beta+T) + li
}

// PAlive is P(alive at T | x, t_x, T) (FHL 2005 note, eq. 18).
func (m ParetoNBD) PAlive(x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil {
		return math.NaN()
	}
	return invOnePlusExp(m.logAliveRatio(x, tx, T))
}

// ExpectedPurchases is E[Y(t) | x, t_x, T] (FHL 2005 note, eq. 21):
//
//	P(alive) · (r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)]
//
// with the s = 1 limit (r+x)(β+T)/(α+T) · ln((β+T+t)/(β+T)).
func (m ParetoNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil || !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	return m.PAlive(x, tx, T) * paretoAliveExpected(t, m.R+x, m.Alpha+T, m.S, m.Beta+T)
}

// paretoAliveExpected is E[Y(t)] for an alive customer with λ ~ Gamma(R, A),
// μ ~ Gamma(S, B): R/A · B/(S-1) · [1 - (B/(B+t))^(S-1)].
func paretoAliveExpected(t, R, A, S, B float64) float64 {
	l := math.Log1p(t / B) // log((B+t)/B)
	var f float64
	if math.Abs(S-1) < 1e-9 {
		f = l
	} else {
		f = -math.Expm1(-(S-1)*l) / (S - 1)
	}
	return R / A * B * f
}

// ProbNoPurchase is P(Y(t) = 0 | x, t_x, T). An alive customer (posterior
// λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T)) makes no purchase in (T, T+t]
// either by surviving t without buying or by dying at τ < t before buying:
//
//	P0 = ((α+T)/(α+T+t))^(r+x) ((β+T)/(β+T+t))^s
//	   + s (α+T)^(r+x) (β+T)^s ∫_0^t (α+T+τ)^-(r+x) (β+T+τ)^-(s+1) dτ,
//
// and the result is 1 - P(alive)·(1 - P0). With x = t_x = T = 0 it is the
// unconditional P(X(t) = 0) of a new customer.
func (m ParetoNBD) ProbNoPurchase(t, x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil || !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	if t == 0 {
		return 1
	}
	pa := m.PAlive(x, tx, T)
	rx, aT, bT := m.R+x, m.Alpha+T, m.Beta+T
	l1 := -rx*math.Log1p(t/aT) - m.S*math.Log1p(t/bT)
	l2 := math.Log(m.S) + rx*math.Log(aT) + m.S*math.Log(bT) + lnParetoIntegral(rx, m.S, aT, bT, 0, t)
	lp0, _ := lse2(l1, l2)
	buy := -math.Expm1(math.Min(lp0, 0))
	return clamp01(1 - pa*buy)
}

// ExpectedNew is E[X(t)] = rβ/(α(s-1)) · [1 - (β/(β+t))^(s-1)] (FHL 2005
// note, eq. 17).
func (m ParetoNBD) ExpectedNew(t float64) float64 {
	if !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	return paretoAliveExpected(t, m.R, m.Alpha, m.S, m.Beta)
}

// NextPurchaseTime returns the mean and median waiting time from T to the
// next purchase of an alive customer while they stay alive: Lomax with shape
// r+x and scale α+T (the purchase clock only; under Pareto/NBD the customer
// may die first). ok is false when P(alive) < minPAlive.
func (m ParetoNBD) NextPurchaseTime(x, tx, T, minPAlive float64) (mean, median float64, ok bool) {
	pa := m.PAlive(x, tx, T)
	if !(pa >= minPAlive) {
		return 0, 0, false
	}
	mean, median = lomaxWait(m.R+x, m.Alpha+T)
	return mean, median, true
}

// LogLik returns the Pareto/NBD log-likelihood of d (FHL 2005 note, eq. 2):
//
//	ln L = ln[Γ(r+x) α^r β^s / Γ(r)]
//	       + ln[(α+T)^-(r+x) (β+T)^-s + s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ].
func (m ParetoNBD) LogLik(d Data) float64 {
	if d.Validate() != nil {
		return math.NaN()
	}
	rows := newParetoRows(newBGRows(Compress(d), false))
	return -paretoEval(rows, []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.S), math.Log(m.Beta)}, 1) * rows.W
}

// paretoRows are the likelihood rows of Pareto/NBD with the distinct
// (x, τ) pairs, τ ∈ {t_x, T}, at which the antiderivative of the dropout
// integral is needed: a customer base of a million has far fewer of them than
// distinct (x, t_x, T) rows, and each costs a 2F1 series per evaluation.
type paretoRows struct {
	*bgRows
	px, pt  []float64 // the distinct pairs
	itx, iT []int32   // the pair of each row's (x, t_x) and (x, T)
	// dT are the distinct T and iDT the one of each row, so that log(α+T)
	// and log(β+T) are computed once per distinct T per evaluation: most
	// customers of a base share few T (whole days since their first
	// purchase). nil when more than a quarter of the rows have distinct T
	// (continuous T), where the table would cost more than it saves.
	dT   []float64
	iDT  []int32
	pool sync.Pool // *paretoScratch
}

// paretoScratch is paretoEval's per-evaluation scratch: the antiderivative
// of every pair, log(α+T) and log(β+T) of every distinct T, and log(r+x+s)
// of every distinct x.
type paretoScratch struct{ anti, la, lb, lm []float64 }

// newParetoPairs returns rw with its distinct (x, τ) pairs (what P(alive)
// needs).
func newParetoPairs(rw *bgRows) *paretoRows {
	p := &paretoRows{bgRows: rw, itx: make([]int32, len(rw.x)), iT: make([]int32, len(rw.x))}
	// The rows are in the domain (validated, or filtered by pAliveRows).
	seen := make(map[[2]uint64]int32, min(2*len(rw.x), 1<<16))
	pair := func(x, t float64) int32 {
		k := [2]uint64{fbits(x), fbits(t)}
		j, ok := seen[k]
		if !ok {
			j = int32(len(p.px))
			seen[k] = j
			p.px, p.pt = append(p.px, x), append(p.pt, t)
		}
		return j
	}
	for i := range rw.x {
		p.itx[i] = pair(rw.x[i], rw.tx[i])
		p.iT[i] = pair(rw.x[i], rw.T[i])
	}
	return p
}

// newParetoRows returns the likelihood rows of rw: its pairs and, when the
// rows share few T, the distinct-T table.
func newParetoRows(rw *bgRows) *paretoRows {
	p := newParetoPairs(rw)
	n := len(rw.x)
	limit := n / 4
	seen := make(map[uint64]int32, min(limit, 1<<12))
	iDT := make([]int32, n)
	var dT []float64
	for i, T := range rw.T {
		j, ok := seen[fbits(T)]
		if !ok {
			if len(dT) >= limit {
				return p // mostly distinct T: no table
			}
			j = int32(len(dT))
			seen[fbits(T)] = j
			dT = append(dT, T)
		}
		iDT[i] = j
	}
	p.dT, p.iDT = dT, iDT
	return p
}

func (rw *paretoRows) scratch() *paretoScratch {
	sc, _ := rw.pool.Get().(*paretoScratch)
	if sc == nil {
		sc = &paretoScratch{
			anti: make([]float64, len(rw.px)),
			la:   make([]float64, len(rw.dT)),
			lb:   make([]float64, len(rw.dT)),
			lm:   make([]float64, len(rw.gx)),
		}
	}
	return sc
}

// paretoEval returns the mean negative log-likelihood of Pareto/NBD at
// θ = log(r, α, s, β). The row terms are summed with Neumaier's
// compensation, each chunk of parallelSum keeping its sum and its
// compensation apart (acc[0], acc[1]) and the two added at the end: the
// result is then within an ulp or so of the exact sum of the rounded
// terms, whatever the goroutine split.
func paretoEval(rw *paretoRows, theta []float64, workers int) float64 {
	r, alpha, s, beta := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	for _, v := range [...]float64{r, alpha, s, beta} {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.Inf(1)
		}
	}
	sc := rw.scratch()
	defer rw.pool.Put(sc)
	anti, la, lb, lm := sc.anti, sc.la, sc.lb, sc.lm
	// Each chunk writes its own pairs; nothing is summed, so the values do
	// not depend on the worker count.
	parallelSum(len(rw.px), workers, 0, func(lo, hi int, _ []float64) {
		for j := lo; j < hi; j++ {
			anti[j] = paretoAnti(r+rw.px[j], s, alpha, beta, rw.pt[j])
		}
	})
	for k, T := range rw.dT {
		la[k], lb[k] = math.Log(alpha+T), math.Log(beta+T)
	}
	for j, x := range rw.gx {
		lm[j] = math.Log(r + x + s)
	}
	ls := math.Log(s)
	iDT := rw.iDT
	acc := parallelSum(len(rw.x), workers, 2, func(lo, hi int, acc []float64) {
		var sum, comp float64
		for i := lo; i < hi; i++ {
			rx, tx, T := r+rw.x[i], rw.tx[i], rw.T[i]
			var laT, lbT float64
			if iDT != nil {
				k := iDT[i]
				laT, lbT = la[k], lb[k]
			} else {
				laT, lbT = math.Log(alpha+T), math.Log(beta+T)
			}
			l1 := -rx*laT - s*lbT
			v := l1 // T = t_x: no dropout integral
			if T > tx {
				a1, a2 := anti[rw.itx[i]], anti[rw.iT[i]]
				if d := a2 - a1; d < 0 {
					// v = log(e^l1 + s·e^(a1-lm)·(1-e^d)) as
					// l1 + log(1 + e^q·w): one Log a row instead of
					// lnParetoIntegralAnti's and lse2's two.
					w := 1 - math.Exp(d)
					if d > -math.Ln2 {
						w = -math.Expm1(d)
					}
					if q := ls + a1 - lm[rw.g[i]] - l1; q <= 0 {
						v = l1 + math.Log(1+math.Exp(q)*w)
					} else {
						v = l1 + q + math.Log(math.Exp(-q)+w)
					}
				} else {
					li := lnParetoIntegralAntiLogM(rx, s, alpha, beta, tx, T, a1, a2, lm[rw.g[i]])
					v, _ = lse2(l1, ls+li)
				}
			}
			y := rw.w[i] * v
			// Neumaier: the low-order bits lost by sum+y go to comp.
			t := sum + y
			if math.Abs(sum) >= math.Abs(y) {
				comp += (sum - t) + y
			} else {
				comp += (y - t) + sum
			}
			sum = t
		}
		acc[0] += sum
		acc[1] += comp
	})
	ll := acc[0] + acc[1]
	lgr := lgam(r)
	c := r*math.Log(alpha) + s*math.Log(beta) - lgr
	for j, x := range rw.gx {
		ll += rw.gw[j] * (lgam(r+x) + c)
	}
	f := -ll / rw.W
	if math.IsNaN(f) {
		return math.Inf(1)
	}
	return f
}

// paretoNewtonRows is the number of distinct rows above which FitParetoNBD
// fits a subsample first and polishes on the full data by Newton steps (a
// variable so that the tests can take that path on small data).
var paretoNewtonRows = 50_000

// paretoSubsampleRows is the size of that subsample, in distinct rows.
var paretoSubsampleRows = 20_000

// FitParetoNBD estimates Pareto/NBD by maximum likelihood (BFGS with central
// difference gradients). Above 50,000 distinct rows it fits a subsample of
// ~20,000 rows (from opt.Start first, when given), then takes Newton steps
// on all rows from the subsample's optimum with the subsample's Hessian,
// which also gives the standard errors; BFGS on all rows is the fallback.

func FitParetoNBD(d Data, opt FitOptions) (ParetoNBD, FitResult, error) {
	cd, n, err := prepare(d)
	if err != nil {
		return ParetoNBD{}, FitResult{Model: "paretonbd"}, err
	}
	o := opt.withDefaults()
	rows := newParetoRows(newBGRows(cd, false))
	obj := &objective{
		model: "paretonbd", names: []string{"r", "alpha", "s", "beta"}, weight: rows.W, customers: n,
		f: func(theta []float64) float64 { return paretoEval(rows, theta, o.Workers) },
	}
	starts := bgStarts(cd)
	if len(rows.x) > paretoNewtonRows {
		// A deterministic subsample of ~20k distinct rows gives the warm
		// start and the Hessian; the full data
		// then needs only a few Newton steps, each one numerical gradient
		// (9 likelihood passes), where BFGS from the same start spends tens
		// of gradients and its line searches. BFGS remains the fallback.
		sub := newParetoRows(rows.subsample(len(rows.x) / paretoSubsampleRows))
		subObj := &objective{model: "paretonbd", names: obj.names, weight: sub.W, customers: n,
			f: func(theta []float64) float64 { return paretoEval(sub, theta, o.Workers) }}
		subObj.g = numericalGradient(subObj.f)
		// The subsample optimum, found from the caller's start when there
		// is one, is where Newton starts: a start fitted on other data (the
		// calibration period) can be far enough for the Hessian not to be
		// positive definite there.
		subStarts := starts
		if opt.Start != nil {
			s0, err := startTheta(obj.names, opt.Start, starts[0])
			if err != nil {
				return ParetoNBD{}, FitResult{Model: "paretonbd"}, err
			}
			subStarts = append([][]float64{s0}, starts...)
		}
		so := o
		so.SkipStdErr = true
		if out, ok, _ := maximise(subObj, subStarts, so); ok {
			starts = append([][]float64{out.theta}, subStarts...)
			opt.Start = nil // found from it
			obj.g = numericalGradient(obj.f)
			obj.newton = true
			obj.hessAt = func(theta []float64) *mat.SymDense {
				g := make([]float64, len(theta))
				subObj.g(g, theta)
				return fdHessian(subObj, theta, g)
			}
		}
	}
	p, res, err := fitObjective(obj, starts, opt)
	if err != nil {
		return ParetoNBD{}, res, err
	}
	return ParetoNBD{R: p[0], Alpha: p[1], S: p[2], Beta: p[3]}, res, nil
}
