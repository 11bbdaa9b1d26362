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

type ggData struct {
	x, lz, xz, w []float64 // x, ln zbar, x·zbar, weight
	W            float64
}

func ggRows(x, zbar []float64) (*ggData, error) {
	if len(x) != len(zbar) {
		return nil, fmt.Errorf("%w: len(x)=%d, len(zbar)=%d", ErrInvalidInput, len(x), len(zbar))
	}
	type key struct{ x, z float64 }
	idx := map[key]int{}
	d := &ggData{}
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
		k := key{x[i], zbar[i]}
		j, ok := idx[k]
		if !ok {
			j = len(d.x)
			idx[k] = j
			d.x = append(d.x, x[i])
			d.lz = append(d.lz, math.Log(zbar[i]))
			d.xz = append(d.xz, x[i]*zbar[i])
			d.w = append(d.w, 0)
		}
		d.w[j]++
		d.W++
	}
	if d.W == 0 {
		return nil, fmt.Errorf("%w: no customer with x > 0", ErrInvalidInput)
	}
	return d, nil
}

func (d *ggData) eval(grad, theta []float64) float64 {
	p, q, g := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2])
	for _, v := range [...]float64{p, q, g} {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.Inf(1)
		}
	}
	lg := math.Log(g)
	lgq := lgam(q)
	var ll, dp, dq, dg float64
	psq := 0.0
	if grad != nil {
		psq = mathext.Digamma(q)
	}
	for i, x := range d.x {
		w := d.w[i]
		px := p * x
		lgx := math.Log(g + d.xz[i])
		ll += w * (lgam(px+q) - lgam(px) - lgq + q*lg + (px-1)*d.lz[i] + px*math.Log(x) - (px+q)*lgx)
		if grad != nil {
			ps := mathext.Digamma(px + q)
			dp += w * x * (ps - mathext.Digamma(px) + d.lz[i] + math.Log(x) - lgx)
			dq += w * (ps - psq + lg - lgx)
			dg += w * (q/g - (px+q)/(g+d.xz[i]))
		}
	}
	if grad != nil {
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
