package gate_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/pipeline/gate"
)

func dayNum(s string) int32 {
	t, _ := time.Parse(time.DateOnly, s)
	return int32(t.Unix() / 86400)
}

// feed counts n purchases of amount a on each day from first to last,
// scored at asOf.
func feed(asOf, first, last string, n int, a float64, typ string) *gate.Feed {
	t, _ := time.Parse(time.DateOnly, asOf)
	c := gate.NewFeedCounter(t)
	for d := dayNum(first); d <= dayNum(last); d++ {
		for range n {
			c.Add(d, typ, a)
		}
	}
	f := c.Feed()
	return &f
}

func TestFeedCounter(t *testing.T) {
	asOf, _ := time.Parse(time.DateOnly, "2024-06-30")
	c := gate.NewFeedCounter(asOf)
	c.Add(dayNum("2024-06-30"), "purchase", 12.5)
	c.Add(dayNum("2024-06-29"), "purchase", 0)
	c.Add(dayNum("2024-06-29"), "return", -3)
	c.Add(dayNum("2023-01-01"), "visit", math.NaN())
	c.Add(dayNum("2024-07-01"), "purchase", 1) // after the as-of day: ignored
	f := c.Feed()
	assert.Equal(t, int64(4), f.Rows)
	assert.Equal(t, "2023-01-01", f.FirstDay)
	assert.Equal(t, "2024-06-30", f.LastDay)
	assert.Equal(t, []int64{1, 2, 0}, f.DayRows[:3])
	assert.Equal(t, map[string]int64{"purchase": 2, "return": 1, "visit": 1}, f.EventTypes)
	assert.Equal(t, int64(1), f.NullAmounts)
	assert.Equal(t, int64(1), f.Amounts[0], "negative bin")
	assert.Equal(t, int64(1), f.Amounts[1], "zero bin")
	// 12.5 lies in the bin (10^1, 10^1.25] = (10, 17.78].
	found := 0
	for i, n := range f.Amounts[2:] {
		if n == 1 {
			found++
			assert.Greater(t, 12.5, gate.AmountEdges[i+1])
			assert.LessOrEqual(t, 12.5, gate.AmountEdges[i+2])
		}
	}
	assert.Equal(t, 1, found)
}

// The feed checks, each on a healthy pair of nights (the history grew by
// one day) and on the fault it exists for. Expected values are computed
// by hand from the definitions in the package doc.
func TestFeedChecks(t *testing.T) {
	last := feed("2024-06-29", "2024-01-01", "2024-06-29", 10, 20, "purchase")
	good := feed("2024-06-30", "2024-01-01", "2024-06-30", 10, 20, "purchase")
	cfg := gate.DefaultConfig()

	r := gate.DayRows(last, good, 0, cfg.MaxDayDrop)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	assert.Equal(t, 0.0, r.Value)

	// Day 2024-06-27 missing tonight: it had 10 rows → lost 100 %.
	missing := feed("2024-06-30", "2024-01-01", "2024-06-30", 10, 20, "purchase")
	missing.DayRows[3] = 0
	r = gate.DayRows(last, missing, 0, cfg.MaxDayDrop)
	assert.Equal(t, gate.Block, r.Status)
	assert.Equal(t, 1.0, r.Value)
	assert.Contains(t, r.Message, "2024-06-27: 10 → 0 rows")
	// Lost 4 of 10 (40 % ≤ 50 %): passes.
	missing.DayRows[3] = 6
	assert.Equal(t, gate.Pass, gate.DayRows(last, missing, 0, cfg.MaxDayDrop).Status)
	assert.Contains(t, gate.DayRows(nil, good, 0, 0.5).Message, "skipped")

	r = gate.TimeSpan(last, good, cfg.MaxSpanShiftDays)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	assert.Equal(t, 0.0, r.Value)
	back := feed("2024-06-30", "2023-01-01", "2023-06-30", 10, 20, "purchase") // shifted a year back
	r = gate.TimeSpan(last, back, cfg.MaxSpanShiftDays)
	assert.Equal(t, gate.Block, r.Status)
	assert.Equal(t, 365.0, r.Value, "first day 2024-01-01 → 2023-01-01 and last day 2024-06-29 → 2023-06-30: both 365 days back")
	empty := gate.NewFeedCounter(time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)).Feed()
	r = gate.TimeSpan(last, &empty, cfg.MaxSpanShiftDays)
	assert.Equal(t, gate.Block, r.Status)
	assert.Contains(t, r.Message, "no row on or before the as-of day")
	// A rolling window: the first day advances by the day elapsed.
	rolling := feed("2024-06-30", "2024-01-02", "2024-06-30", 10, 20, "purchase")
	assert.Equal(t, gate.Pass, gate.TimeSpan(last, rolling, cfg.MaxSpanShiftDays).Status)

	r = gate.EventMix(last, good, cfg.EventMixWarn, cfg.EventMixBlock)
	assert.Equal(t, gate.Pass, r.Status)
	visits := feed("2024-06-30", "2024-01-01", "2024-06-30", 10, 20, "visit")
	r = gate.EventMix(last, visits, cfg.EventMixWarn, cfg.EventMixBlock)
	assert.Equal(t, gate.Block, r.Status)
	assert.InDelta(t, 1.0, r.Value, 1e-12, "½(|1 − 0| + |0 − 1|)")

	r = gate.AmountPSI(last, good, cfg.AmountPSIWarn, cfg.AmountPSIBlock)
	assert.Equal(t, gate.Pass, r.Status)
	assert.InDelta(t, 0.0, r.Value, 1e-12)
	cents := feed("2024-06-30", "2024-01-01", "2024-06-30", 10, 2000, "purchase")
	r = gate.AmountPSI(last, cents, cfg.AmountPSIWarn, cfg.AmountPSIBlock)
	assert.Equal(t, gate.Block, r.Status)
	// All mass moves from one bin to another (empty shares count as ε):
	// (ε − 1)·ln(ε/1) + (1 − ε)·ln(1/ε) = 2·(1 − ε)·ln(1/ε).
	eps := gate.Epsilon
	assert.InDelta(t, 2*(1-eps)*math.Log(1/eps), r.Value, 1e-9)
	assert.Contains(t, r.Message, "17.78–31.62 → 1778–3162")
}

