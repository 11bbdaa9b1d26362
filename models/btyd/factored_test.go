package btyd

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The published CDNOW fits (Fader, Hardie & Lee 2005; Batislam et al. 2007)
// and the extreme BG/NBD of a visit-heavy history: the batch functions give
// each row what the per-row methods give, to rounding.
var factoredModels = []CountModel{
	BGNBD{R: 0.2425945, Alpha: 4.4136019, A: 0.7929199, B: 2.4258881},
	MBGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
	ParetoNBD{R: 0.55315, Alpha: 10.57633, S: 0.60625, Beta: 11.67150},
	extremeBGNBD,
}

func TestBatchRowsMatchPerRow(t *testing.T) {
	_, cd := loadCDNOW(t)
	d := Data{X: cd.X, Tx: cd.Tx, T: cd.T}
	o := CLVOptions{ModelUnit: Week, Period: Month, Periods: 12, DiscountRate: 0.01}
	for _, m := range factoredModels {
		t.Run(m.Name(), func(t *testing.T) {
			for _, h := range []float64{0, 1, 13, 52} {
				got := ExpectedPurchasesRows(m, d, h, 2)
				require.Len(t, got, d.Len())
				for i := range got {
					want := m.ExpectedPurchases(h, d.X[i], d.Tx[i], d.T[i])
					if want == 0 {
						assert.Zero(t, got[i], "h=%v row %d", h, i)
						continue
					}
					assert.InEpsilon(t, want, got[i], 1e-12, "E[Y(%v)] row %d", h, i)
				}
			}
			dep, err := DiscountedPurchasesRows(m, d, o, 2)
			require.NoError(t, err)
			for i := range dep {
				want, err := CLV(m, 1, d.X[i], d.Tx[i], d.T[i], o)
				require.NoError(t, err)
				assert.InEpsilon(t, want, dep[i], 1e-12, "CLV per unit spend, row %d", i)
			}
		})
	}
}

func TestBatchRowsInvalid(t *testing.T) {
	m := factoredModels[0]
	d := Data{X: []float64{1, 2, 3}, Tx: []float64{1, 5, 2}, T: []float64{4, 4, 4}} // row 1: t_x > T
	_, err := DiscountedPurchasesRows(m, d, CLVOptions{ModelUnit: Week, Period: Month, Periods: 12}, 1)
	var re *RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Row)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = DiscountedPurchasesRows(m, d, CLVOptions{}, 1)
	assert.ErrorIs(t, err, ErrInvalidInput, "options without units")
	assert.False(t, errors.As(err, &re), "an options error is not about a row")

	e := ExpectedPurchasesRows(m, d, 4, 1)
	assert.True(t, math.IsNaN(e[1]), "a row outside the domain gets NaN")
	assert.False(t, math.IsNaN(e[0]))
	assert.True(t, math.IsNaN(ExpectedPurchasesRows(m, d, math.Inf(1), 1)[0]), "an infinite horizon gets NaN")
}

