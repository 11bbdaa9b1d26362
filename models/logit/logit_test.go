package logit

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// Twelve rows shared with the scikit-learn reference computation.
var (
	smallX = [][]float64{{1.0, 20}, {2, 35}, {0.5, 10}, {3, 80}, {2.5, 15}, {4, 60}, {1.5, 5}, {3.5, 40}, {0.2, 30}, {2.2, 55}, {4.5, 25}, {1.1, 70}}
	smallY = []float64{0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1}
)

func TestFitMatchesSklearn(t *testing.T) {
	// sklearn 1.2.1 LogisticRegression(C=1/(n·λ), tol=1e-12) on the features
	// standardised with numpy's ddof=0 std; C = 1/(nλ) makes its objective
	// n times ours.
	cases := []struct {
		l2        float64
		intercept float64
		coef      []float64
		p         float64 // P(y=1 | x=(2, 50))
	}{
		{0.1, 0.007579150229749433, []float64{0.48053841225468985, 0.8390455526185501}, 0.6015407320669828},
		{0.01, 0.0236886089775511, []float64{0.660115128167244, 1.3335307397447087}, 0.6635888830828132},
	}
	for _, c := range cases {
		m, err := FitRows(smallX, smallY, nil, Options{L2: c.l2})
		require.NoError(t, err)
		assert.InDelta(t, c.intercept, m.Intercept, 1e-5, "λ=%v", c.l2)
		assert.InDeltaSlice(t, c.coef, m.Coef, 1e-5, "λ=%v", c.l2)
		assert.InDelta(t, c.p, m.Predict([]float64{2, 50}), 1e-6, "λ=%v", c.l2)
	}
}

func TestRecoversGroundTruth(t *testing.T) {
	// y ~ Bernoulli(σ(−1 + 2·x₀ − 1·x₁ + 0·x₂)), x ~ N(0, 1): the raw-scale
	// slopes are Coef/SD.
	rng := rand.New(rand.NewPCG(1, 2))
	n, p := 20000, 3
	beta := []float64{2, -1, 0}
	X := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		z := -1.0
		for j := range p {
			v := rng.NormFloat64()
			X.Set(i, j, v)
			z += beta[j] * v
		}
		if rng.Float64() < sigmoid(z) {
			y[i] = 1
		}
	}
	m, err := Fit(X, y, nil, Options{L2: 0})
	require.NoError(t, err)
	var b0 float64 = m.Intercept
	for j := range p {
		raw := m.Coef[j] / m.SD[j]
		assert.InDelta(t, beta[j], raw, 0.1, "slope %d", j)
		b0 -= raw * m.Mean[j]
	}
	assert.InDelta(t, -1, b0, 0.1, "raw intercept")
}

func TestGradientMatchesFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, p := 50, 4
	Z := make([]float64, n*p)
	y := make([]float64, n)
	w := make([]float64, n)
	var W float64
	for i := range n {
		for j := range p {
			Z[i*p+j] = rng.NormFloat64()
		}
		y[i] = float64(rng.IntN(2))
		w[i] = 0.5 + rng.Float64()
		W += w[i]
	}
	pb := &problem{Z: Z, y: y, w: w, n: n, p: p, W: W, lambda: 0.3}
	beta := []float64{0.2, -1, 3, 0.5, -40} // includes a large, saturating slope
	g := make([]float64, p+1)
	pb.objGrad(g, beta)
	want := fd.Gradient(nil, func(b []float64) float64 { return pb.objGrad(nil, b) }, beta, &fd.Settings{Formula: fd.Central})
	assert.InDeltaSlice(t, want, g, 1e-6)
}

func TestWeightsEqualDuplication(t *testing.T) {
	// Weight 2 on a row is the same objective as the row appearing twice.
	w := make([]float64, len(smallY))
	X2 := append([][]float64(nil), smallX...)
	y2 := append([]float64(nil), smallY...)
	for i := range w {
		w[i] = 1
		if i%3 == 0 {
			w[i] = 2
			X2 = append(X2, smallX[i])
			y2 = append(y2, smallY[i])
		}
	}
	a, err := FitRows(smallX, smallY, w, Options{L2: 0.05})
	require.NoError(t, err)
	b, err := FitRows(X2, y2, nil, Options{L2: 0.05})
	require.NoError(t, err)
	x := []float64{3, 30}
	assert.InDelta(t, b.Predict(x), a.Predict(x), 1e-6)
}

