package season_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/season"
)

// retail is data/synth's month pattern (January … December) before
// normalisation: the index the demo history is generated with.
var retail = [12]float64{0.85, 0.80, 0.90, 0.95, 1.00, 0.95, 0.90, 0.95, 0.95, 1.00, 1.30, 1.60}

func day(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return int32(t.Unix() / 86400)
}

// simulate draws Poisson daily counts: acquired customers at a rate that
// follows the months, and repeat purchases at rate·month·exp(−decay·years)
// per customer acquired before the day.
func simulate(first, last int32, month [12]float64, rate, decay float64, seed uint64) season.Daily {
	rng := rand.New(rand.NewPCG(seed, 3))
	d := season.Daily{First: first, Acquired: make([]float64, last-first+1), Repeat: make([]float64, last-first+1)}
	var base float64
	for k := first; k <= last; k++ {
		m := time.Unix(int64(k)*86400, 0).UTC().Month() - 1
		years := float64(k-first) / 365
		d.Repeat[k-first] = poisson(rng, base*rate*month[m]*math.Exp(-decay*years))
		d.Acquired[k-first] = poisson(rng, 40*month[m])
		base += d.Acquired[k-first]
	}
	return d
}

func poisson(rng *rand.Rand, mu float64) float64 {
	if mu > 50 { // normal approximation, ample for counts this large
		return math.Max(0, math.Round(mu+math.Sqrt(mu)*rng.NormFloat64()))
	}
	l, k, p := math.Exp(-mu), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func TestEstimateRecoversTheMonthPattern(t *testing.T) {
	// The expected index is retail normalised to a day-weighted mean of 1
	// (the definition of Index); the tolerance is a few Poisson standard
	// errors of a month effect (≈ 1/√(repeats in the month) ≈ 1 %).
	days := [12]float64{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	var s float64
	for m := range retail {
		s += retail[m] * days[m]
	}
	cases := []struct {
		name         string
		first, last  string
		decay        float64
		tol          float64
		wantMonthsAt int
	}{
		{"two years, growing base", "2024-01-01", "2025-12-31", 0, 0.03, 22},
		{"two years, dying base", "2024-01-01", "2025-12-31", 0.7, 0.03, 22},
		{"eighteen months", "2024-01-01", "2025-06-30", 0.3, 0.05, 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := simulate(day(c.first), day(c.last), retail, 0.02, c.decay, 1)
			ix, err := season.Estimate(d, day(c.last))
			require.NoError(t, err)
			assert.Equal(t, c.wantMonthsAt, ix.Months)
			assert.Equal(t, c.last, ix.Through)
			for m := range retail {
				assert.InEpsilon(t, retail[m]*365/s, ix.Month[m], c.tol, "month %d", m+1)
			}
		})
	}
}

// Without a calendar the month effects are Poisson noise: either their
// year-on-year correlation is too weak for an index (ErrNoCalendar), or the
// index is flat to within that noise. (With this seed the correlation of
// pure noise over 10 months is 0.49: MinConsistency is a 7 % false-positive
// rate at 10 months, and a false positive costs a shift of the size of the
// noise.)
func TestEstimateWithoutSeasonIsFlat(t *testing.T) {
	var flat [12]float64
	for m := range flat {
		flat[m] = 1
	}
	for seed := uint64(2); seed < 6; seed++ {
		d := simulate(day("2024-01-01"), day("2025-12-31"), flat, 0.02, 0.4, seed)
		ix, err := season.Estimate(d, day("2025-12-31"))
		if err != nil {
			require.ErrorIs(t, err, season.ErrNoCalendar, "seed %d", seed)
			continue
		}
		for m, v := range ix.Month {
			assert.InDelta(t, 1, v, 0.03, "seed %d month %d", seed, m+1)
		}
		// A 90-day window of a flat calendar has no exposure to speak of.
		assert.InDelta(t, 0, ix.LogExposure(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), 90), 0.02)
	}
}