// BenchmarkCLVRows compares the per-row CLV (the naive loop) with
// DiscountedPurchasesRows on the 2,357 CDNOW customers, 12 monthly periods.
func BenchmarkCLVRows(b *testing.B) {
	_, cd := loadCDNOW(b)
	d := Data{X: cd.X, Tx: cd.Tx, T: cd.T}
	o := CLVOptions{ModelUnit: Week, Period: Month, Periods: 12, DiscountRate: 0.01}
	m := factoredModels[1]
	b.Run("naive", func(b *testing.B) {
		for range b.N {
			for i := range d.X {
				if _, err := CLV(m, 1, d.X[i], d.Tx[i], d.T[i], o); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		for range b.N {
			if _, err := DiscountedPurchasesRows(m, d, o, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// paretoEvalNaive is the Pareto/NBD mean negative log-likelihood evaluated
// row by row with lnParetoIntegral (FHL 2005 note eq. 11), the reference for
// the pair-cached paretoEval.
func paretoEvalNaive(rw *bgRows, theta []float64) float64 {
	r, alpha, s, beta := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	ll := 0.0
	for i := range rw.x {
		rx, T := r+rw.x[i], rw.T[i]
		l1 := -rx*math.Log(alpha+T) - s*math.Log(beta+T)
		l2 := math.Log(s) + lnParetoIntegral(rx, s, alpha, beta, rw.tx[i], T)
		v, _ := lse2(l1, l2)
		ll += rw.w[i] * v
	}
	c := r*math.Log(alpha) + s*math.Log(beta) - lgam(r)
	for j, x := range rw.gx {
		ll += rw.gw[j] * (lgam(r+x) + c)
	}
	return -ll / rw.W
}

func TestParetoEvalPairsMatchNaive(t *testing.T) {
	_, cd := loadCDNOW(t)
	// CDNOW (T in whole days: the distinct-T table), CDNOW with the heavy
	// buyers and tiny intervals of TestFitStableWithExtremeRows, and
	// simulated customers with continuous T (no table).
	ext := Data{X: append([]float64{1000, 800, 0, 1, 300}, cd.X...), Tx: append([]float64{38.86, 20, 0, 1e-6, 1e-6}, cd.Tx...),
		T: append([]float64{38.86, 38.86, 1e-6, 1e-6, 1e-6}, cd.T...)}
	sim := simulatePareto(5_000, ParetoNBD{R: 0.6, Alpha: 8, S: 0.8, Beta: 12}, 20, 80, 3)
	for _, c := range []struct {
		name  string
		d     Data
		table bool
	}{{"cdnow", cd, true}, {"cdnow-extreme", ext, true}, {"continuous-T", sim, false}} {
		rows := newBGRows(Compress(c.d), false)
		pr := newParetoRows(rows)
		t.Logf("%s: %d distinct rows, %d distinct (x, τ) pairs, %d distinct T in the table", c.name, len(rows.x), len(pr.px), len(pr.dT))
		require.Less(t, len(pr.px), 2*len(rows.x))
		require.Equal(t, c.table, pr.dT != nil, "%s: distinct-T table", c.name)
		for _, p := range []struct {
			th  []float64
			tol float64
		}{
			{[]float64{math.Log(0.55315), math.Log(10.57633), math.Log(0.60625), math.Log(11.67150)}, 1e-13}, // FHL 2005
			{[]float64{math.Log(2), math.Log(1), math.Log(0.1), math.Log(30)}, 1e-13},                        // β > α
			{[]float64{0, 0, 0, 0}, 1e-13}, // α = β
			// Where the extreme rows' fit ends (α → 0, s and β → ∞ along a
			// ridge): each row's terms, s·log(β+T) ≈ 1.2·10⁴, cancel to
			// O(1), so both evaluations carry ~1e-12 of rounding.
			{[]float64{math.Log(0.0222), math.Log(2.1e-7), math.Log(1072), math.Log(84536)}, 5e-11},
		} {
			// Not bit-identical: paretoEval sums the rows with Neumaier's
			// compensation (the naive loop does not), takes log(r+x+s)
			// and, on data with few distinct T, log(α+T) and log(β+T) from
			// per-evaluation tables, sums 2F1(1, b; c; z) by hyp1Series,
			// and combines a row's terms with one Log instead of
			// lnParetoIntegralAnti's and lse2's; each changes the last bits
			// (~1e-15 relative), so 1e-13 relative.
			th := p.th
			want := paretoEvalNaive(rows, th)
			got := paretoEval(pr, th, 1)
			assert.InDelta(t, want, got, p.tol*math.Abs(want), "%s θ = %v", c.name, th)
			t.Logf("%s θ = %.3g: relative difference %.2g", c.name, th, math.Abs(got-want)/math.Abs(want))
		}
	}
}

// Score, which evaluates P(alive) with Pareto/NBD's shared antiderivatives
// once per (x, τ) pair and the alive customer's expectation and probability
// to buy once per (x, T), gives exactly the per-row methods' values.
func TestScoreMatchesPerRow(t *testing.T) {
	_, cd := loadCDNOW(t)
	d := Data{X: append([]float64{-1}, cd.X...), Tx: append([]float64{0}, cd.Tx...), T: append([]float64{1}, cd.T...)}
	for _, m := range factoredModels {
		t.Run(m.Name(), func(t *testing.T) {
			for _, h := range []float64{0, 1, 13, 52} {
				sc := Score(m, d, h, 2)
				assert.True(t, math.IsNaN(sc.PAlive[0]) && math.IsNaN(sc.ExpectedPurchases[0]) && math.IsNaN(sc.ProbNoPurchase[0]),
					"x = −1 is outside the domain")
				for i := 1; i < d.Len(); i++ {
					x, tx, T := d.X[i], d.Tx[i], d.T[i]
					require.Equal(t, m.PAlive(x, tx, T), sc.PAlive[i], "P(alive) row %d", i)
					require.Equal(t, m.ExpectedPurchases(h, x, tx, T), sc.ExpectedPurchases[i], "E[Y(%v)] row %d", h, i)
					require.Equal(t, m.ProbNoPurchase(h, x, tx, T), sc.ProbNoPurchase[i], "P(Y(%v)=0) row %d", h, i)
				}
			}
		})
	}
}

// TestParetoNewtonMatchesBFGS: above paretoNewtonRows distinct rows (50,000;
// 2,000 here, with a subsample of 2,000 instead of 20,000) FitParetoNBD takes
// Newton steps on the full data from the subsample's optimum (or the
// caller's start) with the subsample's Hessian; it must reach the optimum
// BFGS reaches from the same starts on the full data.
func TestParetoNewtonMatchesBFGS(t *testing.T) {
	defer func(n, m int) { paretoNewtonRows, paretoSubsampleRows = n, m }(paretoNewtonRows, paretoSubsampleRows)
	paretoNewtonRows, paretoSubsampleRows = 2_000, 2_000
	d := simulatePareto(8_000, ParetoNBD{R: 0.6, Alpha: 8, S: 0.8, Beta: 12}, 20, 80, 7)
	m, fit, err := FitParetoNBD(d, FitOptions{})
	require.NoError(t, err)
	require.True(t, fit.Converged)
	assert.Equal(t, "Newton", fit.Method, "the full data are polished by Newton steps")

	cd, n, err := prepare(d)
	require.NoError(t, err)
	rows := newParetoRows(newBGRows(cd, false))
	require.Greater(t, len(rows.x), paretoNewtonRows, "the Newton path is taken")
	obj := &objective{model: "paretonbd", names: []string{"r", "alpha", "s", "beta"}, weight: rows.W, customers: n,
		f: func(theta []float64) float64 { return paretoEval(rows, theta, 0) }}
	p, ref, err := fitObjective(obj, bgStarts(cd), FitOptions{})
	require.NoError(t, err)
	assert.InEpsilon(t, ref.LogLik, fit.LogLik, 1e-9)
	for i, v := range []float64{m.R, m.Alpha, m.S, m.Beta} {
		assert.InEpsilon(t, p[i], v, 1e-4, obj.names[i])
		name := obj.names[i]
		assert.InEpsilon(t, ref.StdErr[name], fit.StdErr[name], 0.05, "standard error of %s from the subsample Hessian", name)
	}

	// From a caller's start (clv.model: auto warm-starts the refit from the
	// calibration fit), the same optimum.
	m2, fit2, err := FitParetoNBD(d, FitOptions{Start: map[string]float64{"r": 0.5, "alpha": 7, "s": 0.9, "beta": 14}})
	require.NoError(t, err)
	assert.Equal(t, "Newton", fit2.Method)
	assert.InEpsilon(t, ref.LogLik, fit2.LogLik, 1e-9)
	assert.InEpsilon(t, p[0], m2.R, 1e-4)
}
