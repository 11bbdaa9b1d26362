package btyd

import "math"

// lse2 returns log(exp(a) + exp(b)) and the weight exp(b - lse) of b.
func lse2(a, b float64) (lse, wb float64) {
	if math.IsInf(b, -1) {
		return a, 0
	}
	if math.IsInf(a, -1) {
		return b, 1
	}
	d := b - a
	if d > 0 {
		e := math.Exp(-d)
		return b + math.Log1p(e), 1 / (1 + e)
	}
	e := math.Exp(d)
	return a + math.Log1p(e), e / (1 + e)
}

// invOnePlusExp returns 1/(1+exp(l)) without overflow.
func invOnePlusExp(l float64) float64 {
	if l > 0 {
		e := math.Exp(-l)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(l))
}

// log1mExp returns log(1 - exp(l)) for l ≤ 0. Below -ln 2, 1 - exp(l) is
// in (1/2, 1] and math.Log of it is as good in absolute terms as
// math.Log1p(-exp(l)), and cheaper.
func log1mExp(l float64) float64 {
	if l > -math.Ln2 {
		return math.Log(-math.Expm1(l))
	}
	return math.Log(1 - math.Exp(l))
}

func lgam(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// hyp1FastZ is the largest z for which lnHyp2F1One sums the series of
// 2F1(1, b; c; z) directly (hyp1Series): there the term ratio is below 0.9,
// so at most ~400 terms are needed.
const hyp1FastZ = 0.9

// hyp1Series returns log 2F1(1, b; c; z) for c > b > 0 and 0 ≤ z ≤ hyp1FastZ
// from the Gauss series Σ (b)_n/(c)_n z^n. All terms are positive, so the
// sum is stable, and the term ratio (b+n)/(c+n)·z rises towards z from
// below: the terms after t_n sum to less than t_n·z/(1-z), and the loop
// stops when that bound is below 1e-17 of the sum. It is lnHyp2F1's first
// method without its general bookkeeping (series length estimate, scaling,
// cancellation checks), which the likelihood of Pareto/NBD calls for every
// distinct (x, τ) pair at every evaluation.
func hyp1Series(b, c, z float64) float64 {
	if z == 0 {
		return 0
	}
	// tol·(1+s) bounds the tail relative to the sum 1+s.
	tol := 1e-17 * (1 - z) / z
	s, term := 0.0, 1.0
	for n := 0.0; ; n++ {
		term *= (b + n) / (c + n) * z
		s += term
		if term <= tol*(1+s) {
			break
		}
	}
	// log(1+s) with an absolute error of about an ulp of 1, enough for what
	// the likelihood adds it to (O(1) and larger), and cheaper than
	// math.Log1p (not an assembly routine).
	return math.Log(1 + s)
}

// lnHyp2F1One returns log 2F1(1, b; c; z) for c > b > 0 and 0 ≤ z < 1
// (all series terms positive).
func lnHyp2F1One(b, c, z float64) float64 {
	if c > b && b > 0 && z >= 0 && z <= hyp1FastZ {
		return hyp1Series(b, c, z)
	}
	l, _, ok := lnHyp2F1(1, b, c, z)
	if !ok {
		return math.NaN()
	}
	return l
}

// lnParetoIntegral returns
//
//	log ∫_lo^hi (A+τ)^(-R) (B+τ)^(-(S+1)) dτ
//
// for A, B, R, S > 0 and 0 ≤ lo ≤ hi (-Inf when lo == hi). It uses the
// closed form through 2F1 (Fader, Hardie & Lee 2005, the A0 term of the
// Pareto/NBD likelihood), with the 2F1 argument in [0, 1) and
// Euler-transformed to 2F1(1, ·; ·; z) whose series has positive terms:
//
//	A ≥ B: u^(-m) 2F1(m, S+1; m+1; (A-B)/u) = u^(-m) ((B+τ)/u)^(-S) 2F1(1, R; m+1; ·), u = A+τ
//	A < B: u^(-m) 2F1(m, R; m+1; (B-A)/u) = u^(-m) ((A+τ)/u)^(1-R) 2F1(1, S+1; m+1; ·), u = B+τ
//
// with m = R+S, and the difference of the two antiderivatives taken in log
// space.
func lnParetoIntegral(R, S, A, B, lo, hi float64) float64 {
	if !(hi > lo) {
		return math.Inf(-1)
	}
	return lnParetoIntegralAnti(R, S, A, B, lo, hi, paretoAnti(R, S, A, B, lo), paretoAnti(R, S, A, B, hi))
}

// paretoAnti is the log of the antiderivative of lnParetoIntegral's
// integrand at τ (up to the factor 1/(R+S) applied at the end); it depends on
// (R, τ) and the parameters only, so a likelihood over many customers
// evaluates it once per distinct (x, τ).
func paretoAnti(R, S, A, B, tau float64) float64 {
	m := R + S
	if A >= B {
		u := A + tau
		z := (A - B) / u
		return -m*math.Log(u) - S*math.Log1p((B-A)/u) + lnHyp2F1One(R, m+1, z)
	}
	u := B + tau
	z := (B - A) / u
	return -m*math.Log(u) + (1-R)*math.Log1p((A-B)/u) + lnHyp2F1One(S+1, m+1, z)
}

// lnParetoIntegralAnti is lnParetoIntegral from the antiderivatives l1 at lo
// and l2 at hi (> lo).
func lnParetoIntegralAnti(R, S, A, B, lo, hi, l1, l2 float64) float64 {
	return lnParetoIntegralAntiLogM(R, S, A, B, lo, hi, l1, l2, math.Log(R+S))
}

// lnParetoIntegralAntiLogM is lnParetoIntegralAnti with lm = log(R+S)
// passed in: the likelihood computes it once per distinct x per evaluation.
func lnParetoIntegralAntiLogM(R, S, A, B, lo, hi, l1, l2, lm float64) float64 {
	if !(l2 < l1) {
		// Rounding made the antiderivatives equal: fall back to the
		// midpoint rule, exact to O((hi-lo)^3).
		mid := 0.5 * (lo + hi)
		return math.Log(hi-lo) - R*math.Log(A+mid) - (S+1)*math.Log(B+mid)
	}
	return l1 + log1mExp(l2-l1) - lm
}

// bgExpected returns E[Y(t)] for a customer alive now whose purchase rate is
// Gamma(R, A) (shape, rate) and whose dropout probability after each
// purchase is Beta(a, B) (FHL 2005 eq. 10 without the P(alive) factor):
//
//	(a+B-1)/(a-1) · [1 - (A/(A+t))^R 2F1(R, B; a+B-1; z)],  z = t/(A+t).
//
// The 2F1 is evaluated by lnHyp2F1, which switches to Euler's form
// (1-z)^(a-1-R) 2F1(a+B-1-R, a-1; a+B-1; z) (parameters that do not grow
// with x) or the 1-z transformation when that is what converges. a = 1 is
// handled as a limit.
func bgExpected(t, R, A, a, B float64) float64 {
	return bgExpectedPeak(t, R, A, a, B, hypPeak)
}

// bgExpectedPeak is bgExpected with lnHyp2F1's estimate of the series'
// largest term passed in (tests compare hypPeak with hypPeakClassic).
func bgExpectedPeak(t, R, A, a, B float64, peak func(p, q, c, z float64) float64) float64 {
	if t == 0 {
		return 0
	}
	if math.Abs(a-1) < 1e-7 {
		return 0.5 * (bgExpectedCore(t, R, A, 1+1e-6, B, peak) + bgExpectedCore(t, R, A, 1-1e-6, B, peak))
	}
	return bgExpectedCore(t, R, A, a, B, peak)
}

func bgExpectedCore(t, R, A, a, B float64, peak func(p, q, c, z float64) float64) float64 {
	// G = ((A/(A+t))^R 2F1(R, B; c; z) with c = a+B-1; lnHyp2F1 picks the
	// direct series (positive terms) or Euler's form (1-z)^(a-1-R) ...,
	// whichever converges without cancellation.
	z := t / (A + t)
	l1z := -math.Log1p(t / A) // log(1-z)
	c := a + B - 1
	lf, sf, ok := lnHyp2F1Peak(R, B, c, z, peak)
	if !ok {
		return math.NaN()
	}
	lg := R*l1z + lf
	// E = c/(a-1) · (1 - G); 1-G = -expm1(lg) keeps precision for small t.
	oneMinusG := -math.Expm1(lg)
	if sf < 0 {
		oneMinusG = 1 + math.Exp(lg)
	}
	return c / (a - 1) * oneMinusG
}

// lomaxWait returns the mean and median waiting time to the next event of a
// Poisson process whose rate is Gamma(shape, rate): the waiting time is
// Lomax with survival (rate/(rate+τ))^shape. The mean is +Inf for
// shape ≤ 1.
func lomaxWait(shape, rate float64) (mean, median float64) {
	mean = math.Inf(1)
	if shape > 1 {
		mean = rate / (shape - 1)
	}
	median = rate * math.Expm1(math.Ln2/shape)
	return mean, median
}

// ksum is a Neumaier-compensated sum: s + c is the sum of the added values
// to about an ulp of the result, whatever their magnitudes.
type ksum struct{ s, c float64 }

func (k *ksum) add(v float64) {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
}

func (k ksum) sum() float64 { return k.s + k.c }
