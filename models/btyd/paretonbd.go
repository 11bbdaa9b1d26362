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
	px, pt   []float64 // the distinct pairs
	itx, iT  []int32   // the pair of each row's (x, t_x) and (x, T)
	antiPool sync.Pool // *[]float64 scratch of len(px)
}

func newParetoRows(rw *bgRows) *paretoRows {
	p := &paretoRows{bgRows: rw, itx: make([]int32, len(rw.x)), iT: make([]int32, len(rw.x))}
	type key struct{ x, t float64 }
	seen := make(map[key]int32, min(2*len(rw.x), 1<<16))
	pair := func(x, t float64) int32 {
		k := key{x, t}
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

func paretoEval(rw *paretoRows, theta []float64, workers int) float64 {
	r, alpha, s, beta := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	for _, v := range [...]float64{r, alpha, s, beta} {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.Inf(1)
		}
	}
	buf, _ := rw.antiPool.Get().(*[]float64)
	if buf == nil || len(*buf) != len(rw.px) {
		b := make([]float64, len(rw.px))
		buf = &b
	}
	defer rw.antiPool.Put(buf)
	anti := *buf
	// Each chunk writes its own pairs; nothing is summed, so the values do
	// not depend on the worker count.
	parallelSum(len(rw.px), workers, 0, func(lo, hi int, _ []float64) {
		for j := lo; j < hi; j++ {
			anti[j] = paretoAnti(r+rw.px[j], s, alpha, beta, rw.pt[j])
		}
	})
	ls := math.Log(s)
	acc := parallelSum(len(rw.x), workers, 1, func(lo, hi int, acc []float64) {
		ll := 0.0
		for i := lo; i < hi; i++ {
			rx, tx, T := r+rw.x[i], rw.tx[i], rw.T[i]
			l1 := -rx*math.Log(alpha+T) - s*math.Log(beta+T)
			li := math.Inf(-1)
			if T > tx {
				li = lnParetoIntegralAnti(rx, s, alpha, beta, tx, T, anti[rw.itx[i]], anti[rw.iT[i]])
			}
			v, _ := lse2(l1, ls+li)
			ll += rw.w[i] * v
		}
		acc[0] += ll
	})
	ll := acc[0]
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
