package btyd

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
)

// BGNBD is a fitted BG/NBD model (Fader, Hardie & Lee 2005): purchase rate
// λ ~ Gamma(R, Alpha) (shape, rate; Alpha in time units) and dropout
// probability after each repeat purchase p ~ Beta(A, B). All parameters
// must be positive.
type BGNBD struct {
	R, Alpha, A, B float64
}

// Name returns "bgnbd".
func (BGNBD) Name() string { return "bgnbd" }

// Params returns the parameters keyed r, alpha, a, b.
func (m BGNBD) Params() map[string]float64 {
	return map[string]float64{"r": m.R, "alpha": m.Alpha, "a": m.A, "b": m.B}
}

// PAlive is P(alive at T | x, t_x, T) (FHL 2005 eq. 1 of the technical note):
//
//	1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))
//
// It is 1 for x = 0. Inputs outside the domain give NaN.
func (m BGNBD) PAlive(x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil {
		return math.NaN()
	}
	if x == 0 {
		return 1
	}
	lr := math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*math.Log1p((T-tx)/(m.Alpha+tx))
	return invOnePlusExp(lr)
}

// ExpectedPurchases is E[Y(t) | x, t_x, T] (FHL 2005 eq. 10):
//
//	P(alive) · (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]
//
// evaluated through the transformation in bgExpected so that the 2F1
// parameters do not grow with x.
func (m BGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil || !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	return m.PAlive(x, tx, T) * bgExpected(t, m.R+x, m.Alpha+T, m.A, m.B+x)
}

// ProbNoPurchase is P(Y(t) = 0 | x, t_x, T): a dead customer never buys; an
// alive one has posterior rate Gamma(r+x, α+T) and can only drop out right
// after a purchase, so
//
//	1 - P(alive) · [1 - ((α+T)/(α+T+t))^(r+x)].
//
// With x = t_x = T = 0 it is P(X(t) = 0) = (α/(α+t))^r (FHL 2005 eq. 8).
func (m BGNBD) ProbNoPurchase(t, x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil || !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	pa := m.PAlive(x, tx, T)
	buy := -math.Expm1(-(m.R + x) * math.Log1p(t/(m.Alpha+T)))
	return clamp01(1 - pa*buy)
}

// ExpectedNew is E[X(t)] (FHL 2005 eq. 7):
//
//	(a+b-1)/(a-1) · [1 - (α/(α+t))^r 2F1(r, b; a+b-1; t/(α+t))].
func (m BGNBD) ExpectedNew(t float64) float64 {
	if !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	return bgExpected(t, m.R, m.Alpha, m.A, m.B)
}

// NextPurchaseTime returns the mean and median time from T to the next
// purchase of a customer with history (x, t_x, T), given that the customer
// is alive (BG/NBD customers can only drop out right after a purchase, so
// this is exact): the wait is Lomax with shape r+x and scale α+T. The mean
// is +Inf when r+x ≤ 1. ok is false, and the times zero, when
// P(alive) < minPAlive.
func (m BGNBD) NextPurchaseTime(x, tx, T, minPAlive float64) (mean, median float64, ok bool) {
	pa := m.PAlive(x, tx, T)
	if !(pa >= minPAlive) {
		return 0, 0, false
	}
	mean, median = lomaxWait(m.R+x, m.Alpha+T)
	return mean, median, true
}

// LogLik returns the log-likelihood of d (FHL 2005 eq. 6), NaN when d is
// invalid.
func (m BGNBD) LogLik(d Data) float64 {
	if d.Validate() != nil {
		return math.NaN()
	}
	rows := newBGRows(Compress(d), false)
	f := rows.eval(nil, []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, 1)
	return -f * rows.W
}

// FitBGNBD estimates BG/NBD by maximum likelihood (analytic gradient).
func FitBGNBD(d Data, opt FitOptions) (BGNBD, FitResult, error) {
	p, res, err := fitBGFamily("bgnbd", d, opt, false)
	if err != nil {
		return BGNBD{}, res, err
	}
	return BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, res, nil
}

