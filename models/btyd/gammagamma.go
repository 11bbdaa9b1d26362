package btyd

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma is a fitted Gamma-Gamma spend model (Fader & Hardie 2013,
// note 025; Colombo & Jiang 1999): the mean spend zbar of a customer's x
// repeat transactions is Gamma(P·x, ν·x) given the customer's ν, and
// ν ~ Gamma(Q, Gamma). Spend is in the currency of the data.
type GammaGamma struct {
	P, Q, Gamma float64
}

// Params returns the parameters keyed p, q, gamma.
func (g GammaGamma) Params() map[string]float64 {
	return map[string]float64{"p": g.P, "q": g.Q, "gamma": g.Gamma}
}

// MeanSpend is the population mean spend per transaction, p·γ/(q-1). The
// error wraps ErrInvalidInput when q ≤ 1 (the mean is infinite).
func (g GammaGamma) MeanSpend() (float64, error) {
	if !(g.Q > 1) {
		return 0, fmt.Errorf("%w: gamma-gamma q=%v ≤ 1: expected spend is infinite", ErrInvalidInput, g.Q)
	}
	return g.P * g.Gamma / (g.Q - 1), nil
}

// ExpectedSpend is E[M | x, zbar] = p(γ + x·zbar)/(p·x + q - 1) (note 025,
// eq. 5), a weighted mean of the population mean p·γ/(q-1) and zbar. Use
// x = 0 (zbar ignored) for a customer without repeat purchases. The error
// wraps ErrInvalidInput when q ≤ 1, x < 0, or x > 0 and zbar is not a
// positive finite number.
func (g GammaGamma) ExpectedSpend(x, zbar float64) (float64, error) {
	if !(g.Q > 1) {
		return 0, fmt.Errorf("%w: gamma-gamma q=%v ≤ 1: expected spend is infinite", ErrInvalidInput, g.Q)
	}
	if !(x >= 0) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%w: x=%v", ErrInvalidInput, x)
	}
	if x == 0 {
		zbar = 0
	} else if !(zbar > 0) || math.IsInf(zbar, 0) {
		return 0, fmt.Errorf("%w: monetary value %v must be positive and finite", ErrInvalidInput, zbar)
	}
	return g.P * (g.Gamma + x*zbar) / (g.P*x + g.Q - 1), nil
}

// LogLik is the Gamma-Gamma log-likelihood of the (x, zbar) pairs with
// x > 0 (note 025, eq. 3):
//
//	ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln γ + (px-1) ln zbar + px ln x - (px+q) ln(γ + x zbar).
func (g GammaGamma) LogLik(x, zbar []float64) (float64, error) {
	rows, err := ggRows(x, zbar)
	if err != nil {
		return math.NaN(), err
	}
	return -rows.eval(nil, []float64{math.Log(g.P), math.Log(g.Q), math.Log(g.Gamma)}) * rows.W, nil
}

// ggData are the Gamma-Gamma likelihood rows: distinct (x, z̄) with their
// counts. The terms that depend on x alone (ln Γ(px+q) - ln Γ(px), and the
// digammas of the gradient) are computed once per distinct x per
// evaluation, and those that do not depend on the parameters are summed
// once: a row then costs one Log per evaluation (ln(γ + x z̄)).
type ggData struct {
	x, xz, w []float64 // x, x·z̄, weight
	W        float64
	// The distinct x (gx) with their weights (gw).
	gx, gw []float64
	// Σ w·x·ln z̄, Σ w·ln z̄ and Σ w·x·ln x over the rows.
	sxlz, slz, sxlx float64
	workers         int // goroutines of eval (≤ 1: the caller's)
}

func ggRows(x, zbar []float64) (*ggData, error) {
	if len(x) != len(zbar) {
		return nil, fmt.Errorf("%w: len(x)=%d, len(zbar)=%d", ErrInvalidInput, len(x), len(zbar))
	}
	idx := map[[2]uint64]int{}
	gi := map[float64]int{}
	d := &ggData{}
	var sxlz, slz, sxlx ksum
	for i := range x {
		if !(x[i] >= 0) || math.IsInf(x[i], 0) {
			return nil, fmt.Errorf("%w: x=%v (row %d)", ErrInvalidInput, x[i], i)
		}
		if x[i] == 0 {
			continue
		}
		if !(zbar[i] > 0) || math.IsInf(zbar[i], 0) {
			return nil, fmt.Errorf("%w: monetary value %v (row %d) must be positive and finite", ErrInvalidInput, zbar[i], i)
		}
		k := [2]uint64{math.Float64bits(x[i]), math.Float64bits(zbar[i])}
		j, ok := idx[k]
		if !ok {
			j = len(d.x)
			idx[k] = j
			d.x = append(d.x, x[i])
			d.xz = append(d.xz, x[i]*zbar[i])
			d.w = append(d.w, 0)
		}
		d.w[j]++
		d.W++
		g, ok := gi[x[i]]
		if !ok {
			g = len(d.gx)
			gi[x[i]] = g
			d.gx = append(d.gx, x[i])
			d.gw = append(d.gw, 0)
		}
		d.gw[g]++
		lz, lx := math.Log(zbar[i]), math.Log(x[i])
		sxlz.add(x[i] * lz)
		slz.add(lz)
		sxlx.add(x[i] * lx)
	}
	d.sxlz, d.slz, d.sxlx = sxlz.sum(), slz.sum(), sxlx.sum()
	if d.W == 0 {
		return nil, fmt.Errorf("%w: no customer with x > 0", ErrInvalidInput)
	}
	return d, nil
}

