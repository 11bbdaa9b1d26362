package btyd

import "math"

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
	rows := newBGRows(Compress(d), false)
	return -paretoEval(rows, []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.S), math.Log(m.Beta)}, 1) * rows.W
}

func paretoEval(rw *bgRows, theta []float64, workers int) float64 {
	r, alpha, s, beta := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	for _, v := range [...]float64{r, alpha, s, beta} {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.Inf(1)
		}
	}
	ls := math.Log(s)
	acc := parallelSum(len(rw.x), workers, 1, func(lo, hi int, acc []float64) {
		ll := 0.0
		for i := lo; i < hi; i++ {
			rx, T := r+rw.x[i], rw.T[i]
			l1 := -rx*math.Log(alpha+T) - s*math.Log(beta+T)
			l2 := ls + lnParetoIntegral(rx, s, alpha, beta, rw.tx[i], T)
			v, _ := lse2(l1, l2)
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

// FitParetoNBD estimates Pareto/NBD by maximum likelihood (BFGS with central
// difference gradients).
func FitParetoNBD(d Data, opt FitOptions) (ParetoNBD, FitResult, error) {
	cd, n, err := prepare(d)
	if err != nil {
		return ParetoNBD{}, FitResult{Model: "paretonbd"}, err
	}
	o := opt.withDefaults()
	rows := newBGRows(cd, false)
	obj := &objective{
		model: "paretonbd", names: []string{"r", "alpha", "s", "beta"}, weight: rows.W, customers: n,
		f: func(theta []float64) float64 { return paretoEval(rows, theta, o.Workers) },
	}
	starts := bgStarts(cd)
	if len(rows.x) > 50_000 && opt.Start == nil {
		// Warm start from a deterministic subsample of ~20k distinct rows:
		// each numerical gradient costs 9 likelihood passes, so most
		// iterations are better spent on the subsample.
		sub := rows.subsample(len(rows.x) / 20_000)
		so := o
		so.SkipStdErr = true
		subObj := &objective{model: "paretonbd", names: obj.names, weight: sub.W, customers: n,
			f: func(theta []float64) float64 { return paretoEval(sub, theta, o.Workers) }}
		if out, ok, _ := maximise(subObj, starts, so); ok {
			starts = append([][]float64{out.theta}, starts...)
		}
	}
	p, res, err := fitObjective(obj, starts, opt)
	if err != nil {
		return ParetoNBD{}, res, err
	}
	return ParetoNBD{R: p[0], Alpha: p[1], S: p[2], Beta: p[3]}, res, nil
}
