package sbg

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// simulate draws n subscribers with θ ~ Beta(alpha, beta) and individual
// survival (1−θ)^(t^c) (c = 1: sBG), who joined at a period uniform in
// 0..horizon−1 and are observed until period horizon: each is cancelled
// with a known lifetime or censored at the as-of day.
func simulate(seed uint64, n int, alpha, beta, c float64, horizon int) []Subscription {
	rng := rand.New(rand.NewPCG(seed, 7))
	th := distuv.Beta{Alpha: alpha, Beta: beta, Src: rng}
	subs := make([]Subscription, n)
	for i := range subs {
		theta := th.Rand()
		window := 1 + rng.IntN(horizon) // renewal opportunities the as-of day allows
		// T > t with probability (1−θ)^(t^c): the first t where a uniform
		// exceeds the conditional survival S(t)/S(t−1).
		s := Subscription{Renewals: window}
		for t := 1; t <= window; t++ {
			cond := math.Pow(1-theta, math.Pow(float64(t), c)-math.Pow(float64(t-1), c))
			if rng.Float64() >= cond {
				s = Subscription{Renewals: t - 1, Cancelled: true}
				break
			}
		}
		subs[i] = s
	}
	return subs
}

// TestRecoverSBGFromSubscriptions fits individual, censored subscriptions
// simulated with known parameters and requires the truth inside 3 standard
// errors (and within 10 %) for three parameter sets.
func TestRecoverSBGFromSubscriptions(t *testing.T) {
	cases := []struct{ alpha, beta float64 }{
		{0.704, 1.182}, // FH 2007 regular
		{0.668, 3.806}, // FH 2007 high end
		{2.0, 8.0},     // homogeneous-ish, high retention
	}
	for i, tc := range cases {
		subs := simulate(uint64(100+i), 20000, tc.alpha, tc.beta, 1, 12)
		d, err := FromSubscriptions(subs)
		require.NoError(t, err)
		m, r, err := FitSBG(d, FitOptions{})
		require.NoError(t, err)
		assert.Equal(t, 20000.0, r.Customers)
		for name, want := range map[string]float64{"alpha": tc.alpha, "beta": tc.beta} {
			got := r.Params[name]
			se := r.StdErr[name]
			require.Positive(t, se, name)
			assert.InDelta(t, want, got, 3*se, "%s: fitted %.4f ± %.4f", name, got, se)
			assert.InEpsilon(t, want, got, 0.10, name)
		}
		assert.Greater(t, PRenewNext(m, 5), PRenewNext(m, 0), "sBG retention rises with tenure")
	}
}

// TestRecoverBdW: data simulated with duration dependence c = 0.5 recover c
// within 3 standard errors; on sBG data (c = 1) the BdW's c is within 3
// standard errors of 1.
func TestRecoverBdW(t *testing.T) {
	for i, c := range []float64{0.5, 1} {
		subs := simulate(uint64(10+i), 20000, 1.2, 2.5, c, 12)
		d, err := FromSubscriptions(subs)
		require.NoError(t, err)
		_, r, err := FitBdW(d, FitOptions{})
		require.NoError(t, err)
		require.Positive(t, r.StdErr["c"])
		assert.InDelta(t, c, r.Params["c"], 3*r.StdErr["c"], "c = %.3f ± %.3f", r.Params["c"], r.StdErr["c"])
		assert.InDelta(t, 1.2, r.Params["alpha"], 3*r.StdErr["alpha"])
		assert.InDelta(t, 2.5, r.Params["beta"], 3*r.StdErr["beta"])
	}
}

// TestSelectByHoldout: calibration on periods 1..6 and holdout 7..12 of a
// cohort simulated with c = 0.5 choose the BdW; a cohort simulated from the
// sBG keeps the sBG or chooses a BdW whose c is near 1 (both predict the
// holdout alike).
func TestSelectByHoldout(t *testing.T) {
	// Survivor counts from individual lifetimes, drawn once per customer.
	counts := func(seed uint64, c float64) []float64 {
		rng := rand.New(rand.NewPCG(seed, 3))
		th := distuv.Beta{Alpha: 1.2, Beta: 2.5, Src: rng}
		surv := make([]float64, 13)
		for range 5000 {
			theta := th.Rand()
			u := rng.Float64()
			for t := 0; t <= 12; t++ {
				if math.Pow(1-theta, math.Pow(float64(t), c)) <= u {
					break
				}
				surv[t]++
			}
		}
		return surv
	}
	for _, tc := range []struct {
		c    float64
		want string
	}{{0.5, "bdw"}, {1.6, "bdw"}} {
		surv := counts(99, tc.c)
		cal, err := FromSurvival(surv, 6)
		require.NoError(t, err)
		hold, err := Holdout(surv, 6, 12)
		require.NoError(t, err)
		s, err := Select(cal, hold, FitOptions{})
		require.NoError(t, err)
		assert.Equal(t, tc.want, s.Chosen, "c = %v: holdout LL sBG %.2f BdW %.2f", tc.c, s.Holdout[0], s.Holdout[1])
	}
}