func clamp01(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// bgRows is compressed data prepared for the BG/NBD and MBG/NBD
// likelihoods. Terms that depend on x only are computed once per distinct
// x (group).
type bgRows struct {
	x, tx, T, w []float64
	g           []int32
	gx, gw      []float64
	mod         bool // MBG/NBD: dropout also possible right after the first purchase
	W           float64
}

func newBGRows(d Data, mod bool) *bgRows {
	r := &bgRows{x: d.X, tx: d.Tx, T: d.T, mod: mod}
	n := d.Len()
	r.w = make([]float64, n)
	r.g = make([]int32, n)
	gi := map[float64]int32{}
	for i := 0; i < n; i++ {
		r.w[i] = d.weight(i)
		r.W += r.w[i]
		j, ok := gi[d.X[i]]
		if !ok {
			j = int32(len(r.gx))
			gi[d.X[i]] = j
			r.gx = append(r.gx, d.X[i])
			r.gw = append(r.gw, 0)
		}
		r.g[i] = j
		r.gw[j] += r.w[i]
	}
	return r
}

// subsample returns every k-th row with weights scaled by the kept share.
func (r *bgRows) subsample(k int) *bgRows {
	k = max(k, 1)
	d := Data{}
	for i := 0; i < len(r.x); i += k {
		d.X = append(d.X, r.x[i])
		d.Tx = append(d.Tx, r.tx[i])
		d.T = append(d.T, r.T[i])
		d.Weight = append(d.Weight, r.w[i])
	}
	return newBGRows(d, r.mod)
}

// eval returns the mean negative log-likelihood at θ = log(r, α, a, b) and,
// when grad is non-nil, its gradient with respect to θ.
func (rw *bgRows) eval(grad, theta []float64, workers int) float64 {
	r, alpha, a, b := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	for _, v := range [...]float64{r, alpha, a, b} {
		if !(v > 0) || math.IsInf(v, 0) {
			for i := range grad {
				grad[i] = 0
			}
			return math.Inf(1)
		}
	}
	ng := len(rw.gx)
	// k is the offset in the beta-function terms: BG/NBD uses b+x-1, MBG/NBD b+x.
	k := 1.0
	if rw.mod {
		k = 0
	}
	c4 := make([]float64, ng)
	for j, x := range rw.gx {
		if !rw.mod && x == 0 {
			c4[j] = math.Inf(-1)
			continue
		}
		c4[j] = math.Log(a) - math.Log(b+x-k)
	}
	logAlpha := math.Log(alpha)
	acc := parallelSum(len(rw.x), workers, 3+ng, func(lo, hi int, acc []float64) {
		var ll, dr, dal float64
		s4 := acc[3:]
		for i := lo; i < hi; i++ {
			x, w := rw.x[i], rw.w[i]
			rx := r + x
			aT := alpha + rw.T[i]
			lT := math.Log(aT)
			l3 := -rx * lT
			cg := c4[rw.g[i]]
			if math.IsInf(cg, -1) {
				ll += w * l3
				if grad != nil {
					dr -= w * lT
					dal -= w * rx / aT
				}
				continue
			}
			atx := alpha + rw.tx[i]
			var ltx float64
			if rw.tx[i] == 0 {
				ltx = logAlpha
			} else {
				ltx = math.Log(atx)
			}
			// log(exp(l3) + exp(l4)) inline; log(1+e) instead of log1p(e)
			// costs at most one ulp of the row's log-likelihood and is
			// markedly faster (math.Log is assembly, math.Log1p is not).
			l4 := cg - rx*ltx
			var lse, w4 float64
			if d := l4 - l3; d > 0 {
				e := math.Exp(-d)
				lse, w4 = l4+math.Log(1+e), 1/(1+e)
			} else {
				e := math.Exp(d)
				lse, w4 = l3+math.Log(1+e), e/(1+e)
			}
			ll += w * lse
			if grad != nil {
				w3 := 1 - w4
				dr -= w * (w3*lT + w4*ltx)
				dal -= w * rx * (w3/aT + w4/atx)
				s4[rw.g[i]] += w * w4
			}
		}
		acc[0] += ll
		acc[1] += dr
		acc[2] += dal
	})
	ll := acc[0]
	dr, dal, da, db := acc[1], acc[2], 0.0, 0.0
	lgr, lgab, lgb := lgam(r), lgam(a+b), lgam(b)
	var psr, psab, psb float64
	if grad != nil {
		psr, psab, psb = mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	}
	for j, x := range rw.gx {
		W := rw.gw[j]
		// A1 = lnΓ(r+x) - lnΓ(r) + r ln α
		// A2 = lnB(a, b+x+1-k) - lnB(a, b) = lnΓ(b+x') + lnΓ(a+b) - lnΓ(a+b+x') - lnΓ(b), x' = x+1-k
		xp := x + 1 - k
		ll += W * (lgam(r+x) - lgr + r*logAlpha + lgam(b+xp) + lgab - lgam(a+b+xp) - lgb)
		if grad != nil {
			ps := mathext.Digamma(a + b + xp)
			dr += W * (mathext.Digamma(r+x) - psr + logAlpha)
			dal += W * r / alpha
			da += W * (psab - ps)
			db += W * (mathext.Digamma(b+xp) + psab - ps - psb)
			if s := acc[3+j]; s != 0 {
				da += s / a
				db -= s / (b + x - k)
			}
		}
	}
	if grad != nil {
		grad[0] = -dr * r / rw.W
		grad[1] = -dal * alpha / rw.W
		grad[2] = -da * a / rw.W
		grad[3] = -db * b / rw.W
	}
	f := -ll / rw.W
	if math.IsNaN(f) {
		return math.Inf(1)
	}
	return f
}

// bgStarts are the default start points (log scale) for BG/NBD-type fits.
func bgStarts(d Data) [][]float64 {
	// A moment-based start: mean rate xbar/Tbar gives r/α.
	var sx, sT, sw float64
	for i := range d.X {
		w := d.weight(i)
		sx += w * d.X[i]
		sT += w * d.T[i]
		sw += w
	}
	rate := (sx/sw + 0.1) / (sT/sw + 1e-3)
	ls := func(v ...float64) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[i] = math.Log(v[i])
		}
		return out
	}
	return [][]float64{
		ls(1, 1, 1, 1),
		ls(0.5, 0.5/rate, 1, 2.5),
		ls(2, 2/rate, 0.5, 5),
		ls(0.1, 0.1/rate, 2, 1),
	}
}

