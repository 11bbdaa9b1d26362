package btyd

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mathext"
)

// Compress keeps the likelihood exactly: a weighted compressed data set
// has the same log-likelihood as the raw rows (hand-made duplicates).
func TestCompressKeepsLikelihood(t *testing.T) {
	d := Data{
		X:  []float64{0, 2, 0, 2, 5, 0, 2},
		Tx: []float64{0, 10, 0, 10, 30, 0, 11},
		T:  []float64{38, 38, 38, 38, 38, 20, 38},
	}
	c := Compress(d)
	// Distinct rows in order of first occurrence: (0,0,38)×2, (2,10,38)×2,
	// (5,30,38), (0,0,20), (2,11,38).
	require.Equal(t, 5, c.Len())
	assert.Equal(t, []float64{2, 2, 1, 1, 1}, c.Weight)
	assert.Equal(t, []float64{0, 2, 5, 0, 2}, c.X)
	assert.Equal(t, 7.0, c.TotalWeight())
	// Compressing again is a no-op on the weights.
	assert.Equal(t, c, Compress(c))
	for _, m := range []interface{ LogLik(Data) float64 }{cdnowModels[0].(BGNBD), cdnowModels[1].(MBGNBD), cdnowModels[2].(ParetoNBD)} {
		var sum float64
		for i := range d.X {
			sum += m.LogLik(Data{X: d.X[i : i+1], Tx: d.Tx[i : i+1], T: d.T[i : i+1]})
		}
		assert.InDelta(t, sum, m.LogLik(c), 1e-9*math.Abs(sum))
	}
}

// Compress keys rows by their bits: -0 merges with 0, rows with NaN are
// never merged (NaN is not equal to itself), and CompressIndex maps every
// row to its distinct row.
func TestCompressZeroAndNaN(t *testing.T) {
	nan, negz := math.NaN(), math.Copysign(0, -1)
	d := Data{X: []float64{0, negz, nan, nan, 1}, Tx: []float64{negz, 0, 0, 0, 1}, T: []float64{5, 5, 5, 5, nan}}
	c, idx := CompressIndex(d)
	require.Equal(t, 4, c.Len())
	assert.Equal(t, []int32{0, 0, 1, 2, 3}, idx)
	assert.Equal(t, []float64{2, 1, 1, 1}, c.Weight)
	assert.False(t, math.Signbit(c.X[0]) || math.Signbit(c.Tx[0]), "-0 is stored as 0")
}

