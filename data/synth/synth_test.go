package synth

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

func TestDeterminism(t *testing.T) {
	cfg := DefaultConfig(3000, winStart, winEnd, 42)
	a, sa, ra, ha := collect(t, cfg)
	b, sb, rb, hb := collect(t, cfg)
	require.NotEmpty(t, a)
	assert.Equal(t, sa, sb)
	assert.Equal(t, ra, rb)
	assert.Equal(t, ha, hb, "same seed must give identical rows")
	assert.Equal(t, len(a), len(b))

	// Record size must not change the rows.
	small := cfg
	small.BatchRows = 1000
	_, ss, rs, hs := collect(t, small)
	assert.Greater(t, rs, ra, "smaller BatchRows must give more records")
	assert.Equal(t, sa, ss)
	assert.Equal(t, ha, hs, "rows must not depend on BatchRows")

	// Nor the number of workers.
	prev := runtime.GOMAXPROCS(1)
	_, s1, _, h1 := collect(t, cfg)
	runtime.GOMAXPROCS(3)
	_, s3, _, h3 := collect(t, cfg)
	runtime.GOMAXPROCS(prev)
	assert.Equal(t, ha, h1, "GOMAXPROCS=1")
	assert.Equal(t, ha, h3, "GOMAXPROCS=3")
	assert.Equal(t, sa, s1)
	assert.Equal(t, sa, s3)

	other := cfg
	other.Seed = 43
	_, so, _, ho := collect(t, other)
	assert.NotEqual(t, ha, ho, "different seed must give different rows")
	assert.NotEqual(t, sa, so)

	// The first customers do not depend on how many customers there are.
	fewer := cfg
	fewer.Customers = 100
	f, _, _, _ := collect(t, fewer)
	require.NotEmpty(t, f)
	assert.True(t, slices.Equal(a[:len(f)], f), "first 100 customers identical")
}

func TestSchemaAndLayout(t *testing.T) {
	cfg := DefaultConfig(2000, winStart, winEnd, 3)
	rows, st, _, _ := collect(t, cfg)
	require.NotEmpty(t, rows)
	assert.Equal(t, int64(len(rows)), st.Events)
	assert.Equal(t, st.Events, st.Purchases+st.Returns+st.Visits+st.Support)
	assert.Equal(t, int64(2000), st.Customers)

	lastDay := data.DayOf(winEnd.UnixMilli())
	firstDay := data.DayOf(windowStartMs)
	counts := map[string]int64{}
	ids := map[string]bool{}
	for i, r := range rows {
		counts[r.typ]++
		ids[r.id] = true
		require.Len(t, r.id, 8, "id %q", r.id)
		require.True(t, strings.HasPrefix(r.id, "C"))
		d := data.DayOf(r.ms)
		require.True(t, d >= firstDay && d <= lastDay, "row %d day %d outside window", i, d)
		switch r.typ {
		case data.EventPurchase:
			require.True(t, r.valid)
			require.Greater(t, r.amount, 0.0)
			require.InDelta(t, math.Round(r.amount*100), r.amount*100, 1e-6, "cents")
		case data.EventReturn:
			require.True(t, r.valid)
			require.Less(t, r.amount, 0.0)
			require.InDelta(t, math.Round(r.amount*100), r.amount*100, 1e-6, "cents")
		case data.EventVisit, data.EventSupport:
			require.False(t, r.valid, "row %d %s has amount %v", i, r.typ, r.amount)
		default:
			t.Fatalf("row %d: unknown type %q", i, r.typ)
		}
		if i > 0 {
			p := rows[i-1]
			require.True(t, p.id < r.id || (p.id == r.id && p.ms <= r.ms), "rows %d,%d out of order", i-1, i)
		}
	}
	assert.Equal(t, map[string]int64{
		data.EventPurchase: st.Purchases, data.EventReturn: st.Returns,
		data.EventVisit: st.Visits, data.EventSupport: st.Support,
	}, counts)
	for _, typ := range []string{data.EventPurchase, data.EventReturn, data.EventVisit, data.EventSupport} {
		assert.Positive(t, counts[typ], "event type %q present", typ)
	}
	assert.True(t, ids["C0000001"] && ids["C0002000"], "ids C0000001…C0002000")
	assert.LessOrEqual(t, len(ids), 2000)
	assert.Greater(t, len(ids), 1990, "nearly every customer has an event in the window")
}