func TestFitErrors(t *testing.T) {
	bad := [][]float64{{1, math.NaN()}, {2, 3}}
	_, err := FitRows(bad, []float64{0, 1}, nil, Options{Names: []string{"a", "spend"}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNonFinite))
	assert.Contains(t, err.Error(), `"spend"`)

	_, err = FitRows([][]float64{{1}, {math.Inf(1)}}, []float64{0, 1}, nil, Options{})
	assert.ErrorIs(t, err, ErrNonFinite)
	_, err = FitRows([][]float64{{1}, {2}}, []float64{0, 2}, nil, Options{})
	assert.ErrorIs(t, err, ErrLabel)
	_, err = FitRows([][]float64{{1}, {2}}, []float64{0}, nil, Options{})
	assert.ErrorIs(t, err, ErrShape)
	_, err = FitRows([][]float64{{1}, {2}}, []float64{0, 1}, nil, Options{L2: -1})
	assert.ErrorIs(t, err, ErrOption)
	_, err = FitRows([][]float64{{1}, {2}}, []float64{0, 1}, nil, Options{Transforms: []Transform{"sqrt"}})
	assert.ErrorIs(t, err, ErrOption)
}

func TestTransformLog1p(t *testing.T) {
	// Hand values: log1p(e−1) = 1, and the signed form is odd.
	assert.InDelta(t, 1, Log1p.Apply(math.E-1), 1e-15)
	assert.InDelta(t, -1, Log1p.Apply(-(math.E - 1)), 1e-15)
	assert.Equal(t, 0.0, Log1p.Apply(0))
	assert.Equal(t, 5.0, Identity.Apply(5))
	assert.Panics(t, func() { Transform("bogus").Apply(1) })

	// A heavy-tailed money column: the model stores log-space statistics.
	m, err := FitRows(smallX, smallY, nil, Options{L2: 0.1, Transforms: []Transform{Identity, Log1p}})
	require.NoError(t, err)
	var mu float64
	for _, r := range smallX {
		mu += math.Log1p(r[1])
	}
	assert.InDelta(t, mu/float64(len(smallX)), m.Mean[1], 1e-12)
}

func TestPredictStableAndContributions(t *testing.T) {
	m, err := FitRows(smallX, smallY, nil, Options{L2: 0.01})
	require.NoError(t, err)
	for _, x := range [][]float64{{1e6, 1e6}, {-1e6, -1e6}, {1e300, -1e300}} {
		p := m.Predict(x)
		assert.False(t, math.IsNaN(p), "x=%v", x)
		assert.True(t, p >= 0 && p <= 1)
	}
	assert.True(t, math.IsNaN(m.Predict([]float64{math.NaN(), 1})))
	assert.Panics(t, func() { m.Predict([]float64{1}) })

	x := []float64{2.7, 33}
	c := m.Contributions(x)
	require.Len(t, c, 2)
	assert.InDelta(t, m.Margin(x), m.Intercept+c[0]+c[1], 1e-12)
	assert.InDelta(t, m.Predict(x), 1/(1+math.Exp(-m.Margin(x))), 1e-12)
}

func TestJSONRoundTrip(t *testing.T) {
	m, err := FitRows(smallX, smallY, nil, Options{L2: 0.1, Transforms: []Transform{Log1p, Identity}, Names: []string{"freq", "spend"}})
	require.NoError(t, err)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var got Model
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, []string{"freq", "spend"}, got.Names)
	for _, x := range smallX {
		assert.Equal(t, m.Predict(x), got.Predict(x))
	}
}

func BenchmarkFit100kx30(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, p := 100_000, 30
	X := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		z := -1.0
		for j := range p {
			v := rng.NormFloat64()
			X.Set(i, j, v)
			z += v / float64(j+1)
		}
		if rng.Float64() < sigmoid(z) {
			y[i] = 1
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Fit(X, y, nil, Options{L2: 1e-3}); err != nil {
			b.Fatal(err)
		}
	}
}