func TestFitRejectsInvalidInput(t *testing.T) {
	cases := map[string]Data{
		"lengths":  {X: []float64{1}, Tx: []float64{1, 2}, T: []float64{3}},
		"empty":    {},
		"negative": {X: []float64{-1}, Tx: []float64{0}, T: []float64{1}},
		"tx>T":     {X: []float64{1}, Tx: []float64{2}, T: []float64{1}},
		"NaN":      {X: []float64{math.NaN()}, Tx: []float64{0}, T: []float64{1}},
		"Inf T":    {X: []float64{0}, Tx: []float64{0}, T: []float64{math.Inf(1)}},
		"weight 0": {X: []float64{0}, Tx: []float64{0}, T: []float64{1}, Weight: []float64{0}},
	}
	for name, d := range cases {
		for _, model := range []string{"bgnbd", "mbgnbd", "paretonbd"} {
			_, _, err := Fit(model, d, FitOptions{})
			assert.ErrorIsf(t, err, ErrInvalidInput, "%s %s", model, name)
		}
	}
	_, _, err := Fit("nbd", Data{X: []float64{0}, Tx: []float64{0}, T: []float64{1}}, FitOptions{})
	assert.ErrorIs(t, err, ErrUnknownModel)
	_, _, err = FitGammaGamma([]float64{1, 2}, []float64{10, 0}, FitOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, _, err = FitGammaGamma([]float64{1}, []float64{math.NaN()}, FitOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, _, err = FitGammaGamma([]float64{0, 0}, []float64{0, 0}, FitOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput, "no repeat buyers")
}

// With one iteration allowed nothing converges: the error wraps
// ErrNotConverged and names the method, start point, iterations and
// gradient norm; no NaN parameters leak out.
func TestFitNotConvergedError(t *testing.T) {
	_, d := loadCDNOW(t)
	m, res, err := FitBGNBD(d, FitOptions{MaxIterations: 1})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotConverged)
	for _, want := range []string{"BFGS from (r=1, alpha=1, a=1, b=1)", "NelderMead", "iterations", "gradient norm", "2357 customers"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.False(t, res.Converged)
	assert.Equal(t, BGNBD{}, m)
	for _, v := range res.Params {
		assert.False(t, math.IsNaN(v))
	}
}

func TestFitResultJSON(t *testing.T) {
	r := FitResult{Model: "bgnbd", Params: map[string]float64{"r": 1}, LogLik: -2, Customers: 3, Iterations: 4,
		Converged: true, StdErr: map[string]float64{"r": 0.1}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"model", "params", "loglik", "customers", "iterations", "converged", "stderr"} {
		assert.Contains(t, m, k)
	}
	assert.Len(t, m, 7)
}

// Simulation recovery: data drawn from known parameters are fitted back
// within four standard errors (the standard errors themselves are checked
// to be of a plausible size).
func TestFitRecoversSimulatedParameters(t *testing.T) {
	bg := BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}
	d := simulateBGNBD(20000, bg, 20, 80, 7)
	for _, model := range []string{"bgnbd", "mbgnbd"} {
		_, res, err := Fit(model, d, FitOptions{})
		require.NoError(t, err, model)
		assert.True(t, res.Converged)
		if model == "bgnbd" {
			for k, v := range bg.Params() {
				se := res.StdErr[k]
				require.Greater(t, se, 0.0, k)
				assert.Less(t, se, v, "standard error of %s should be well below the value", k)
				assert.InDeltaf(t, v, res.Params[k], 4*se, "%s: got %v ± %v", k, res.Params[k], se)
			}
		}
	}
	pn := ParetoNBD{R: 0.6, Alpha: 8, S: 0.8, Beta: 12}
	dp := simulatePareto(6000, pn, 20, 80, 11)
	_, res, err := FitParetoNBD(dp, FitOptions{})
	require.NoError(t, err)
	for k, v := range pn.Params() {
		assert.InDeltaf(t, v, res.Params[k], 4*res.StdErr[k], "%s: got %v ± %v", k, res.Params[k], res.StdErr[k])
	}
}

// Heavy buyers, one-time buyers and tiny T in the data must not break the
// fit (lifetimes #25/#332, CLVTools #100).
func TestFitStableWithExtremeRows(t *testing.T) {
	_, d := loadCDNOW(t)
	ext := Data{X: append([]float64{}, d.X...), Tx: append([]float64{}, d.Tx...), T: append([]float64{}, d.T...)}
	add := func(x, tx, T float64) {
		ext.X, ext.Tx, ext.T = append(ext.X, x), append(ext.Tx, tx), append(ext.T, T)
	}
	add(1000, 38.86, 38.86)
	add(800, 20, 38.86)
	add(0, 0, 1e-6)
	add(1, 1e-6, 1e-6)
	add(300, 1e-6, 1e-6)
	for _, model := range []string{"bgnbd", "mbgnbd", "paretonbd"} {
		m, res, err := Fit(model, ext, FitOptions{})
		require.NoError(t, err, model)
		for k, v := range res.Params {
			assert.Truef(t, v > 0 && !math.IsInf(v, 0), "%s %s=%v", model, k, v)
		}
		assert.False(t, math.IsNaN(res.LogLik))
		assert.InDelta(t, 1, m.PAlive(1000, 38.86, 38.86), 0.05, model)
	}
}

// A user start point is tried first; MultiStart finds the same optimum.
func TestFitOptionsStartAndMultiStart(t *testing.T) {
	_, d := loadCDNOW(t)
	_, r1, err := FitBGNBD(d, FitOptions{Start: map[string]float64{"r": 0.3, "alpha": 5}})
	require.NoError(t, err)
	_, r2, err := FitBGNBD(d, FitOptions{MultiStart: true, SkipStdErr: true})
	require.NoError(t, err)
	assert.InDelta(t, r1.LogLik, r2.LogLik, 1e-6)
	assert.Empty(t, r2.StdErr)
	_, _, err = FitBGNBD(d, FitOptions{Start: map[string]float64{"r": -1}})
	assert.ErrorIs(t, err, ErrInvalidInput)
}

// A million rows resampled from CDNOW compress back to at most 2,357
// distinct rows and give the CDNOW optimum (the likelihood is a weighted
// sum, so the optimum of a large resample is close to the original).
func TestFitLargeResample(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	_, d := loadCDNOW(t)
	big := resample(d, 200_000, 3)
	assert.LessOrEqual(t, Compress(big).Len(), 2357)
	_, res, err := FitBGNBD(big, FitOptions{})
	require.NoError(t, err)
	assert.Equal(t, 200_000, res.Customers)
	assert.InDelta(t, 0.2426, res.Params["r"], 0.01)
}

func TestErrorsAreDistinct(t *testing.T) {
	assert.False(t, errors.Is(ErrInvalidInput, ErrNotConverged))
}

// The parallel likelihood pass agrees with the serial one (and is
// deterministic for a given worker count).
func TestParallelEvalMatchesSerial(t *testing.T) {
	d := simulateBGNBD(40_000, BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}, 20, 80, 4)
	for _, mod := range []bool{false, true} {
		rows := newBGRows(Compress(d), mod)
		require.Greater(t, len(rows.x), 32768, "need enough rows to split")
		th := []float64{-0.6, 1.5, -0.3, 0.8}
		g1, g2, g3 := make([]float64, 4), make([]float64, 4), make([]float64, 4)
		f1 := rows.eval(g1, th, 1)
		f2 := rows.eval(g2, th, 2)
		f3 := rows.eval(g3, th, 2)
		assert.InDelta(t, f1, f2, 1e-12*math.Abs(f1))
		assert.Equal(t, f2, f3)
		assert.Equal(t, g2, g3)
		for i := range g1 {
			assert.InDelta(t, g1[i], g2[i], 1e-10)
		}
		// Pareto/NBD pass too.
		pr := newParetoRows(rows)
		p1, p2 := paretoEval(pr, th, 1), paretoEval(pr, th, 2)
		assert.InDelta(t, p1, p2, 1e-12*math.Abs(p1))
	}
}

