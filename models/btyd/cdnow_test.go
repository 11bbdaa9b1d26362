package btyd

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/btyd/internal/cdnow"
)

// relClose asserts |got-want| ≤ tol·|want|.
func relClose(t *testing.T, want, got, tol float64, what string) {
	t.Helper()
	assert.LessOrEqualf(t, math.Abs(got-want), tol*math.Abs(want),
		"%s: got %.7g, want %.7g (±%.2g%% relative)", what, got, want, 100*tol)
}

// The summary derived from the raw rows must reproduce the published,
// 2-decimal file row by row (shared/data/cdnow/README.md) and its totals
// (2,457 calibration repeat transactions by 946 repeat buyers, 1,882 holdout
// repeat transactions).
func TestCDNOWSummaryMatchesPublishedFile(t *testing.T) {
	set, _ := loadCDNOW(t)
	dir, err := cdnow.Dir()
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(dir, "cdnow_customers_summary_with_transactions.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2358)
	require.Len(t, set.Customers, 2357)
	var repeat, buyers, holdout float64
	for i, rec := range recs[1:] {
		c := set.Customers[i]
		require.Equal(t, rec[0], c.ID)
		for j, got := range []float64{c.X, c.Tx, c.T, c.Zbar} {
			want, err := strconv.ParseFloat(rec[j+1], 64)
			require.NoError(t, err)
			assert.InDeltaf(t, want, got, 0.005+1e-9, "customer %s column %d", c.ID, j+1)
		}
		repeat += c.X
		if c.X > 0 {
			buyers++
		}
		holdout += c.Holdout
	}
	assert.Equal(t, 2457.0, repeat)
	assert.Equal(t, 946.0, buyers)
	assert.Equal(t, 1882.0, holdout)
}

// BG/NBD on CDNOW, calibration to 1997-09-30, weeks. Published
// full-precision values: Fader, Hardie & Lee (2005), "Counting your
// customers the easy way", Marketing Science 24(2), and the CLVTools test
// suite (tolerance 0.1 % relative, as CLVTools tests them).
func TestFitBGNBDCDNOW(t *testing.T) {
	_, d := loadCDNOW(t)
	m, res, err := FitBGNBD(d, FitOptions{})
	require.NoError(t, err)
	assert.True(t, res.Converged)
	assert.Equal(t, "bgnbd", res.Model)
	assert.Equal(t, 2357, res.Customers)
	want := map[string]float64{"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
	for k, v := range want {
		relClose(t, v, res.Params[k], 1e-3, k)
		assert.Greater(t, res.StdErr[k], 0.0, "stderr %s", k)
	}
	relClose(t, -9582.429, res.LogLik, 1e-3, "loglik")
	relClose(t, res.LogLik, m.LogLik(d), 1e-12, "LogLik method vs fit")
	// Standard errors as printed by lifetimes' BetaGeoFitter.summary on
	// CDNOW (README quickstart): 0.012557, 0.378221, 0.185719, 0.705345.
	// Both come from numerical Hessians at slightly different optima: 0.5 %.
	for k, v := range map[string]float64{"r": 0.012557, "alpha": 0.378221, "a": 0.185719, "b": 0.705345} {
		relClose(t, v, res.StdErr[k], 5e-3, "stderr "+k)
	}

	// FHL 2005 (section 4): customer with x=2, t_x=30.43, T=38.86 expects
	// 1.226 purchases in the next 39 weeks.
	assert.InDelta(t, 1.226, m.ExpectedPurchases(39, 2, 30.43, 38.86), 0.001)
	// BTYD vignette (bgnbd.Expectation(params, t = 52)): E[X(52)] = 1.444004.
	// BTYD's optimum differs from ours in the 6th digit, hence 5e-5.
	assert.InDelta(t, 1.444004, m.ExpectedNew(52), 5e-5)
}

// lifetimes test_probability_of_n_purchases_up_to_time_same_as_R_BTYD: with
// the paper's rounded parameters r=0.243, α=4.414, a=0.793, b=2.426 the
// probability that a new customer makes no repeat purchase in (0, 39] is
// 0.5737864 (BTYD bgnbd.pmf). With x = t_x = T = 0 ProbNoPurchase is that
// unconditional probability, (α/(α+t))^r (FHL 2005 eq. 8).
func TestBGNBDUnconditionalNoPurchase(t *testing.T) {
	m := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	assert.InDelta(t, 0.5737864, m.ProbNoPurchase(39, 0, 0, 0), 1e-7)
}

// Pareto/NBD on CDNOW: FHL (2005) "A note on implementing the Pareto/NBD
// model in MATLAB" and the CLVTools tests (full precision 0.55315, 10.57633,
// 0.60625, 11.67150, LL -9594.976). β is weakly identified (its standard
// error is about half its value) but our optimum agrees to 2.4e-4.
func TestFitParetoNBDCDNOW(t *testing.T) {
	set, d := loadCDNOW(t)
	m, res, err := FitParetoNBD(d, FitOptions{})
	require.NoError(t, err)
	assert.True(t, res.Converged)
	want := map[string]float64{"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150}
	for k, v := range want {
		relClose(t, v, res.Params[k], 1e-3, k)
		assert.Greater(t, res.StdErr[k], 0.0, "stderr %s", k)
	}
	relClose(t, -9594.976, res.LogLik, 1e-3, "loglik")

	// Customer 1516 (FHL note, and CLVTools' test): x=26, t_x=30.85714,
	// T=31: P(alive)=0.9979, 25.46 expected purchases in 52 weeks.
	c := set.Customers[1515]
	require.Equal(t, "1516", c.ID)
	assert.InDelta(t, 26, c.X, 0)
	assert.InDelta(t, 30.85714, c.Tx, 1e-5)
	assert.InDelta(t, 31, c.T, 1e-9)
	assert.InDelta(t, 0.9979, m.PAlive(26, 30.85714, 31), 0.001)
	relClose(t, 25.46, m.ExpectedPurchases(52, 26, 30.85714, 31), 0.01, "E[Y(52)] customer 1516")
}

// MBG/NBD on CDNOW as fitted by BTYDplus (mbgcnbd.EstimateParameters with
// k=1): r=0.525, α=6.183, a=0.891, b=1.614, published to 3 decimals only.
// Our optimum (0.52484, 6.18310, 0.89136, 1.61399; LL -9582.136) rounds to
// the same 3 decimals; the differences (≤ 3e-4 relative) are the rounding
// of the published values.
func TestFitMBGNBDCDNOW(t *testing.T) {
	_, d := loadCDNOW(t)
	m, res, err := FitMBGNBD(d, FitOptions{})
	require.NoError(t, err)
	assert.True(t, res.Converged)
	want := map[string]float64{"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
	for k, v := range want {
		relClose(t, v, res.Params[k], 1e-3, k)
	}
	// MBG/NBD nests the possibility of dying after the first purchase, so
	// its maximised likelihood is close to BG/NBD's -9582.43 on CDNOW.
	assert.InDelta(t, -9582.1, res.LogLik, 1)
	relClose(t, res.LogLik, m.LogLik(d), 1e-12, "LogLik method vs fit")
}

// Gamma-Gamma on the 946 CDNOW repeat buyers, zbar unrounded from the raw
// rows: Fader & Hardie (2013) note 025 report p=6.25, q=3.74, γ=15.44 and
// LL -4055.9177 (lifetimes test_params_out_is_close_to_Hardie_paper).
//
// p, γ and the log-likelihood are asserted to 0.1 %. q is published with
// two decimals only: our optimum q=3.7442 reproduces the published
// log-likelihood to 1e-7 relative, and 3.7442 rounds to the published 3.74,
// but it is 0.11 % away from 3.74, which is within the rounding of the
// published value and not a disagreement. So q is asserted to the rounding
// interval ±0.005, and the published rounded point is checked to be no
// better than our optimum.
func TestFitGammaGammaCDNOW(t *testing.T) {
	set, _ := loadCDNOW(t)
	var x, z []float64
	for _, c := range set.Customers {
		x = append(x, c.X)
		z = append(z, c.Zbar)
	}
	g, res, err := FitGammaGamma(x, z, FitOptions{})
	require.NoError(t, err)
	assert.Equal(t, 946, res.Customers)
	relClose(t, 6.25, g.P, 1e-3, "p")
	assert.InDelta(t, 3.74, g.Q, 0.005, "q")
	relClose(t, 15.44, g.Gamma, 1e-3, "gamma")
	relClose(t, -4055.9177, res.LogLik, 1e-3, "loglik")
	assert.InDelta(t, -4055.9177, res.LogLik, 1e-3)
	pub, err := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}.LogLik(x, z)
	require.NoError(t, err)
	assert.LessOrEqual(t, pub, res.LogLik)
	for _, k := range []string{"p", "q", "gamma"} {
		assert.Greater(t, res.StdErr[k], 0.0, k)
	}

	// Population mean spend p·γ/(q-1): by hand from the published values,
	// 6.25·15.44/2.74 = 35.2; from our unrounded optimum 35.17.
	mean, err := g.MeanSpend()
	require.NoError(t, err)
	assert.InDelta(t, 35.17, mean, 0.05)
	// A customer's expectation lies between zbar and the population mean.
	e, err := g.ExpectedSpend(2, 22.35)
	require.NoError(t, err)
	assert.Greater(t, e, 22.35)
	assert.Less(t, e, mean)
}