// TestRealism checks the shares the downstream work relies on, on 20,000
// default customers. Expected values and ranges:
//   - prospects: ProspectShare = 5 % exactly in expectation (σ ≈ 0.15 %);
//     range [3 %, 7 %].
//   - same-day repeat purchases (a purchase on a customer-day that already
//     has one, over all purchases): SameDayRate 3 % plus coincidences of
//     frequent buyers; CDNOW has 223/6,919 = 3.2 %. Range [2 %, 8 %].
//   - customers whose first event is in the last 90 days: with Growth 2 the
//     acquisition density ∝ 2^(t/N) puts (2 − 2^(640/730)) = 16.4 % of the
//     mass in the last 90 of 730 days; the Nov/Dec uplift adds some. Range
//     [12 %, 24 %].
//   - visits per purchase ≈ VisitsPerPurchase = 3 (window edges and the
//     slow-down before death lower it a little): range [2.4, 3.6].
//   - returns per purchase ≈ ReturnRate 6 %, raised by the warning phase:
//     range [5 %, 10 %].
func TestRealism(t *testing.T) {
	const n = 20000
	cfg := DefaultConfig(n, winStart, winEnd, 11)
	rows, st, _, _ := collect(t, cfg)
	custs := customerRows(rows)
	require.Greater(t, len(custs), n*99/100)

	prospects, sameDay, purchases, late := 0, 0, 0, 0
	fullReturns, returns := 0, 0
	for _, c := range custs {
		bought := false
		lastPurchaseDay := -1
		var amounts []float64
		for _, r := range c {
			switch r.typ {
			case data.EventPurchase:
				bought = true
				purchases++
				d := dayIdx(r.ms)
				if d == lastPurchaseDay {
					sameDay++
				}
				lastPurchaseDay = d
				amounts = append(amounts, r.amount)
			case data.EventReturn:
				returns++
				require.NotEmpty(t, amounts, "%s: return before any purchase", r.id)
				ok, full := false, false
				for _, a := range amounts {
					if -r.amount <= a+1e-9 {
						ok = true
					}
					if math.Abs(a+r.amount) < 1e-9 {
						full = true
					}
				}
				require.True(t, ok, "%s: return %v exceeds every prior purchase", r.id, r.amount)
				if full {
					fullReturns++
				}
			}
		}
		if !bought {
			prospects++
		}
		if dayIdx(c[0].ms) >= 730-90 {
			late++
		}
	}
	prospectShare := float64(prospects) / n
	sameShare := float64(sameDay) / float64(purchases)
	lateShare := float64(late) / n
	vpp := float64(st.Visits) / float64(st.Purchases)
	rpp := float64(st.Returns) / float64(st.Purchases)
	t.Logf("prospects %.4f same-day %.4f first-in-last-90 %.4f visits/purchase %.3f returns/purchase %.4f full returns %.3f events/customer %.1f",
		prospectShare, sameShare, lateShare, vpp, rpp, float64(fullReturns)/float64(returns), float64(st.Events)/n)
	assert.InDelta(t, 0.05, prospectShare, 0.02, "prospects")
	assert.True(t, sameShare >= 0.02 && sameShare <= 0.08, "same-day share %v", sameShare)
	assert.True(t, lateShare >= 0.12 && lateShare <= 0.24, "first event in last 90 days %v", lateShare)
	assert.True(t, vpp >= 2.4 && vpp <= 3.6, "visits per purchase %v", vpp)
	assert.True(t, rpp >= 0.05 && rpp <= 0.10, "returns per purchase %v", rpp)
	// 70 % of returns are full by construction; partial ones may coincide.
	assert.InDelta(t, 0.7, float64(fullReturns)/float64(returns), 0.06, "full returns")
}

