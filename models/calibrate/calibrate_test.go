package calibrate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/metrics"
)

var (
	refS = []float64{0.1, 0.2, 0.2, 0.3, 0.35, 0.5, 0.55, 0.7, 0.8, 0.9}
	refY = []float64{0, 1, 0, 0, 1, 0, 1, 1, 0, 1}
	refW = []float64{1, 1, 2, 1, 1, 1, 3, 1, 1, 1}
	at   = []float64{0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.52, 0.6, 0.85, 0.95}
)

func TestIsotonicMatchesSklearn(t *testing.T) {
	// sklearn 1.2.1 IsotonicRegression(out_of_bounds="clip").fit(s, y[, w]).predict(at).
	cases := []struct {
		name string
		w    []float64
		want []float64
	}{
		{"unweighted", nil, []float64{0.0, 0.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.5, 0.5666666666666667, 0.6666666666666666, 0.8333333333333331, 1.0}},
		{"weighted", refW, []float64{0.0, 0.0, 0.25, 0.25, 0.25, 0.5, 0.62, 0.8, 0.8999999999999999, 1.0}},
	}
	for _, c := range cases {
		iso, err := FitIsotonic(refS, refY, c.w)
		require.NoError(t, err, c.name)
		for i, s := range at {
			assert.InDelta(t, c.want[i], iso.Apply(s), 1e-12, "%s at %v", c.name, s)
		}
	}
}

func TestPlattMatchesSklearn(t *testing.T) {
	// sklearn 1.2.1 calibration._sigmoid_calibration(s, y) returns (a, b)
	// with p = 1/(1+exp(a·s+b)), so A = −a, B = −b.
	c, err := FitPlatt(refS, refY, nil, false)
	require.NoError(t, err)
	assert.InDelta(t, 1.7328046774905785, c.A, 1e-5)
	assert.InDelta(t, -0.7948994019891056, c.B, 1e-5)
}

// miscalibrated draws true probabilities q and reports the overconfident
// score s = σ(3·logit(q) + 1).
func miscalibrated(n int, seed uint64) (s, y []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for range n {
		q := 0.05 + 0.9*rng.Float64()
		z := 3*math.Log(q/(1-q)) + 1
		s = append(s, 1/(1+math.Exp(-z)))
		l := 0.0
		if rng.Float64() < q {
			l = 1
		}
		y = append(y, l)
	}
	return s, y
}

func TestReducesECEAndIsMonotone(t *testing.T) {
	s, y := miscalibrated(20000, 1)
	st, yt := miscalibrated(10000, 2)
	before := metrics.ECE(yt, st)
	for _, m := range []Method{MethodIsotonic, MethodPlatt} {
		c, err := Fit(m, s, y)
		require.NoError(t, err)
		p := make([]float64, len(st))
		for i := range st {
			p[i] = c.Apply(st[i])
		}
		after := metrics.ECE(yt, p)
		t.Logf("%s: ECE %.4f → %.4f", m, before, after)
		assert.Less(t, after, 0.03, m)
		assert.Less(t, after, before/3, m)
		// Monotone non-decreasing on a fine grid.
		prev := math.Inf(-1)
		for g := 0; g <= 1000; g++ {
			v := c.Apply(float64(g) / 1000)
			assert.GreaterOrEqual(t, v, prev, "%s at %v", m, float64(g)/1000)
			assert.True(t, v >= 0 && v <= 1)
			prev = v
		}
		// AUC is preserved up to ties introduced by the step function.
		assert.InDelta(t, metrics.AUC(yt, st), metrics.AUC(yt, p), 0.01)
	}
	assert.Greater(t, before, 0.05, "the synthetic score is miscalibrated")
}

func TestPlattRecoversTemperature(t *testing.T) {
	// s = σ(3·logit(q) + 1) is exactly inverted by A = 1/3, B = −1/3 on logit(s).
	s, y := miscalibrated(50000, 3)
	c, err := FitPlatt(s, y, nil, true)
	require.NoError(t, err)
	assert.InDelta(t, 1.0/3, c.A, 0.03)
	assert.InDelta(t, -1.0/3, c.B, 0.05)
}

func TestErrorsAndNaN(t *testing.T) {
	_, err := FitIsotonic([]float64{0.1, math.NaN()}, []float64{0, 1}, nil)
	assert.ErrorIs(t, err, ErrNonFinite)
	_, err = FitPlatt([]float64{0.1, 0.2}, []float64{0, 3}, nil, true)
	assert.ErrorIs(t, err, ErrLabel)
	_, err = FitIsotonic([]float64{0.1}, []float64{0, 1}, nil)
	assert.ErrorIs(t, err, ErrShape)
	_, err = Fit("beta", []float64{0.1}, []float64{0})
	assert.ErrorIs(t, err, ErrMethod)

	iso, err := FitIsotonic(refS, refY, nil)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(iso.Apply(math.NaN())))
	pl, err := FitPlatt(refS, refY, nil, true)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(pl.Apply(math.NaN())))
	assert.False(t, math.IsNaN(pl.Apply(0)), "score 0 is clipped before logit")
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, m := range []Method{MethodIsotonic, MethodPlatt} {
		c, err := Fit(m, refS, refY)
		require.NoError(t, err)
		b, err := Marshal(c)
		require.NoError(t, err)
		got, err := Unmarshal(b)
		require.NoError(t, err)
		assert.Equal(t, m, got.Method())
		for _, s := range at {
			assert.Equal(t, c.Apply(s), got.Apply(s))
		}
	}
	_, err := Unmarshal([]byte(`{"method":"isotonic"}`))
	assert.ErrorIs(t, err, ErrMethod)
	_, err = Unmarshal([]byte(`{"method":"isotonic","isotonic":{"x":[],"y":[]}}`))
	assert.ErrorIs(t, err, ErrShape)
}
