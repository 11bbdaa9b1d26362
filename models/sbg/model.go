package sbg

import (
	"errors"
	"math"
)

// Sentinel errors; returned errors wrap one of them.
var (
	// ErrInvalidInput: the data cannot be fitted (negative or non-finite
	// counts, nobody observed, no churn event).
	ErrInvalidInput = errors.New("sbg: invalid input")
	// ErrNotConverged: no start point reached the gradient tolerance.
	ErrNotConverged = errors.New("sbg: fit did not converge")
	// ErrUnknownModel: a model name other than sbg or bdw.
	ErrUnknownModel = errors.New("sbg: unknown model")
)

// Model is a fitted retention model: a survival function over renewal
// periods. Every quantity of the package follows from LogSurvival.
type Model interface {
	// Name is "sbg" or "bdw".
	Name() string
	// LogSurvival is log S(t) = log P(T > t) for t ≥ 0 (log S(0) = 0); NaN
	// for t < 0.
	LogSurvival(t int) float64
	// Params returns the parameters by name (alpha, beta and for the BdW c).
	Params() map[string]float64
}

// SBG is the shifted-beta-geometric model: churn probability θ ~ Beta(Alpha, Beta).
type SBG struct{ Alpha, Beta float64 }

// Name returns "sbg".
func (SBG) Name() string { return "sbg" }

// Params returns alpha and beta.
func (m SBG) Params() map[string]float64 { return map[string]float64{"alpha": m.Alpha, "beta": m.Beta} }

// LogSurvival is log B(α, β+t) − log B(α, β).
func (m SBG) LogSurvival(t int) float64 {
	if t < 0 {
		return math.NaN()
	}
	if t == 0 {
		return 0
	}
	return lbeta(m.Alpha, m.Beta+float64(t)) - lbeta(m.Alpha, m.Beta)
}

// LogPChurn is log P(T = t) = log B(α+1, β+t−1) − log B(α, β), t ≥ 1.
func (m SBG) LogPChurn(t int) float64 {
	if t < 1 {
		return math.NaN()
	}
	return lbeta(m.Alpha+1, m.Beta+float64(t)-1) - lbeta(m.Alpha, m.Beta)
}

// PRenewNext is (β+n)/(α+β+n), the probability that a customer who has made
// n renewals renews at the next opportunity.
func (m SBG) PRenewNext(n int) float64 {
	if n < 0 {
		return math.NaN()
	}
	return (m.Beta + float64(n)) / (m.Alpha + m.Beta + float64(n))
}

// DERL is the discounted expected residual lifetime in periods of a
// customer who has made n renewals, at discount rate d > 0 per period
// (Fader & Hardie 2010, eq. 6): the series
// (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)) summed term by term with
// the ratio recurrence of the sBG.
func (m SBG) DERL(d float64, n int) float64 {
	if n < 0 || !(d > 0) || math.IsInf(d, 0) {
		return math.NaN()
	}
	z := 1 / (1 + d)
	term := m.PRenewNext(n)
	sum := 0.0
	for k := 0; k < maxTerms; k++ {
		sum += term
		// The tail after this term is below term·z/(1−z) since S decreases.
		if term*z/(1-z) <= 1e-13*sum {
			break
		}
		term *= z * (m.Beta + float64(n+1+k)) / (m.Alpha + m.Beta + float64(n+1+k))
	}
	return sum
}

// BdW is the beta-discrete-Weibull model: individual survival (1−θ)^(t^C)
// with θ ~ Beta(Alpha, Beta). C = 1 is the sBG.
type BdW struct{ Alpha, Beta, C float64 }

// Name returns "bdw".
func (BdW) Name() string { return "bdw" }

// Params returns alpha, beta and c.
func (m BdW) Params() map[string]float64 {
	return map[string]float64{"alpha": m.Alpha, "beta": m.Beta, "c": m.C}
}

// LogSurvival is log B(α, β+t^c) − log B(α, β).
func (m BdW) LogSurvival(t int) float64 {
	if t < 0 {
		return math.NaN()
	}
	if t == 0 {
		return 0
	}
	return lbeta(m.Alpha, m.Beta+math.Pow(float64(t), m.C)) - lbeta(m.Alpha, m.Beta)
}

// maxTerms bounds the DERL series (d = 0.001 per period needs about 35,000).
const maxTerms = 1 << 20

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// LogPChurn is log P(T = t) = log(S(t−1) − S(t)) for t ≥ 1, in log space.
func LogPChurn(m Model, t int) float64 {
	if t < 1 {
		return math.NaN()
	}
	if s, ok := m.(SBG); ok {
		return s.LogPChurn(t)
	}
	a, b := m.LogSurvival(t-1), m.LogSurvival(t)
	return a + math.Log(-math.Expm1(b-a))
}

// Survival is S(t) = P(T > t), the share of a cohort still subscribed after
// t renewal opportunities.
func Survival(m Model, t int) float64 { return math.Exp(m.LogSurvival(t)) }

// Retention is the retention rate r(t) = S(t)/S(t−1) for t ≥ 1: the share
// of the customers active in period t who renew into period t+1.
func Retention(m Model, t int) float64 {
	if t < 1 {
		return math.NaN()
	}
	return math.Exp(m.LogSurvival(t) - m.LogSurvival(t-1))
}

// PRenewNext is P(T > n+1 | T > n) = S(n+1)/S(n): the probability that a
// customer who has made n renewals renews at the next opportunity.
func PRenewNext(m Model, n int) float64 {
	if s, ok := m.(SBG); ok {
		return s.PRenewNext(n)
	}
	return Retention(m, n+1)
}

// DERL is the discounted expected residual lifetime, in periods, of a
// customer who has made n renewals, at discount rate d > 0 per period:
// Σ_{k≥0} S(n+1+k)/S(n)·(1+d)^−k. NaN for n < 0 or d ≤ 0.
func DERL(m Model, d float64, n int) float64 {
	if s, ok := m.(SBG); ok {
		return s.DERL(d, n)
	}
	if n < 0 || !(d > 0) || math.IsInf(d, 0) {
		return math.NaN()
	}
	z := 1 / (1 + d)
	lz := math.Log(z)
	l0 := m.LogSurvival(n)
	sum := 0.0
	for k := 0; k < maxTerms; k++ {
		term := math.Exp(m.LogSurvival(n+1+k) - l0 + float64(k)*lz)
		sum += term
		if term*z/(1-z) <= 1e-13*sum || term == 0 {
			break
		}
	}
	return sum
}

// ResidualCLV is margin · DERL(d | n): the discounted value of the future
// renewals of a customer who has made n renewals and pays margin per period
// at each renewal.
func ResidualCLV(m Model, margin, d float64, n int) float64 {
	return margin * DERL(m, d, n)
}

// ProjectSurvivors returns the expected number of a cohort of n0 customers
// still subscribed at the start of periods 0..periods: n0·S(t).
func ProjectSurvivors(m Model, n0 float64, periods int) []float64 {
	out := make([]float64, periods+1)
	for t := range out {
		out[t] = n0 * Survival(m, t)
	}
	return out
}