// The analytic BG/NBD and MBG/NBD gradients agree with central differences.
func TestAnalyticGradient(t *testing.T) {
	_, d := loadCDNOW(t)
	for _, mod := range []bool{false, true} {
		rows := newBGRows(Compress(d), mod)
		th := []float64{-1.2, 1.3, -0.4, 0.7}
		g := make([]float64, 4)
		rows.eval(g, th, 1)
		for i := range th {
			x := append([]float64(nil), th...)
			const h = 1e-6
			x[i] = th[i] + h
			fp := rows.eval(nil, x, 1)
			x[i] = th[i] - h
			fm := rows.eval(nil, x, 1)
			assert.InDeltaf(t, (fp-fm)/(2*h), g[i], 1e-6, "mod=%v param %d", mod, i)
		}
	}
	set, _ := loadCDNOW(t)
	var x, z []float64
	for _, c := range set.Customers {
		x, z = append(x, c.X), append(z, c.Zbar)
	}
	gg, err := ggRows(x, z)
	require.NoError(t, err)
	th := []float64{1.5, 1.2, 2.5}
	g := make([]float64, 3)
	gg.eval(g, th)
	for i := range th {
		xx := append([]float64(nil), th...)
		const h = 1e-6
		xx[i] = th[i] + h
		fp := gg.eval(nil, xx)
		xx[i] = th[i] - h
		fm := gg.eval(nil, xx)
		assert.InDeltaf(t, (fp-fm)/(2*h), g[i], 1e-6, "gamma-gamma param %d", i)
	}
}

// Below paretoNewtonRows distinct rows Pareto/NBD is fitted by BFGS with
// central-difference gradients and then polished by Newton steps to
// GradTol/100 (Method "BFGS+Newton"); the polished optimum is at least as
// good as BFGS's, to rounding.
func TestParetoBFGSNewtonPolish(t *testing.T) {
	_, d := loadCDNOW(t)
	_, res, err := FitParetoNBD(d, FitOptions{})
	require.NoError(t, err)
	assert.Equal(t, "BFGS+Newton", res.Method)

	cd, _, err := prepare(d)
	require.NoError(t, err)
	rows := newParetoRows(newBGRows(cd, false))
	obj := &objective{model: "paretonbd", names: []string{"r", "alpha", "s", "beta"}, weight: rows.W,
		f: func(theta []float64) float64 { return paretoEval(rows, theta, 0) }}
	bfgs, ok, err := maximise(obj, bgStarts(cd), FitOptions{}.withDefaults())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "BFGS", bfgs.how)
	assert.Greater(t, bfgs.gnorm, 1e-9, "BFGS stops above GradTol/100 here: the polish has work to do")
	th := []float64{math.Log(res.Params["r"]), math.Log(res.Params["alpha"]), math.Log(res.Params["s"]), math.Log(res.Params["beta"])}
	g := make([]float64, 4)
	numericalGradient(obj.f)(g, th)
	assert.LessOrEqual(t, infNorm(g), 1e-9, "gradient norm after the polish")
	assert.GreaterOrEqual(t, res.LogLik, -bfgs.f*obj.weight*(1+1e-14), "log-likelihood not worse than BFGS's")
}

