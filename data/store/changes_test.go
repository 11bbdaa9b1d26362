package store

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PreviousNight reads the newest history night before a day, with the v7
// columns; customer_alerts rows go in with the night and a rerun of the
// night replaces them.
func TestPreviousNightAndAlerts(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		d0, d1 := date(2024, 1, 1), date(2024, 1, 2)
		p, err := s.PreviousNight(ctx, d0)
		require.NoError(t, err)
		assert.True(t, p.AsOf.IsZero(), "no history yet")
		publishNight(t, s, d0, "n0", syntheticNight(10, 0))
		publishNight(t, s, d1, "n1", syntheticNight(8, 1))

		p, err = s.PreviousNight(ctx, d1)
		require.NoError(t, err)
		assert.Equal(t, d0, p.AsOf, "strictly before: a rerun of d1 compares with d0")
		require.Len(t, p.Rows, 10)
		assert.Equal(t, PreviousRow{Stage: stages[3]}, p.Rows["c0000003"], "no risk, tier or stage_since published")
		p, err = s.PreviousNight(ctx, date(2024, 3, 1))
		require.NoError(t, err)
		assert.Equal(t, d1, p.AsOf)
		assert.Len(t, p.Rows, 8)

		alerts := []Alert{
			{CustomerID: "c0000001", Alert: "risk_high", LabelEN: "Churn risk rose to high", LabelZH: "流失风险升至高",
				Stage: "mature", PrevStage: "growing", StageSince: d1, ChurnRisk: "high", PrevRisk: "low",
				ChurnProbability: 0.75, ValueTier: "A", Segment: "A_high", Action: "call", TopReasons: `["x"]`},
			{CustomerID: "c0000001", Alert: "high_value_at_risk", ChurnProbability: math.NaN()},
			{CustomerID: "c0000002", Alert: "entered_dormant", Stage: "dormant", ChurnProbability: math.NaN()},
		}
		for _, rerun := range []bool{false, true} {
			mem := newChecked(t)
			recs := customersRecords(mem, syntheticNight(8, 1), 3)
			pub := Publication{RunID: "n1b", AsOf: d1, Records: recs, Alerts: alerts}
			if rerun {
				pub.Alerts = alerts[2:]
			}
			require.NoError(t, s.Publish(ctx, pub))
			release(recs)
		}
		rows := query(t, s, "SELECT customer_id, alert, run_id FROM "+tbl(s, tAlerts)+" WHERE target_table = ? ORDER BY customer_id, alert", DefaultTable)
		assert.Equal(t, [][]any{{"c0000002", "entered_dormant", "n1b"}}, rows, "the rerun replaced the night's alerts")

		// A large night of alerts crosses several INSERT batches.
		many := make([]Alert, 2*alertBatch+7)
		for i := range many {
			many[i] = Alert{CustomerID: string(rune('a'+i%26)) + time.Duration(i).String(), Alert: "reactivated",
				Stage: "reactivated", StageSince: d1, ChurnProbability: float64(i) / 1000, Action: "re-onboard"}
		}
		mem := newChecked(t)
		recs := customersRecords(mem, syntheticNight(8, 1), 8)
		require.NoError(t, s.Publish(ctx, Publication{RunID: "n1c", AsOf: d1, Records: recs, Alerts: many}))
		release(recs)
		r := query(t, s, "SELECT count(*), count(churn_probability), count(stage_since), min(action) FROM "+tbl(s, tAlerts))
		assert.Equal(t, []any{int64(len(many)), int64(len(many)), int64(len(many)), "re-onboard"}, r[0])
		r = query(t, s, "SELECT label_en, label_zh, churn_probability, stage_since, top_reasons FROM "+tbl(s, tAlerts)+" WHERE customer_id = ?", many[5].CustomerID)
		require.Len(t, r, 1)
		assert.Nil(t, r[0][0])
		assert.InDelta(t, 0.005, r[0][2], 1e-12)
		assert.Equal(t, "2024-01-02", dayStr(r[0][3]))
	})
}

func newChecked(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}