func fitBGFamily(model string, d Data, opt FitOptions, mod bool) ([]float64, FitResult, error) {
	cd, n, err := prepare(d)
	if err != nil {
		return nil, FitResult{Model: model}, err
	}
	o := opt.withDefaults()
	rows := newBGRows(cd, mod)
	mk := func(rw *bgRows) *objective {
		return &objective{
			model: model, names: []string{"r", "alpha", "a", "b"}, weight: rw.W, customers: n,
			f: func(theta []float64) float64 { return rw.eval(nil, theta, o.Workers) },
			g: func(grad, theta []float64) float64 { return rw.eval(grad, theta, o.Workers) },
		}
	}
	starts := bgStarts(cd)
	obj := mk(rows)
	if len(rows.x) > 100_000 && opt.Start == nil {
		// Warm start from a deterministic subsample of ~50k distinct rows,
		// then Newton on the full data (a few likelihood passes instead of
		// a full BFGS run); BFGS remains the fallback.
		sub := rows.subsample(len(rows.x) / 50_000)
		subObj := mk(sub)
		if out, ok, _ := maximise(subObj, starts, o); ok {
			starts = append([][]float64{out.theta}, starts...)
			obj.newton = true
			// The per-customer Hessian is an average over rows: the
			// subsample estimates it to ~1/sqrt(50k), enough for Newton
			// steps and for standard errors, at a fraction of the cost.
			obj.hessAt = func(theta []float64) *mat.SymDense {
				g := make([]float64, len(theta))
				subObj.g(g, theta)
				return fdHessian(subObj, theta, g)
			}
		}
	}
	return fitObjective(obj, starts, opt)
}