func TestAsOfDayRows(t *testing.T) {
	cfg := gate.DefaultConfig()
	f := feed("2024-06-30", "2024-01-01", "2024-06-30", 160, 20, "purchase")
	r := gate.AsOfDayRows(f, cfg.AsOfDayRatioWarn, cfg.AsOfDayRatioBlock)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	assert.Equal(t, 1.0, r.Value)

	f.DayRows[0] = 0 // a closed day (dunnhumby, 2017-12-25): warns, never blocks by default
	r = gate.AsOfDayRows(f, cfg.AsOfDayRatioWarn, cfg.AsOfDayRatioBlock)
	assert.Equal(t, gate.Warn, r.Status, r.Message)
	assert.Equal(t, 0.0, r.Value)

	// A thin feed: median 5, one row tonight — ratio 0.2 < 0.25, but
	// P(N ≤ 1 | Poisson(5)) = 6e⁻⁵ ≈ 0.040 is chance: no warning.
	thin := feed("2024-06-30", "2024-01-01", "2024-06-30", 5, 20, "purchase")
	thin.DayRows[0] = 1
	r = gate.AsOfDayRows(thin, cfg.AsOfDayRatioWarn, cfg.AsOfDayRatioBlock)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	assert.InDelta(t, 0.2, r.Value, 1e-12)
	assert.Contains(t, r.Message, "P(N ≤ 1) = 0.04")
}

func TestEvaluateFeedFaults(t *testing.T) {
	last := feed("2024-06-29", "2024-01-01", "2024-06-29", 10, 20, "purchase")
	good := feed("2024-06-30", "2024-01-01", "2024-06-30", 10, 20, "purchase")
	rep := gate.Evaluate(gate.DefaultConfig(), gate.Input{RowsRead: good.Rows, Customers: 100,
		Last: &gate.Baseline{Rows: last.Rows, Customers: 100}, Feed: good, LastFeed: last})
	require.Equal(t, gate.Pass, rep.Status, rep.Summary())

	half := gate.Evaluate(gate.DefaultConfig(), gate.Input{RowsRead: good.Rows / 2, Customers: 50,
		Last: &gate.Baseline{Rows: last.Rows, Customers: 100}, Feed: good, LastFeed: last})
	assert.True(t, half.Blocked())
	assert.Contains(t, half.Summary(), "block: customers_drop (dropped by 0.5 > limit 0.1 (100 → 50))")
}
