package btyd

import "math"

// MBGNBD is a fitted MBG/NBD model (Batislam, Denizel & Filiztekin 2007;
// the parameterisation of the R package BTYDplus): as BG/NBD, but the
// dropout coin p ~ Beta(A, B) is tossed after every purchase including the
// first, so a customer without repeat purchases may be dead.
type MBGNBD struct {
	R, Alpha, A, B float64
}

// Name returns "mbgnbd".
func (MBGNBD) Name() string { return "mbgnbd" }

// Params returns the parameters keyed r, alpha, a, b.
func (m MBGNBD) Params() map[string]float64 {
	return map[string]float64{"r": m.R, "alpha": m.Alpha, "a": m.A, "b": m.B}
}

// PAlive is 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)) (Batislam et al.
// 2007), also for x = 0.
func (m MBGNBD) PAlive(x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil {
		return math.NaN()
	}
	lr := math.Log(m.A) - math.Log(m.B+x) + (m.R+x)*math.Log1p((T-tx)/(m.Alpha+tx))
	return invOnePlusExp(lr)
}

// ExpectedPurchases is E[Y(t) | x, t_x, T]: given alive, the rate is
// Gamma(r+x, α+T) and p is Beta(a, b+x+1), so
//
//	P(alive) · (a+b+x)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))].
func (m MBGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil || !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	return m.PAlive(x, tx, T) * bgExpected(t, m.R+x, m.Alpha+T, m.A, m.B+x+1)
}

// ProbNoPurchase is 1 - P(alive) · [1 - ((α+T)/(α+T+t))^(r+x)]. With
// x = t_x = T = 0 it is the unconditional P(X(t) = 0) of a new customer,
// a/(a+b) + b/(a+b) · (α/(α+t))^r.
func (m MBGNBD) ProbNoPurchase(t, x, tx, T float64) float64 {
	if checkRow(x, tx, T) != nil || !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	pa := m.PAlive(x, tx, T)
	buy := -math.Expm1(-(m.R + x) * math.Log1p(t/(m.Alpha+T)))
	return clamp01(1 - pa*buy)
}

// ExpectedNew is E[X(t)] = b/(a-1) · [1 - (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))].
func (m MBGNBD) ExpectedNew(t float64) float64 {
	if !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN()
	}
	return m.B / (m.A + m.B) * bgExpected(t, m.R, m.Alpha, m.A, m.B+1)
}

// NextPurchaseTime is as BGNBD.NextPurchaseTime (exact for MBG/NBD too).
func (m MBGNBD) NextPurchaseTime(x, tx, T, minPAlive float64) (mean, median float64, ok bool) {
	pa := m.PAlive(x, tx, T)
	if !(pa >= minPAlive) {
		return 0, 0, false
	}
	mean, median = lomaxWait(m.R+x, m.Alpha+T)
	return mean, median, true
}

// LogLik returns the MBG/NBD log-likelihood of d:
//
//	ln L = ln[Γ(r+x) α^r / Γ(r)] + ln[B(a, b+x+1)/B(a, b)]
//	       + ln[(α+T)^-(r+x) + a/(b+x) (α+t_x)^-(r+x)].
func (m MBGNBD) LogLik(d Data) float64 {
	if d.Validate() != nil {
		return math.NaN()
	}
	rows := newBGRows(Compress(d), true)
	f := rows.eval(nil, []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, 1)
	return -f * rows.W
}

// FitMBGNBD estimates MBG/NBD by maximum likelihood (analytic gradient).
func FitMBGNBD(d Data, opt FitOptions) (MBGNBD, FitResult, error) {
	p, res, err := fitBGFamily("mbgnbd", d, opt, true)
	if err != nil {
		return MBGNBD{}, res, err
	}
	return MBGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, res, nil
}
