package btyd

import (
	"fmt"
	"math"
)

// New returns the count model named model ("bgnbd", "mbgnbd", "paretonbd")
// with the given natural parameters. The error wraps ErrUnknownModel or
// ErrInvalidInput (a missing, non-positive or non-finite parameter).
func New(model string, p map[string]float64) (CountModel, error) {
	var names []string
	switch model {
	case "bgnbd", "mbgnbd":
		names = []string{"r", "alpha", "a", "b"}
	case "paretonbd":
		names = []string{"r", "alpha", "s", "beta"}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownModel, model)
	}
	v := make([]float64, 4)
	for i, n := range names {
		x, ok := p[n]
		if !ok || !(x > 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: %s parameter %s=%v", ErrInvalidInput, model, n, x)
		}
		v[i] = x
	}
	switch model {
	case "bgnbd":
		return BGNBD{R: v[0], Alpha: v[1], A: v[2], B: v[3]}, nil
	case "mbgnbd":
		return MBGNBD{R: v[0], Alpha: v[1], A: v[2], B: v[3]}, nil
	}
	return ParetoNBD{R: v[0], Alpha: v[1], S: v[2], Beta: v[3]}, nil
}

// Z80 is the standard normal quantile of 0.9: ±Z80 standard deviations hold
// 80 % of a normal distribution (the p10–p90 interval).
const Z80 = 1.2815515655446004

// sensEps is the step in log-parameters of the sensitivities.
const sensEps = 1e-4

// Sensitivity propagates the estimation uncertainty of a fit to any
// positive quantity computed from the fitted parameters, by the delta method
// on the log-parameters: with θ the log-parameters, Σ their asymptotic
// covariance (FitResult.LogCov, the inverse Hessian) and g = ∂ log f / ∂θ
// (forward differences, step 1e-4),
//
//	sd(log f) = √(gᵀ Σ g),   p10, p90 = f · exp(∓ Z80 · sd(log f)).
//
// The interval is for the model's expectation f (what the parameters'
// uncertainty allows it to be), not a predictive interval of the customer's
// actual purchases. Log-normal on purpose: f is positive and the likelihood
// is close to quadratic in log-parameters.
type Sensitivity struct {
	// Shifted[j] are the parameters with log-parameter j moved by the step.
	Shifted []map[string]float64
	cov     [][]float64
}

// NewSensitivity prepares the shifted parameter sets of fit. It fails
// (wrapping ErrInvalidInput) when the fit has no covariance (fitted with
// SkipStdErr, or a singular Hessian).
func NewSensitivity(fit FitResult) (*Sensitivity, error) {
	if len(fit.LogCov) == 0 || len(fit.LogCov) != len(fit.LogParams) {
		return nil, fmt.Errorf("%w: %s fit has no parameter covariance (singular Hessian or standard errors skipped)", ErrInvalidInput, fit.Model)
	}
	s := &Sensitivity{cov: fit.LogCov}
	for _, n := range fit.LogParams {
		p := make(map[string]float64, len(fit.Params))
		for k, v := range fit.Params {
			p[k] = v
		}
		p[n] *= math.Exp(sensEps)
		s.Shifted = append(s.Shifted, p)
	}
	return s, nil
}

// LogSD returns sd(log f) from f0 = f at the fit and fj[j] = f at
// Shifted[j]. It is 0 when f0 is 0 and NaN when a value is not positive
// and finite otherwise.
func (s *Sensitivity) LogSD(f0 float64, fj []float64) float64 {
	if f0 == 0 {
		return 0
	}
	if !(f0 > 0) || math.IsInf(f0, 0) || len(fj) != len(s.cov) {
		return math.NaN()
	}
	g := make([]float64, len(fj))
	l0 := math.Log(f0)
	for j, v := range fj {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.NaN()
		}
		g[j] = (math.Log(v) - l0) / sensEps
	}
	var q float64
	for i := range g {
		for j := range g {
			q += g[i] * s.cov[i][j] * g[j]
		}
	}
	return math.Sqrt(math.Max(q, 0))
}

// Interval80 returns f · exp(∓ Z80 · sd): the p10 and p90 of a log-normal
// with median f and log standard deviation sd.
func Interval80(f, sd float64) (p10, p90 float64) {
	if math.IsNaN(sd) || math.IsNaN(f) {
		return math.NaN(), math.NaN()
	}
	return f * math.Exp(-Z80*sd), f * math.Exp(Z80*sd)
}
