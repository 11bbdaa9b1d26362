package btyd

import "math"

// Gauss hypergeometric function 2F1(a, b; c; z) for 0 ≤ z < 1, in log space.
//
// gonum's mathext.Hypergeo (Cephes) is accurate for moderate parameters but
// near z = 1 it switches to the 1-z transformation, whose psi-series branch
// can loop for a very long time when c-a-b is a large integer (found by
// FuzzExpectedPurchases with x = 1000). The models here therefore use this
// small evaluator, which picks, in order:
//
//  1. the power series when all its terms are positive (a, b, c > 0: no
//     cancellation) and it converges in a bounded number of terms;
//  2. Euler's transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)
//     when that series has positive terms;
//  3. either series with mixed signs when z ≤ 0.9 or c-a-b > 30, rejecting
//     results that lost more than ~6 digits to cancellation;
//  4. the 1-z transformation (Abramowitz & Stegun 15.3.6), with a linear
//     extrapolation in b when c-a-b is within 1e-6 of an integer.
//
// Tests compare it with mathext.Hypergeo inside Cephes' safe region and with
// quadrature.

// hypQuickTerms bounds the series tried before the 1-z transformation;
// hypMaxTerms bounds the last-resort series.
const (
	hypQuickTerms = 20_000
	hypMaxTerms   = 200_000
)

// hypSeries sums the power series of 2F1(a, b; c; z) in scaled linear
// space. It returns log|F|, the sign of F, and ok=false when it did not
// converge in maxTerms or lost more than ~6 digits to cancellation.
func hypSeries(a, b, c, z float64, maxTerms int) (logAbs, sign float64, ok bool) {
	// 2F1(a, b; b; z) = (1-z)^(-a): the 1-z transformation of 2F1(1, b; c; z)
	// produces this case, whose series would need many terms.
	if math.Abs(b-c) <= 1e-13*math.Abs(c) {
		return -a * math.Log1p(-z), 1, true
	}
	if math.Abs(a-c) <= 1e-13*math.Abs(c) {
		return -b * math.Log1p(-z), 1, true
	}
	sum, term := 1.0, 1.0
	maxAbs := 1.0
	scale := 0.0 // log of the factor taken out of sum and term
	for n := 0; n < maxTerms; n++ {
		fn := float64(n)
		den := (c + fn) * (fn + 1)
		if den == 0 {
			return 0, 0, false
		}
		term *= (a + fn) * (b + fn) / den * z
		sum += term
		if at := math.Abs(term); at > maxAbs {
			maxAbs = at
		}
		// Stop when the remaining terms are bounded by a geometric tail:
		// far out the term ratio tends to z, from above or below, so
		// max(next ratio, z) bounds the ratios still to come.
		rn := math.Abs((a + fn + 1) * (b + fn + 1) / ((c + fn + 1) * (fn + 2)) * z)
		rb := math.Max(rn, z)
		if term == 0 || (fn > -c+1 && rb < 1 && math.Abs(term)*rb/(1-rb) < 1e-16*math.Abs(sum)) {
			if sum == 0 || math.Abs(sum) < 1e-6*maxAbs {
				return 0, 0, false
			}
			s := 1.0
			if sum < 0 {
				s = -1
			}
			return scale + math.Log(math.Abs(sum)), s, true
		}
		if maxAbs > 1e250 {
			sum *= 1e-250
			term *= 1e-250
			maxAbs *= 1e-250
			scale += 250 * math.Ln10
		}
	}
	return 0, 0, false
}

// lnHyp2F1 returns log|2F1(a, b; c; z)| and its sign for 0 ≤ z < 1. ok is
// false when no method succeeded (the result is then unusable).
func lnHyp2F1(a, b, c, z float64) (logAbs, sign float64, ok bool) {
	return lnHyp2F1Peak(a, b, c, z, hypPeak)
}

