package sbg

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
)

// readSurvival reads ../shared/data/sbg/sbg_survival.csv: year, regular, high_end.
func readSurvival(t *testing.T) map[string][]float64 {
	t.Helper()
	path := testenv.SharedData(t, "sbg/sbg_survival.csv")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"year", "regular", "high_end"}, recs[0], filepath.Base(path))
	out := map[string][]float64{}
	for i, r := range recs[1:] {
		y, err := strconv.Atoi(r[0])
		require.NoError(t, err)
		require.Equal(t, i, y, "years in order")
		for j, name := range []string{"regular", "high_end"} {
			v, err := strconv.ParseFloat(r[j+1], 64)
			require.NoError(t, err)
			out[name] = append(out[name], v)
		}
	}
	return out
}

// TestPublishedFits reproduces Fader & Hardie (2007) as re-computed in
// ../shared/data/sbg/README.md: the sBG fitted on years 0..7 of both cohorts
// (α, β, LL within 0.1 %) and the projected survivors of years 8..12 (within
// 1 customer of the README's projections).
func TestPublishedFits(t *testing.T) {
	surv := readSurvival(t)
	cases := []struct {
		cohort         string
		alpha, beta    float64
		loglik         float64
		projected8to12 []float64
	}{
		// ../shared/data/sbg/README.md table and "Projected survivors" line.
		{"regular", 0.704, 1.182, -1680.27, []float64{220, 204, 191, 180, 170}},
		{"high_end", 0.668, 3.806, -1611.16, []float64{460, 436, 414, 395, 378}},
	}
	for _, tc := range cases {
		t.Run(tc.cohort, func(t *testing.T) {
			d, err := FromSurvival(surv[tc.cohort], 7)
			require.NoError(t, err)
			m, r, err := FitSBG(d, FitOptions{})
			require.NoError(t, err)
			assert.True(t, r.Converged)
			assert.InEpsilon(t, tc.alpha, m.Alpha, 1e-3)
			assert.InEpsilon(t, tc.beta, m.Beta, 1e-3)
			assert.InEpsilon(t, tc.loglik, r.LogLik, 1e-3)
			assert.Equal(t, 1000.0, r.Customers)
			assert.Equal(t, 7, r.Periods)
			assert.Contains(t, r.StdErr, "alpha")
			assert.Contains(t, r.StdErr, "beta")
			proj := ProjectSurvivors(m, 1000, 12)
			for k, want := range tc.projected8to12 {
				assert.InDelta(t, want, proj[8+k], 1, "year %d", 8+k)
			}
		})
	}
}

// TestGradient compares the analytic sBG gradient with central differences
// on data with churn, censoring and left truncation.
func TestGradient(t *testing.T) {
	d := Data{{To: 1, Churned: true, Weight: 30}, {To: 3, Churned: true, Weight: 10}, {To: 4, Weight: 50},
		{From: 2, To: 5, Churned: true, Weight: 7}, {From: 1, To: 6, Weight: 9}}
	for _, p := range [][2]float64{{0.7, 1.2}, {3, 0.4}, {0.05, 20}} {
		ga, gb := sbgGrad(p[0], p[1], d)
		const h = 1e-6
		ll := func(a, b float64) float64 { return LogLik(SBG{a, b}, d) }
		na := (ll(p[0]+h, p[1]) - ll(p[0]-h, p[1])) / (2 * h)
		nb := (ll(p[0], p[1]+h) - ll(p[0], p[1]-h)) / (2 * h)
		assert.InEpsilon(t, na, ga, 1e-5, "%v", p)
		assert.InEpsilon(t, nb, gb, 1e-5, "%v", p)
	}
}

// TestDefinitions checks the closed forms against the definitions: P(T = t)
// sums with S(t) to 1, S(t) = S(t−1) − P(T = t), the sBG retention rate is
// (β+t−1)/(α+β+t−1), and the BdW with c = 1 is the sBG.
func TestDefinitions(t *testing.T) {
	m := SBG{0.704, 1.182}
	b := BdW{0.704, 1.182, 1}
	sum := 0.0
	for tt := 1; tt <= 40; tt++ {
		p := math.Exp(m.LogPChurn(tt))
		sum += p
		assert.InDelta(t, Survival(m, tt-1)-p, Survival(m, tt), 1e-12)
		assert.InDelta(t, (m.Beta+float64(tt-1))/(m.Alpha+m.Beta+float64(tt-1)), Retention(m, tt), 1e-12)
		assert.InDelta(t, m.LogSurvival(tt), b.LogSurvival(tt), 1e-12)
		assert.InDelta(t, m.LogPChurn(tt), LogPChurn(b, tt), 1e-9)
		assert.InDelta(t, m.PRenewNext(tt), PRenewNext(b, tt), 1e-12)
	}
	assert.InDelta(t, 1, sum+Survival(m, 40), 1e-12)
	assert.True(t, math.IsNaN(m.LogSurvival(-1)))
	assert.True(t, math.IsNaN(m.DERL(0, 3)), "d = 0 is outside the domain")
	assert.True(t, math.IsNaN(DERL(b, -0.1, 3)))
}

