package pipeline

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/models/registry"
)

// The advice rests on the newest all-buyers outcome of the version; each
// margin can trigger it on its own.
func TestAdviseRetrain(t *testing.T) {
	d := func(day int) time.Time { return time.Date(1998, 1, day, 0, 0, 0, 0, time.UTC) }
	test := registry.Metrics{AUC: 0.80, ECE: 0.02}
	outs := []store.Outcome{
		{AsOf: d(2), ModelVersion: "v1", AUC: 0.70, ECE: 0.02},             // old and bad: ignored
		{AsOf: d(3), ModelVersion: "v1", AUC: 0.78, ECE: 0.03},             // newest of v1
		{AsOf: d(4), ModelVersion: "v1", CLVDecile: 3, AUC: 0.5, ECE: 0.5}, // a decile row: ignored
		{AsOf: d(5), ModelVersion: "v1", AUC: math.NaN(), ECE: math.NaN()}, // one class only: ignored
		{AsOf: d(5), ModelVersion: "v2", AUC: 0.60, ECE: 0.01},
	}
	a := AdviseRetrain(outs, "v1", test, OutcomeOptions{})
	assert.False(t, a.Recommended, a.Reason)
	assert.Equal(t, d(3), a.Night)
	a = AdviseRetrain(outs, "v1", test, OutcomeOptions{MaxAUCDrop: 0.01})
	assert.True(t, a.Recommended)
	assert.Contains(t, a.Reason, "realized AUC 0.7800")
	a = AdviseRetrain(outs, "v1", test, OutcomeOptions{MaxECERise: 0.005})
	assert.True(t, a.Recommended)
	assert.Contains(t, a.Reason, "realized ECE 0.0300")
	a = AdviseRetrain(outs, "v3", test, OutcomeOptions{})
	assert.False(t, a.Recommended)
	assert.True(t, a.Night.IsZero())
}

// CLV deciles share ties and partition the buyers with a CLV; churn is no
// purchase day in the horizon (worked by hand).
func TestComputeOutcomesByHand(t *testing.T) {
	nan := math.NaN()
	rows := []store.NightRow{
		{CustomerID: "a", Buyer: true, PurchaseDays: 2, HistoricValue: 10, ChurnProb: 0.9, CLV: 5, ExpPurchases: 0.5, AvgSpend: 10, PredictedStage: "dormant", ModelVersion: "v1"},
		{CustomerID: "b", Buyer: true, PurchaseDays: 1, HistoricValue: 20, ChurnProb: 0.2, CLV: 5, ExpPurchases: 1, AvgSpend: 20, PredictedStage: "growing", ModelVersion: "v1"},
		{CustomerID: "c", Buyer: true, PurchaseDays: 4, HistoricValue: 30, ChurnProb: 0.4, CLV: 50, ExpPurchases: 2, AvgSpend: 15, PredictedStage: "mature", ModelVersion: "v1"},
		{CustomerID: "p", Buyer: false, ChurnProb: nan, CLV: nan, ExpPurchases: nan, AvgSpend: nan},
	}
	real := map[string]Realized{
		"a": {PurchaseDays: 2, NetSpend: 10, Stage: "dormant"}, // churned
		"b": {PurchaseDays: 3, NetSpend: 60, Stage: "mature"},  // 2 purchase days, 40 spent
		"c": {PurchaseDays: 5, NetSpend: 45, Stage: "mature"},  // 1 purchase day, 15 spent
		"p": {},
	}
	out := ComputeOutcomes(rows, real, time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC), 90)
	// v1 all, decile 1 (a, b: CLV 5, L=0), decile 7 (c: L=2 → ⌊20/3⌋+1).
	if assert.Len(t, out, 3) {
		all := out[0]
		assert.Equal(t, 0, all.CLVDecile)
		assert.EqualValues(t, 3, all.Customers)
		assert.InDelta(t, 1.0/3, all.RealChurnRate, 1e-12)
		assert.Equal(t, 1.0, all.AUC, "the churner has the highest probability")
		assert.InDelta(t, (0.01+0.04+0.16)/3, all.Brier, 1e-12)
		assert.InDelta(t, 3.5, all.PredPurchases, 1e-12)
		assert.InDelta(t, 3, all.RealPurchases, 1e-12)
		assert.InDelta(t, 5+20+30, all.PredSpend, 1e-12)
		assert.InDelta(t, 55, all.RealSpend, 1e-12)
		assert.InDelta(t, 2.0/3, all.StageAccuracy, 1e-12)
		assert.Equal(t, 1, out[1].CLVDecile)
		assert.EqualValues(t, 2, out[1].Customers)
		assert.Equal(t, 7, out[2].CLVDecile)
		assert.EqualValues(t, 1, out[2].Customers)
		assert.True(t, math.IsNaN(out[2].AUC), "one class in the group")
		assert.Equal(t, time.Date(1998, 4, 1, 0, 0, 0, 0, time.UTC), all.EvaluatedAsOf)
	}
}