// eval returns the mean negative log-likelihood at θ = log(p, q, γ) and,
// when grad is non-nil, its gradient:
//
//	ln L = Σ_x W_x [ln Γ(px+q) - ln Γ(px)] - W ln Γ(q) + W q ln γ
//	       + p Σ w x ln z̄ - Σ w ln z̄ + p Σ w x ln x - Σ w (px+q) ln(γ + x z̄),
//
// the sum over customers of FHL's per-customer term, grouped.
func (d *ggData) eval(grad, theta []float64) float64 {
	p, q, g := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2])
	for _, v := range [...]float64{p, q, g} {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.Inf(1)
		}
	}
	lg := math.Log(g)
	// The rows: A = Σ w x ln(γ+xz̄), B = Σ w ln(γ+xz̄), C = Σ w (px+q)/(γ+xz̄),
	// in chunks on d.workers goroutines (one chunk below 32,768 rows),
	// summed in chunk order: deterministic for a given worker count, like
	// the BG/NBD pass.
	k := 2
	if grad != nil {
		k = 3
	}
	// A and B are large (~W·x̄·ln(γ+x z̄)) and mostly cancel against the
	// other sums, so they are summed with Neumaier's compensation (each
	// accumulator's sum and compensation kept apart, added at the end).
	acc := parallelSum(len(d.x), d.workers, 2*k, func(lo, hi int, acc []float64) {
		var a, b, c ksum
		for i := lo; i < hi; i++ {
			x, w := d.x[i], d.w[i]
			lgx := math.Log(g + d.xz[i])
			a.add(w * x * lgx)
			b.add(w * lgx)
			if grad != nil {
				c.add(w * (p*x + q) / (g + d.xz[i]))
			}
		}
		acc[0], acc[1] = acc[0]+a.s, acc[1]+a.c
		acc[2], acc[3] = acc[2]+b.s, acc[3]+b.c
		if grad != nil {
			acc[4], acc[5] = acc[4]+c.s, acc[5]+c.c
		}
	})
	A, B := acc[0]+acc[1], acc[2]+acc[3]
	var gl, gpx, gpq float64 // Σ_x W_x [lnΓ(px+q) - lnΓ(px)], Σ W_x x [ψ(px+q) - ψ(px)], Σ W_x ψ(px+q)
	for j, x := range d.gx {
		w, px := d.gw[j], p*x
		gl += w * (lgam(px+q) - lgam(px))
		if grad != nil {
			ps := mathext.Digamma(px + q)
			gpx += w * x * (ps - mathext.Digamma(px))
			gpq += w * ps
		}
	}
	ll := gl - d.W*lgam(q) + d.W*q*lg + p*d.sxlz - d.slz + p*d.sxlx - (p*A + q*B)
	if grad != nil {
		dp := gpx + d.sxlz + d.sxlx - A
		dq := gpq - d.W*mathext.Digamma(q) + d.W*lg - B
		dg := d.W*q/g - (acc[4] + acc[5])
		grad[0] = -dp * p / d.W
		grad[1] = -dq * q / d.W
		grad[2] = -dg * g / d.W
	}
	f := -ll / d.W
	if math.IsNaN(f) {
		return math.Inf(1)
	}
	return f
}

// FitGammaGamma estimates the Gamma-Gamma spend model from the number of
// repeat transactions x and their mean value zbar per customer. Rows with
// x = 0 carry no spend information and are skipped; any row with x > 0 and
// zbar ≤ 0 or non-finite is refused with an error wrapping ErrInvalidInput.
// The fit itself may give q ≤ 1, in which case ExpectedSpend refuses.
func FitGammaGamma(x, zbar []float64, opt FitOptions) (GammaGamma, FitResult, error) {
	d, err := ggRows(x, zbar)
	if err != nil {
		return GammaGamma{}, FitResult{Model: "gammagamma"}, err
	}
	d.workers = opt.withDefaults().Workers
	obj := &objective{
		model: "gammagamma", names: []string{"p", "q", "gamma"}, weight: d.W, customers: int(d.W),
		f: func(theta []float64) float64 { return d.eval(nil, theta) },
		g: func(grad, theta []float64) float64 { return d.eval(grad, theta) },
	}
	ls := func(v ...float64) []float64 {
		for i := range v {
			v[i] = math.Log(v[i])
		}
		return v
	}
	p, res, err := fitObjective(obj, [][]float64{ls(1, 1, 1), ls(5, 3, 10), ls(0.5, 5, 50)}, opt)
	if err != nil {
		return GammaGamma{}, res, err
	}
	return GammaGamma{P: p[0], Q: p[1], Gamma: p[2]}, res, nil
}