// TestDERL checks the DERL series against gonum's hypergeometric function
// (Fader & Hardie 2010, eq. 6) and against the brute-force sum of the
// survival function, for the sBG and (brute force) the BdW.
func TestDERL(t *testing.T) {
	cases := []struct {
		a, b, d float64
		n       int
	}{
		{0.704, 1.182, 0.10, 0}, {0.704, 1.182, 0.10, 4}, {0.668, 3.806, 0.10, 2},
		{2.5, 0.8, 0.01, 10}, {0.3, 5, 0.2, 0},
	}
	for _, tc := range cases {
		m := SBG{tc.a, tc.b}
		z := 1 / (1 + tc.d)
		n := float64(tc.n)
		want := (tc.b + n) / (tc.a + tc.b + n) * hyp2f1(1, tc.b+n+1, tc.a+tc.b+n+1, z)
		assert.InEpsilon(t, want, m.DERL(tc.d, tc.n), 1e-9, "%+v", tc)
		assert.InEpsilon(t, m.DERL(tc.d, tc.n), DERL(BdW{tc.a, tc.b, 1}, tc.d, tc.n), 1e-9, "BdW c=1 %+v", tc)
		// brute force
		bf := 0.0
		for k := 0; k < 20000; k++ {
			bf += math.Exp(m.LogSurvival(tc.n+1+k)-m.LogSurvival(tc.n)) * math.Pow(z, float64(k))
		}
		assert.InEpsilon(t, bf, m.DERL(tc.d, tc.n), 1e-9)
		assert.InEpsilon(t, 25*bf, ResidualCLV(m, 25, tc.d, tc.n), 1e-9)
	}
}

// hyp2f1 is the plain power series of ₂F₁(1, b; c; z), summed to 1e-17
// relative — a reference for the recurrence in DERL.
func hyp2f1(_, b, c, z float64) float64 {
	sum, term := 0.0, 1.0
	for k := 0; k < 1_000_000 && term > 1e-17*sum; k++ {
		sum += term
		term *= (b + float64(k)) / (c + float64(k)) * z
	}
	return sum
}

func TestValidate(t *testing.T) {
	_, err := FromSurvival([]float64{1000, 900, 950}, 2)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = FromSurvival([]float64{1000, 900}, 2)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, _, err = FitSBG(Data{{To: 3, Weight: 10}}, FitOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput, "no churn")
	_, _, err = FitSBG(Data{{To: 0, Churned: true, Weight: 1}}, FitOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, _, err = FitSBG(Data{{To: 2, Churned: true, Weight: math.NaN()}}, FitOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = FromSubscriptions([]Subscription{{Renewals: 1, Since: 2}})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, _, err = Fit("weibull", nil, FitOptions{})
	assert.ErrorIs(t, err, ErrUnknownModel)
}

// TestSelectPublished runs the holdout choice on both published cohorts:
// calibration years 0..7, holdout years 8..12. The BdW nests the sBG, so its
// calibration log-likelihood is at least the sBG's; the choice is the
// higher holdout log-likelihood (figures in the README).
func TestSelectPublished(t *testing.T) {
	surv := readSurvival(t)
	for _, cohort := range []string{"regular", "high_end"} {
		cal, err := FromSurvival(surv[cohort], 7)
		require.NoError(t, err)
		hold, err := Holdout(surv[cohort], 7, 12)
		require.NoError(t, err)
		assert.Equal(t, surv[cohort][7], hold.Customers())
		s, err := Select(cal, hold, FitOptions{})
		require.NoError(t, err)
		assert.Empty(t, s.Errors[1])
		assert.GreaterOrEqual(t, s.BdW.LogLik, s.SBG.LogLik-1e-6, cohort)
		assert.InDelta(t, LogLik(s.Fits[0], hold), s.Holdout[0], 1e-9)
		want := "sbg"
		if s.Holdout[1] > s.Holdout[0]+1e-9*hold.Customers() {
			want = "bdw"
		}
		assert.Equal(t, want, s.Chosen, cohort)
		t.Logf("%s: holdout LL sBG %.3f, BdW %.3f (c = %.3f); chosen %s", cohort, s.Holdout[0], s.Holdout[1], s.BdW.Params["c"], s.Chosen)
	}
}