func TestConfigErrors(t *testing.T) {
	base := DefaultConfig(10, winStart, winEnd, 1)
	cases := []struct {
		name string
		mod  func(*Config)
	}{
		{"negative customers", func(c *Config) { c.Customers = -1 }},
		{"end before start", func(c *Config) { c.End = c.Start.AddDate(0, 0, -1) }},
		{"zero start", func(c *Config) { c.Start = time.Time{} }},
		{"R zero", func(c *Config) { c.R = 0 }},
		{"Alpha NaN", func(c *Config) { c.Alpha = math.NaN() }},
		{"B Inf", func(c *Config) { c.B = math.Inf(1) }},
		{"Q negative", func(c *Config) { c.Q = -1 }},
		{"ReturnRate > 1", func(c *Config) { c.ReturnRate = 1.5 }},
		{"ProspectShare negative", func(c *Config) { c.ProspectShare = -0.1 }},
		{"Seasonality 2", func(c *Config) { c.Seasonality = 2 }},
		{"BatchRows negative", func(c *Config) { c.BatchRows = -5 }},
		{"EventsPerCustomer NaN", func(c *Config) { c.EventsPerCustomer = math.NaN() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			_, err := Generate(context.Background(), c, memory.NewGoAllocator(), func(arrow.RecordBatch) error { return nil })
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
	_, err := Tier("XL")
	assert.ErrorIs(t, err, ErrConfig)

	// A target far beyond what scaling λ can reach: even at 2^10 times the
	// rate the dropout ends lives; 10^6 events per customer is unreachable.
	c := base
	c.EventsPerCustomer = 1e6
	_, err = Calibrate(c)
	assert.ErrorIs(t, err, ErrConfig)

	// Zero customers: nothing emitted, no error.
	c = base
	c.Customers = 0
	st, err := Generate(context.Background(), c, memory.NewGoAllocator(), func(arrow.RecordBatch) error {
		t.Fatal("emit called")
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, Stats{}, st)
}

func TestTier(t *testing.T) {
	// Sizes from the brief: S 10k/~1 M, M 1 M/~50 M, L 10 M/~500 M.
	for _, tc := range []struct {
		name      string
		customers int
		epc       float64
	}{{"S", 10_000, 100}, {"M", 1_000_000, 50}, {"L", 10_000_000, 50}} {
		c, err := Tier(tc.name)
		require.NoError(t, err)
		assert.Equal(t, tc.customers, c.Customers)
		assert.Equal(t, tc.epc, c.EventsPerCustomer)
		assert.Equal(t, winStart, c.Start)
		assert.Equal(t, winEnd, c.End)
	}
	if testing.Short() {
		t.Skip("generates tier S")
	}
	c, err := Tier("S")
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := 0
	st, err := Generate(context.Background(), c, mem, func(r arrow.RecordBatch) error {
		recs++
		return nil
	})
	require.NoError(t, err)
	t.Logf("tier S: %+v in %d records", st, recs)
	// Pilot sampling error of the calibration is a few percent: ±10 %.
	assert.InEpsilon(t, 1_000_000, float64(st.Events), 0.10)
	// About 64k rows per record.
	assert.InEpsilon(t, float64(st.Events)/DefaultBatchRows, float64(recs), 0.25)
}

func TestEmitErrorAndCancel(t *testing.T) {
	cfg := DefaultConfig(5000, winStart, winEnd, 5)
	cfg.BatchRows = 2000
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	boom := errors.New("boom")
	var kept []arrow.RecordBatch
	calls := 0
	st, err := Generate(context.Background(), cfg, mem, func(r arrow.RecordBatch) error {
		calls++
		if calls == 3 {
			return boom
		}
		r.Retain()
		kept = append(kept, r)
		return nil
	})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 3, calls, "no emit after an error")
	var rows int64
	for _, r := range kept {
		rows += r.NumRows()
		r.Release()
	}
	assert.Equal(t, rows, st.Events, "stats count the records emitted successfully")

	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	_, err = Generate(ctx, cfg, mem, func(r arrow.RecordBatch) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return nil
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 2, calls)
}

func TestCustomerProfileMatchesEvents(t *testing.T) {
	cfg := DefaultConfig(300, winStart, winEnd, 9)
	rows, _, _, _ := collect(t, cfg)
	byID := map[string][]row{}
	for _, c := range customerRows(rows) {
		byID[c[0].id] = c
	}
	for i := range 300 {
		p, err := CustomerProfile(cfg, i)
		require.NoError(t, err)
		evs := byID[p.ID]
		var purchases []int64
		for _, r := range evs {
			if r.typ == data.EventPurchase {
				purchases = append(purchases, r.ms)
			}
		}
		if p.Prospect {
			assert.Empty(t, purchases, "%s prospect", p.ID)
			continue
		}
		require.NotEmpty(t, purchases, p.ID)
		// First purchase at acquisition (same day); none after the final death.
		assert.Equal(t, int(math.Floor(p.Acquired)), dayIdx(purchases[0]), p.ID)
		if !p.Alive() {
			assert.LessOrEqual(t, dayIdx(purchases[len(purchases)-1]), int(math.Floor(p.Death)), p.ID)
		}
	}
	_, err := CustomerProfile(cfg, 300)
	assert.ErrorIs(t, err, ErrConfig)
}
