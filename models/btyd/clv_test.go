package btyd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeUnitDays(t *testing.T) {
	assert.Equal(t, 1.0, Day.Days())
	assert.Equal(t, 7.0, Week.Days())
	// Month is the mean Gregorian month, not 30 days (lifetimes #194).
	assert.Equal(t, 30.4375, Month.Days())
	assert.Equal(t, "month", Month.String())
	assert.Panics(t, func() { TimeUnit(0).Days() })
}

func TestCLV(t *testing.T) {
	m := cdnowModels[0]
	// Without discounting, CLV telescopes to spend × E[Y(horizon)]:
	// 12 months on a weekly model is 12·30.4375/7 = 52.178571 weeks.
	got, err := CLV(m, 35, 2, 30.43, 38.86, CLVOptions{ModelUnit: Week, Period: Month, Periods: 12})
	require.NoError(t, err)
	assert.InDelta(t, 35*m.ExpectedPurchases(12*30.4375/7, 2, 30.43, 38.86), got, 1e-9)

	// Hand computation of the discounted sum over 3 weekly periods at 1 %.
	e1, e2, e3 := m.ExpectedPurchases(1, 2, 30.43, 38.86), m.ExpectedPurchases(2, 2, 30.43, 38.86), m.ExpectedPurchases(3, 2, 30.43, 38.86)
	want := 10 * (e1/1.01 + (e2-e1)/(1.01*1.01) + (e3-e2)/math.Pow(1.01, 3))
	got, err = CLV(m, 10, 2, 30.43, 38.86, CLVOptions{ModelUnit: Week, Period: Week, Periods: 3, DiscountRate: 0.01})
	require.NoError(t, err)
	assert.InDelta(t, want, got, 1e-12)

	// Same horizon in days on a daily-unit question: 14 days = 2 weeks.
	got, err = CLV(m, 1, 2, 30.43, 38.86, CLVOptions{ModelUnit: Week, Period: Day, Periods: 14})
	require.NoError(t, err)
	assert.InDelta(t, e2, got, 1e-12)

	// Discounting lowers the value.
	d0, _ := CLV(m, 35, 2, 30.43, 38.86, CLVOptions{ModelUnit: Week, Period: Month, Periods: 24})
	d1, _ := CLV(m, 35, 2, 30.43, 38.86, CLVOptions{ModelUnit: Week, Period: Month, Periods: 24, DiscountRate: 0.01})
	assert.Less(t, d1, d0)
}

func TestCLVRejectsBadOptions(t *testing.T) {
	m := cdnowModels[0]
	bad := []CLVOptions{
		{Period: Month, Periods: 12},                                   // no model unit
		{ModelUnit: Week, Periods: 12},                                 // no period
		{ModelUnit: Week, Period: Month},                               // no horizon
		{ModelUnit: Week, Period: Month, Periods: 1, DiscountRate: -1}, // rate
		{ModelUnit: Week, Period: Month, Periods: 1, DiscountRate: math.NaN()},
	}
	for _, o := range bad {
		_, err := CLV(m, 1, 0, 0, 1, o)
		assert.ErrorIsf(t, err, ErrInvalidInput, "%+v", o)
	}
	_, err := CLV(m, -1, 0, 0, 1, CLVOptions{ModelUnit: Week, Period: Week, Periods: 1})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = CLV(m, 1, 1, 2, 1, CLVOptions{ModelUnit: Week, Period: Week, Periods: 1})
	assert.ErrorIs(t, err, ErrInvalidInput)
}

func TestGammaGammaRefusals(t *testing.T) {
	g := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	for _, z := range []float64{0, -3, math.NaN(), math.Inf(1)} {
		_, err := g.ExpectedSpend(2, z)
		assert.ErrorIs(t, err, ErrInvalidInput)
	}
	// x = 0 falls back to the population mean pγ/(q-1) (hand computation).
	e, err := g.ExpectedSpend(0, 0)
	require.NoError(t, err)
	assert.InDelta(t, 6.25*15.44/2.74, e, 1e-12)
	// q ≤ 1: the expectation is infinite, so it is refused.
	_, err = GammaGamma{P: 1, Q: 0.9, Gamma: 1}.ExpectedSpend(2, 10)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = GammaGamma{P: 1, Q: 1, Gamma: 1}.MeanSpend()
	assert.ErrorIs(t, err, ErrInvalidInput)
}

// Score agrees with the per-customer methods and keeps row order.
func TestScoreMatchesMethods(t *testing.T) {
	_, d := loadCDNOW(t)
	big := resample(d, 50_000, 9)
	for _, m := range cdnowModels {
		s := Score(m, big, 39, 2)
		require.Len(t, s.PAlive, big.Len())
		for _, i := range []int{0, 1, 777, 49_999} {
			x, tx, T := big.X[i], big.Tx[i], big.T[i]
			assert.Equal(t, m.PAlive(x, tx, T), s.PAlive[i])
			assert.Equal(t, m.ExpectedPurchases(39, x, tx, T), s.ExpectedPurchases[i])
			assert.Equal(t, m.ProbNoPurchase(39, x, tx, T), s.ProbNoPurchase[i])
		}
	}
}
