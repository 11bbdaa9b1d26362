package pipeline

import (
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/store"
)

type predRow struct {
	id, stage, risk, tier, seg string
	prob, clv                  float64 // NaN = null
	buyer                      bool
}

func predRecord(mem memory.Allocator, rows []predRow) arrow.RecordBatch {
	return buildRecord(mem, len(rows), []column{
		strCol(PredCustomerID, func(i int) string { return rows[i].id }),
		strCol(PredLifecycleStage, func(i int) string { return rows[i].stage }),
		strCol(PredChurnRisk, func(i int) string { return rows[i].risk }),
		strCol(PredValueTier, func(i int) string { return rows[i].tier }),
		strCol(PredSegment, func(i int) string { return rows[i].seg }),
		strCol(PredRFMSegment, func(i int) string { return "Lost" }),
		strCol(PredTopReasons, func(i int) string { return `["days_since_last_purchase"]` }),
		f64Col(PredChurnProbability, func(i int) float64 { return rows[i].prob }),
		f64Col(PredPredictedCLV12m, func(i int) float64 { return rows[i].clv }),
		i32Col(PredDaysSinceLastPurchase, func(i int) bool { return rows[i].buyer }, func(int) int32 { return 3 }),
	})
}

// Changes against a hand-made previous night: every alert rule, stage_since
// carried or restarted, and percent ranks with ties (expected values worked
// by hand in the comments).
func TestChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	nan := math.NaN()
	d0, d1 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	since := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	prev := store.PreviousNight{AsOf: d0, Rows: map[string]store.PreviousRow{
		"a": {Stage: "mature", StageSince: since, ChurnRisk: "low", ValueTier: "A"},    // → high risk, tier A: two alerts
		"b": {Stage: "growing", StageSince: since, ChurnRisk: "high", ValueTier: "C"},  // → tier B at high risk: one alert
		"c": {Stage: "mature", StageSince: since, ChurnRisk: "medium", ValueTier: "C"}, // → declining
		"d": {Stage: "dormant", StageSince: since, ChurnRisk: "high", ValueTier: "A"},  // stays dormant at high: none
		"e": {Stage: "churned", StageSince: since, ChurnRisk: "", ValueTier: "C"},      // → reactivated; risk unknown before
		"f": {Stage: "growing", ChurnRisk: "low", ValueTier: "C"},                      // night before migration 7
		"p": {Stage: "prospect", StageSince: since},
	}}
	rows := []predRow{
		{"a", "mature", "high", "A", "A_high", 0.7, 300, true},
		{"b", "growing", "high", "B", "B_high", 0.8, 200, true},
		{"c", "declining", "medium", "C", "C_medium", 0.4, 100, true},
		{"d", "dormant", "high", "A", "A_high", 0.7, 300, true},
		{"e", "reactivated", "high", "C", "C_high", 0.9, 50, true},
		{"f", "growing", "low", "C", "C_low", 0.1, 10, true},
		{"g", "new", "low", "C", "C_low", 0.1, nan, true}, // first seen tonight
		{"p", "prospect", "", "C", "prospect", nan, nan, false},
	}
	pred := predRecord(mem, rows)
	defer pred.Release()
	out, alerts, err := Changes(mem, pred, d1, prev)
	require.NoError(t, err)
	defer out.Release()
	require.EqualValues(t, len(rows), out.NumRows())
	col := func(name string) arrow.Array {
		is := out.Schema().FieldIndices(name)
		require.Len(t, is, 1, name)
		return out.Column(is[0])
	}
	assert.Equal(t, int(pred.NumCols())+7, int(out.NumCols()))

	got := map[string][]string{}
	for _, a := range alerts {
		got[a.CustomerID] = append(got[a.CustomerID], a.Alert)
	}
	assert.Equal(t, map[string][]string{
		"a": {AlertRiskHigh, AlertHighValueAtRisk},
		"b": {AlertHighValueAtRisk},
		"c": {AlertEnteredDeclining},
		"e": {AlertReactivated},
	}, got)
	for _, a := range alerts {
		assert.NotEmpty(t, a.LabelEN)
		assert.NotEmpty(t, a.LabelZH)
		assert.NotEmpty(t, a.Action, "action from segment_labels of %s", a.Segment)
		assert.Equal(t, `["days_since_last_purchase"]`, a.TopReasons)
	}

	ps := col(PredPreviousStage).(*array.String)
	ss := col(PredStageSince).(*array.Date32)
	ch := col(PredChurnRiskChanged).(*array.Int32)
	wantSince := []time.Time{since, since, d1, since, d1, d0, d1, since}
	for i, r := range rows {
		assert.Equal(t, wantSince[i], ss.Value(i).ToTime(), "stage_since of %s", r.id)
		_, inPrev := prev.Rows[r.id]
		assert.Equal(t, inPrev, ps.IsValid(i), "previous_stage of %s", r.id)
	}
	// churn_risk_changed: a 1, b 0, c 0, d 0, e null (unknown before), f 0, g null, p null.
	for i, want := range []int{1, 0, 0, 0, -1, 0, -1, -1} {
		if want < 0 {
			assert.True(t, ch.IsNull(i), rows[i].id)
		} else {
			assert.EqualValues(t, want, ch.Value(i), rows[i].id)
		}
	}
	// churn over the 7 buyers: 0.1,0.1 (L=0 → 0), 0.4 (L=2 → 2/6·100), 0.7,0.7 (L=3 → 50),
	// 0.8 (L=5 → 83.3), 0.9 (L=6 → 100). CLV over 6 buyers with a value: 10 → 0, 50 → 20,
	// 100 → 40, 200 → 60, 300,300 → 80.
	cp := col(PredChurnPercentile).(*array.Float64)
	vp := col(PredCLVPercentile).(*array.Float64)
	sp := col(PredChurnPercentileInStage).(*array.Float64)
	wantChurn := []float64{50, 500.0 / 6, 100.0 / 3, 50, 100, 0, 0, -1}
	wantCLV := []float64{80, 60, 40, 80, 20, 0, -1, -1}
	for i := range rows {
		if wantChurn[i] < 0 {
			assert.True(t, cp.IsNull(i))
		} else {
			assert.InDelta(t, wantChurn[i], cp.Value(i), 1e-9, rows[i].id)
		}
		if wantCLV[i] < 0 {
			assert.True(t, vp.IsNull(i))
		} else {
			assert.InDelta(t, wantCLV[i], vp.Value(i), 1e-9, rows[i].id)
		}
	}
	// Within stage: mature has a alone → 0; growing has b 0.8 and f 0.1 → 100 and 0.
	assert.Equal(t, 0.0, sp.Value(0))
	assert.Equal(t, 100.0, sp.Value(1))
	assert.Equal(t, 0.0, sp.Value(5))
	assert.True(t, sp.IsNull(7))

	// The first night of a table: no alerts, stage_since = the night.
	out2, alerts2, err := Changes(mem, pred, d1, store.PreviousNight{})
	require.NoError(t, err)
	defer out2.Release()
	assert.Empty(t, alerts2)
}