// lnHyp2F1Peak is lnHyp2F1 with the estimate of the series' largest term
// passed in (tests compare hypPeak with hypPeakClassic).
func lnHyp2F1Peak(a, b, c, z float64, peak func(p, q, c, z float64) float64) (logAbs, sign float64, ok bool) {
	if z == 0 {
		return 0, 1, true
	}
	d := c - a - b
	l1z := math.Log1p(-z)
	// Terms of the power series behave like n^(a+b-c-1) z^n for large n, and
	// reach their largest around n ≈ z·max(|a|,|b|)/(1-z).
	// A series whose estimated length exceeds hypQuickTerms is not tried
	// (budget 0): the 1-z transformation is then both faster and accurate.
	budget := func(p, q float64) int {
		n := 200 + 4*peak(p, q, c, z) + 40/(-math.Log(z)+1e-300)
		if n > hypQuickTerms {
			return 0
		}
		return int(n)
	}
	triedOneMinusZ := false
	if z > 0.9 {
		// Near z = 1 the 1-z transformation is usually far cheaper than a
		// long series; short positive series still go first.
		short := func(p, q float64) int {
			if n := budget(p, q); n <= 2000 {
				return n
			}
			return 0
		}
		if a > 0 && b > 0 && c > 0 {
			if l, s, ok := hypSeries(a, b, c, z, short(a, b)); ok {
				return l, s, true
			}
		}
		if c-a > 0 && c-b > 0 && c > 0 {
			if l, s, ok := hypSeries(c-a, c-b, c, z, short(c-a, c-b)); ok {
				return l + d*l1z, s, true
			}
		}
		if l, s, ok := hypOneMinusZ(a, b, c, z); ok {
			return l, s, true
		}
		triedOneMinusZ = true
	}
	// Series with positive terms (no cancellation) first, whatever z.
	if a > 0 && b > 0 && c > 0 {
		if l, s, ok := hypSeries(a, b, c, z, budget(a, b)); ok {
			return l, s, true
		}
	}
	if c-a > 0 && c-b > 0 && c > 0 {
		if l, s, ok := hypSeries(c-a, c-b, c, z, budget(c-a, c-b)); ok {
			return l + d*l1z, s, true
		}
	}
	if z <= 0.9 || d > 30 {
		if l, s, ok := hypSeries(a, b, c, z, budget(a, b)); ok {
			return l, s, true
		}
		if l, s, ok := hypSeries(c-a, c-b, c, z, budget(c-a, c-b)); ok {
			return l + d*l1z, s, true
		}
	}
	if !triedOneMinusZ {
		if l, s, ok := hypOneMinusZ(a, b, c, z); ok {
			return l, s, true
		}
	}
	// Last resort: plain series with the full budget.
	if l, s, ok := hypSeries(a, b, c, z, hypMaxTerms); ok {
		return l, s, true
	}
	if l, s, ok := hypSeries(c-a, c-b, c, z, hypMaxTerms); ok {
		return l + d*l1z, s, true
	}
	return 0, 0, false
}

// hypPeak estimates the index of the largest term of the power series of
// 2F1(p, q; c; z), 0 < z < 1. The classic estimate z·max(|p|,|q|)/(1-z)
// holds when c is small; when c is large too the term ratio
//
//	r(n) = (p+n)(q+n) z / ((c+n)(n+1))
//
// stays below 1 much earlier, so for p, q, c > 0 the estimate is capped by
// the larger root of r(n) = 1, i.e. of
//
//	(1-z) n² + (c+1 - z(p+q)) n + (c - z p q) = 0,
//
// past which the terms only decrease (0 when r(n) < 1 for every n ≥ 0).
// With a ≈ 16,000 and b ≈ 177,000 (BG/NBD fits to histories where most
// events are visits) the classic estimate was ~10⁶ terms and sent every
// customer to the 1-z transformation and the 200,000-term last resort,
// while the series itself converges in a few dozen terms.
func hypPeak(p, q, c, z float64) float64 {
	classic := hypPeakClassic(p, q, c, z)
	if !(p > 0 && q > 0 && c > 0) {
		return classic
	}
	qa := 1 - z
	qb := c + 1 - z*(p+q)
	qc := c - z*p*q
	disc := qb*qb - 4*qa*qc
	root := 0.0
	if disc >= 0 {
		// Larger root, computed without cancellation.
		if qb >= 0 {
			if r1 := (-qb - math.Sqrt(disc)) / (2 * qa); r1 != 0 {
				root = qc / (qa * r1)
			}
		} else {
			root = (-qb + math.Sqrt(disc)) / (2 * qa)
		}
	}
	if root < 0 {
		root = 0
	}
	return math.Min(classic, root)
}