func TestEstimateNeedsRepeatedMonths(t *testing.T) {
	d := simulate(day("2024-01-15"), day("2025-12-31"), retail, 0.02, 0, 3)
	// Through 2025-03-30 the full months are February 2024 … February 2025
	// (13), two of them left out: too short to fit.
	_, err := season.Estimate(d, day("2025-03-30"))
	require.ErrorIs(t, err, season.ErrTooShort)
	assert.Contains(t, err.Error(), "13 full months through 2025-03-30")
	// Through 2025-05-31: 14 fitted (April 2024 … May 2025), but only April
	// and May seen twice: a calendar cannot be told from a wave.
	_, err = season.Estimate(d, day("2025-05-31"))
	require.ErrorIs(t, err, season.ErrTooShort)
	assert.Contains(t, err.Error(), "2 calendar months seen in two years")
	// Through 2025-07-31: April … July twice, and they repeat.
	ix, err := season.Estimate(d, day("2025-07-31"))
	require.NoError(t, err)
	assert.Equal(t, 16, ix.Months)
	assert.Equal(t, 4, ix.Repeated)
	assert.GreaterOrEqual(t, ix.Consistency, season.MinConsistency)

	_, err = season.Estimate(season.Daily{}, day("2025-04-30"))
	assert.ErrorIs(t, err, season.ErrTooShort, "an empty history")

	// A month without a repeat purchase is a gap in the data, not a season.
	for k := day("2024-09-01"); k <= day("2024-09-30"); k++ {
		d.Repeat[k-d.First] = 0
	}
	_, err = season.Estimate(d, day("2025-07-31"))
	require.ErrorIs(t, err, season.ErrTooShort)
	assert.Contains(t, err.Error(), "2024-09 has no repeat purchase")
}

// A history whose busy months change from one year to the next (waves of
// acquisition, not a calendar) has no index, however big its month effects.
func TestEstimateRefusesMonthsThatDoNotRepeat(t *testing.T) {
	first, last := day("2024-01-01"), day("2025-12-31")
	d := simulate(first, last, retail, 0.02, 0, 4)
	// The second year runs the pattern backwards: its repeat purchases are
	// re-drawn at December's factor in January, and so on.
	rng := rand.New(rand.NewPCG(4, 4))
	var base float64
	for k := first; k <= last; k++ {
		if k >= day("2025-01-01") {
			m := time.Unix(int64(k)*86400, 0).UTC().Month() - 1
			d.Repeat[k-first] = poisson(rng, base*0.02*retail[11-m])
		}
		base += d.Acquired[k-first]
	}
	_, err := season.Estimate(d, last)
	require.ErrorIs(t, err, season.ErrNoCalendar)
	assert.Contains(t, err.Error(), "year-on-year correlation -")
}

func TestLogExposure(t *testing.T) {
	var ix season.Index
	assert.Zero(t, ix.LogExposure(time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), 60), "the zero index is no season")
	for m := range ix.Month {
		ix.Month[m] = 1
	}
	ix.Month[11], ix.Months = 2, 13
	// December alone doubles; half of a 62-day window in December: log 1.5.
	assert.InDelta(t, math.Log(2), ix.LogExposure(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), 31), 1e-12)
	assert.InDelta(t, math.Log(1.5), ix.LogExposure(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), 62), 1e-12)
	assert.InDelta(t, 0, ix.LogExposure(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 90), 1e-12)
	assert.Panics(t, func() { ix.LogExposure(time.Now(), 0) })
}

// The index of the synthetic retail calendar, and what it does to a 90-day
// churn window: a customer with P(no purchase) 0.5 over July–September has
// 0.5^(E(Oct–Dec)/E(Jul–Sep)) over October–December (the generating
// pattern gives 1.386).
func ExampleIndex_LogExposure() {
	d := simulate(day("2024-01-01"), day("2025-12-31"), retail, 0.02, 0, 1)
	ix, _ := season.Estimate(d, day("2025-12-31"))
	summer := ix.LogExposure(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 90)
	winter := ix.LogExposure(time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), 90)
	r := math.Exp(winter - summer)
	fmt.Printf("exposure ratio %.2f, P(no purchase) 0.50 -> %.2f\n", r, math.Pow(0.5, r))
	// Output: exposure ratio 1.39, P(no purchase) 0.50 -> 0.38
}
