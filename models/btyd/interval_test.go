package btyd

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIntervalCoverage checks the 80 % intervals on synthetic data with
// known parameters: customers are drawn from BG/NBD with the CDNOW
// parameters (FHL 2005), the model is refitted on each of 150 independent
// samples, and the p10–p90 interval of the population-level expectation
// E[X(52)] (a new customer's repeat purchases in 52 weeks) must cover the
// true value in about 80 % of the fits. With 150 fits the binomial standard
// deviation of the coverage is 3.3 points: the test accepts 0.72–0.88 (±2.4 sd).
func TestIntervalCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("150 fits")
	}
	truth := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	want := truth.ExpectedNew(52)
	const fits = 150
	covered := 0
	for k := 0; k < fits; k++ {
		d := simulateBGNBD(2000, truth, 20, 60, uint64(1000+k))
		m, fit, err := FitBGNBD(d, FitOptions{Workers: 1})
		require.NoError(t, err)
		s, err := NewSensitivity(fit)
		require.NoError(t, err)
		f0 := m.ExpectedNew(52)
		fj := make([]float64, len(s.Shifted))
		for j, p := range s.Shifted {
			mj, err := New("bgnbd", p)
			require.NoError(t, err)
			fj[j] = mj.ExpectedNew(52)
		}
		lo, hi := Interval80(f0, s.LogSD(f0, fj))
		require.Less(t, lo, f0)
		require.Greater(t, hi, f0)
		if lo <= want && want <= hi {
			covered++
		}
	}
	cov := float64(covered) / fits
	t.Logf("80 %% interval of E[X(52)] covered the true %.4f in %d of %d fits (%.3f)", want, covered, fits, cov)
	assert.GreaterOrEqual(t, cov, 0.72)
	assert.LessOrEqual(t, cov, 0.88)
}

// New rebuilds each model from its Params; bad parameters are refused.
func TestNewFromParams(t *testing.T) {
	for _, m := range []CountModel{BGNBD{1, 2, 3, 4}, MBGNBD{1, 2, 3, 4}, ParetoNBD{1, 2, 3, 4}} {
		got, err := New(m.Name(), m.(interface{ Params() map[string]float64 }).Params())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := New("bgnbd", map[string]float64{"r": 1, "alpha": 2, "a": -1, "b": 1})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = New("nbd", nil)
	assert.ErrorIs(t, err, ErrUnknownModel)
}