// hypPeakClassic is z·max(|p|,|q|)/(1-z), the estimate used alone before
// hypPeak (kept as the tests' reference).
func hypPeakClassic(p, q, _, z float64) float64 {
	return z * math.Max(math.Abs(p), math.Abs(q)) / (1 - z)
}

// hypOneMinusZ evaluates A&S 15.3.6:
//
//	F(a,b;c;z) = Γ(c)Γ(d)/(Γ(c-a)Γ(c-b)) F(a,b;1-d;w)
//	           + w^d Γ(c)Γ(-d)/(Γ(a)Γ(b)) F(c-a,c-b;1+d;w),  w = 1-z, d = c-a-b,
//
// handling d near an integer by linear extrapolation in b.
func hypOneMinusZ(a, b, c, z float64) (float64, float64, bool) {
	d := c - a - b
	k := math.Round(d)
	if e := d - k; math.Abs(e) < 1e-6 {
		const h = 1e-6
		// d(b') = c - a - b' = k ∓ h at b' = b + e ± h.
		l1, s1, ok1 := hypOneMinusZExact(a, b+e-h, c, z, 1e-12)
		l2, s2, ok2 := hypOneMinusZExact(a, b+e+h, c, z, 1e-12)
		if !ok1 || !ok2 {
			return 0, 0, false
		}
		f1, f2 := s1*math.Exp(l1), s2*math.Exp(l2)
		// value at b+e is the midpoint; step back by e using the slope.
		v := 0.5*(f1+f2) - e*(f2-f1)/(2*h)
		if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, 0, false
		}
		return math.Log(math.Abs(v)), math.Copysign(1, v), true
	}
	return hypOneMinusZExact(a, b, c, z, 1e-6)
}

// hypOneMinusZExact evaluates A&S 15.3.6 for c-a-b away from an integer.
// minKeep is the smallest |sum|/|largest part| accepted: near an integer
// the two parts are ~1/h and cancel by design.
func hypOneMinusZExact(a, b, c, z, minKeep float64) (float64, float64, bool) {
	w := 1 - z
	d := c - a - b
	lgs := func(x float64) (float64, float64) {
		v, s := math.Lgamma(x)
		return v, float64(s)
	}
	gc, sc := lgs(c)
	gd, sd := lgs(d)
	gmd, smd := lgs(-d)
	gca, sca := lgs(c - a)
	gcb, scb := lgs(c - b)
	ga, sa := lgs(a)
	gb, sb := lgs(b)
	var parts [2]float64
	var signs [2]float64
	n := 0
	add := func(pre, ps float64, p, q, r float64) bool {
		if math.IsInf(pre, -1) {
			return true // 1/Γ at a pole: the term vanishes
		}
		l, s, ok := hypSeries(p, q, r, w, hypMaxTerms)
		if !ok {
			return false
		}
		parts[n], signs[n] = pre+l, ps*s
		n++
		return true
	}
	if !add(gc+gd-gca-gcb, sc*sd*sca*scb, a, b, 1-d) {
		return 0, 0, false
	}
	if !add(d*math.Log(w)+gc+gmd-ga-gb, sc*smd*sa*sb, c-a, c-b, 1+d) {
		return 0, 0, false
	}
	switch n {
	case 0:
		return 0, 0, false
	case 1:
		return parts[0], signs[0], true
	}
	// Signed log-sum-exp.
	hi, lo := 0, 1
	if parts[1] > parts[0] {
		hi, lo = 1, 0
	}
	r := signs[lo] * signs[hi] * math.Exp(parts[lo]-parts[hi])
	if r <= -1+minKeep {
		return 0, 0, false // lost too many digits to cancellation
	}
	return parts[hi] + math.Log1p(r), signs[hi], true
}