// The Gamma-Gamma pass split over goroutines agrees with the serial one
// (and is deterministic for a given worker count).
func TestGammaGammaParallelEvalMatchesSerial(t *testing.T) {
	d := simulateBGNBD(120_000, BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}, 20, 80, 4)
	z := simulateSpend(d.X, GammaGamma{P: 6, Q: 3.6, Gamma: 15}, 5)
	gg, err := ggRows(d.X, z)
	require.NoError(t, err)
	require.Greater(t, len(gg.x), 32768, "need enough rows to split")
	th := []float64{1.7, 1.3, 2.7}
	g1, g2, g3 := make([]float64, 3), make([]float64, 3), make([]float64, 3)
	gg.workers = 1
	f1 := gg.eval(g1, th)
	gg.workers = 2
	f2 := gg.eval(g2, th)
	f3 := gg.eval(g3, th)
	assert.InDelta(t, f1, f2, 1e-12*math.Abs(f1))
	assert.Equal(t, f2, f3)
	assert.Equal(t, g2, g3)
	for i := range g1 {
		assert.InDelta(t, g1[i], g2[i], 1e-10)
	}
}

// ggEvalNaive is the Gamma-Gamma mean negative log-likelihood and gradient
// summed customer by customer (FHL's per-customer term), the reference for
// the grouped ggData.eval.
func ggEvalNaive(x, zbar []float64, grad, theta []float64) float64 {
	p, q, g := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2])
	lgq, lg, psq := lgam(q), math.Log(g), mathext.Digamma(q)
	var ll, dp, dq, dg, n float64
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		n++
		px, lz, lx := p*xi, math.Log(zbar[i]), math.Log(xi)
		lgx := math.Log(g + xi*zbar[i])
		ll += lgam(px+q) - lgam(px) - lgq + q*lg + (px-1)*lz + px*lx - (px+q)*lgx
		ps := mathext.Digamma(px + q)
		dp += xi * (ps - mathext.Digamma(px) + lz + lx - lgx)
		dq += ps - psq + lg - lgx
		dg += q/g - (px+q)/(g+xi*zbar[i])
	}
	grad[0], grad[1], grad[2] = -dp*p/n, -dq*q/n, -dg*g/n
	return -ll / n
}

func TestGammaGammaEvalMatchesNaive(t *testing.T) {
	set, _ := loadCDNOW(t)
	var cx, cz []float64
	for _, c := range set.Customers {
		cx, cz = append(cx, c.X), append(cz, c.Zbar)
	}
	sim := simulateBGNBD(60_000, BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}, 20, 80, 4)
	sz := simulateSpend(sim.X, GammaGamma{P: 6, Q: 3.6, Gamma: 15}, 5)
	for _, c := range []struct {
		name string
		x, z []float64
	}{{"cdnow", cx, cz}, {"simulated", sim.X, sz}} {
		gg, err := ggRows(c.x, c.z)
		require.NoError(t, err)
		gg.workers = 2
		for _, th := range [][]float64{{1.5, 1.2, 2.5}, {math.Log(6.25), math.Log(3.74), math.Log(15.44)}, {-1, 3, 6}} {
			gw, gg2 := make([]float64, 3), make([]float64, 3)
			want := ggEvalNaive(c.x, c.z, gw, th)
			got := gg.eval(gg2, th)
			// Grouped and summed in another order (the large sums
			// compensated): rounding only, ~1e-15 relative.
			assert.InDelta(t, want, got, 1e-13*math.Abs(want), "%s θ=%v", c.name, th)
			t.Logf("%s θ=%.3g: f %v, relative difference %.2g", c.name, th, want, math.Abs(got-want)/math.Abs(want))
			for i := range gw {
				assert.InDelta(t, gw[i], gg2[i], 1e-10*math.Max(1, math.Abs(gw[i])), "%s θ=%v gradient %d", c.name, th, i)
			}
		}
	}
}
