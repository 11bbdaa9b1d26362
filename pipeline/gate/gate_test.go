package gate_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// seq returns lo, lo+1, …, hi.
func seq(lo, hi int) []float64 {
	var v []float64
	for i := lo; i <= hi; i++ {
		v = append(v, float64(i))
	}
	return v
}

// rep returns n copies of x.
func rep(x float64, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = x
	}
	return v
}

func cat(parts ...[]float64) []float64 {
	var v []float64
	for _, p := range parts {
		v = append(v, p...)
	}
	return v
}

// Expected values are hand computations of PSI = Σ (a−e)·ln(a/e) with empty
// shares replaced by ε = 1e-4 (evaluated with a calculator, python math.log).
func TestPSIShares(t *testing.T) {
	const eps = 1e-4
	cases := []struct {
		name     string
		expected []float64
		actual   []float64
		want     float64
	}{
		{"identical", []float64{0.2, 0.3, 0.5}, []float64{0.2, 0.3, 0.5}, 0},
		// (0.25−0.5)·ln(0.25/0.5) + (0.75−0.5)·ln(0.75/0.5) = 0.173287 + 0.101366
		{"half to quarter", []float64{0.5, 0.5}, []float64{0.25, 0.75}, 0.2746530721670274},
		// 0.5·ln 2 + (ε−0.5)·ln(ε/0.5)
		{"empty actual bin", []float64{0.5, 0.5}, []float64{1, 0}, 4.60431846666895},
		{"both empty", []float64{0.5, 0.5, 0}, []float64{0.25, 0.75, 0}, 0.2746530721670274},
		// symmetric in a and e
		{"swapped", []float64{0.25, 0.75}, []float64{0.5, 0.5}, 0.2746530721670274},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, gate.PSIShares(tc.expected, tc.actual), 1e-12)
		})
	}
	assert.Equal(t, eps, gate.Epsilon)
	assert.Panics(t, func() { gate.PSIShares([]float64{1}, []float64{0.5, 0.5}) })
}

func TestNewReferenceQuantileBins(t *testing.T) {
	cases := []struct {
		name   string
		sample []float64
		bins   int
		edges  []float64
		shares []float64
		nan    float64
	}{
		// 1..100: the k/10 quantiles are 10, 20, …, 90; ten bins of 10 values.
		{"deciles", seq(1, 100), 0, []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}, rep(0.1, 10), 0},
		// 70 zeros and 30 ones: quantiles 1..7 are 0, quantile 8 is the maximum.
		{"ties merged", cat(rep(0, 70), rep(1, 30)), 10, []float64{0}, []float64{0.7, 0.3}, 0},
		{"constant", rep(3, 10), 10, nil, []float64{1}, 0},
		// 3 finite values in 2 bins: ⌈3/2⌉-th smallest = 2; NaN is a quarter of the sample.
		{"NaN bin", []float64{3, 1, math.NaN(), 2}, 2, []float64{2}, []float64{0.5, 0.25}, 0.25},
		{"all NaN", rep(math.NaN(), 4), 10, nil, []float64{0}, 1},
		// +Inf is a value; an infinite edge is clamped so the JSON stays valid.
		{"infinite", []float64{math.Inf(-1), 0, 1, math.Inf(1)}, 4, []float64{-math.MaxFloat64, 0, 1}, rep(0.25, 4), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := gate.NewReference(tc.sample, tc.bins)
			require.NoError(t, err)
			assert.Equal(t, tc.edges, ref.Edges)
			assert.InDeltaSlice(t, tc.shares, ref.Shares, 1e-15)
			assert.InDelta(t, tc.nan, ref.NaNShare, 1e-15)
			assert.Equal(t, len(tc.sample), ref.N)
			// The reference against its own sample has PSI 0.
			assert.InDelta(t, 0, gate.PSI(ref, tc.sample), 1e-15)
			_, err = json.Marshal(ref)
			assert.NoError(t, err)
		})
	}
	_, err := gate.NewReference(nil, 10)
	assert.ErrorIs(t, err, gate.ErrEmptySample)
	assert.Panics(t, func() { _, _ = gate.NewReference([]float64{1}, -1) })
}

func TestPSIAgainstReference(t *testing.T) {
	const eps = 1e-4
	deciles, err := gate.NewReference(seq(1, 100), 10)
	require.NoError(t, err)
	halves, err := gate.NewReference(cat(rep(0, 50), rep(1, 50)), 10)
	require.NoError(t, err)
	withNaN, err := gate.NewReference([]float64{3, 1, math.NaN(), 2}, 2)
	require.NoError(t, err)
	cases := []struct {
		name   string
		ref    gate.Reference
		values []float64
		want   float64
	}{
		// 1..50 fill bins 0–4 with 0.2 each: 5·0.1·ln 2 + 5·(ε−0.1)·ln(ε/0.1)
		{"lower half", deciles, seq(1, 50), 5*0.1*math.Log(2) + 5*(eps-0.1)*math.Log(eps/0.1)},
		// 11..110: bin 0 empty, bins 1–8 at 0.1, bin 9 holds 91..110 = 0.2
		{"shift by 10", deciles, seq(11, 110), 0.7593994704263101},
		// same distribution, other sample size
		{"resampled", deciles, cat(seq(1, 100), seq(1, 100)), 0},
		// 30 % zeros instead of 50 %: 0.2·ln(5/3) + 0.2·ln(1.4)
		{"30/70", halves, cat(rep(0, 30), rep(1, 70)), 0.2*math.Log(5.0/3) + 0.2*math.Log(1.4)},
		// only NaN today: (ε−.5)ln(ε/.5) + (ε−.25)ln(ε/.25) + .75·ln 4
		{"all NaN", withNaN, rep(math.NaN(), 2), 7.252694745341882},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, gate.PSI(tc.ref, tc.values), 1e-12)
		})
	}
	assert.True(t, math.IsNaN(gate.PSI(deciles, nil)))
	assert.Panics(t, func() { gate.PSI(gate.Reference{}, []float64{1}) })
}

// A reference survives a JSON round trip (it is stored with the model).
func TestReferenceJSONRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sample := make([]float64, 1000)
	for i := range sample {
		sample[i] = rng.NormFloat64()
	}
	ref, err := gate.NewReference(sample, 10)
	require.NoError(t, err)
	b, err := json.Marshal(ref)
	require.NoError(t, err)
	var back gate.Reference
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, ref, back)
	assert.Len(t, ref.Edges, 9)
	assert.InDeltaSlice(t, rep(0.1, 10), ref.Shares, 1e-12)
}

// Large samples from the same distribution have PSI near 0; a shift of one
// standard deviation is far above the block level 0.25 (for a normal shift
// by d, PSI ≈ d² for fine bins: the symmetrised KL of N(0,1) and N(d,1)).
func TestPSISameAndShiftedNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	draw := func(n int, mu float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = mu + rng.NormFloat64()
		}
		return v
	}
	ref, err := gate.NewReference(draw(20000, 0), 10)
	require.NoError(t, err)
	assert.Less(t, gate.PSI(ref, draw(20000, 0)), 0.01)
	shifted := gate.PSI(ref, draw(20000, 1))
	assert.Greater(t, shifted, 0.25)
	assert.Less(t, shifted, 1.0) // below d² = 1: ten bins lose some of the divergence
}

func TestDrop(t *testing.T) {
	cases := []struct {
		name      string
		prev, cur int64
		value     float64
		status    string
	}{
		{"no previous run", 0, 100, math.NaN(), gate.Pass},
		{"grew", 100, 150, 0, gate.Pass},
		{"half is not more than half", 100, 50, 0.5, gate.Pass},
		{"more than half", 100, 49, 0.51, gate.Block},
		{"to zero", 100, 0, 1, gate.Block},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gate.Drop(gate.CheckRowsDrop, tc.prev, tc.cur, 0, 0.5)
			assert.Equal(t, tc.status, r.Status, r.Message)
			if math.IsNaN(tc.value) {
				assert.True(t, math.IsNaN(r.Value))
			} else {
				assert.InDelta(t, tc.value, r.Value, 1e-15)
			}
		})
	}
	assert.Equal(t, gate.Warn, gate.Drop(gate.CheckCustomersDrop, 100, 70, 0.2, 0.5).Status)
	assert.Equal(t, gate.Pass, gate.Drop(gate.CheckCustomersDrop, 100, 1, 0, 0).Status, "a zero limit is off")
}

func TestRejectRate(t *testing.T) {
	assert.Equal(t, gate.Pass, gate.RejectRate(1000, 10, 0, 0.01).Status, "1 % is not above 1 %")
	r := gate.RejectRate(1000, 11, 0, 0.01)
	assert.Equal(t, gate.Block, r.Status)
	assert.InDelta(t, 0.011, r.Value, 1e-15)
	assert.Contains(t, r.Message, "11 of 1000 rows")
	assert.Equal(t, gate.Pass, gate.RejectRate(0, 0, 0, 0.01).Status)
}

func TestFeaturePSIWorstFirst(t *testing.T) {
	halves, err := gate.NewReference(cat(rep(0, 50), rep(1, 50)), 10)
	require.NoError(t, err)
	refs := map[string]gate.Reference{"a": halves, "b": halves, "c": halves, "no_values": halves}
	values := map[string][]float64{
		"a":          cat(rep(0, 40), rep(1, 60)), // 0.1·ln(1.25)+0.1·ln(1.2) = 0.0405
		"b":          cat(rep(0, 30), rep(1, 70)), // 0.1695: warn
		"c":          cat(rep(0, 50), rep(1, 50)), // 0
		"no_ref":     rep(1, 10),
		"no_values2": nil,
	}
	r, drift := gate.FeaturePSI(refs, values, 0.1, 0.25, 2)
	assert.Equal(t, gate.Warn, r.Status, r.Message)
	require.Len(t, drift, 3)
	assert.Equal(t, []string{"b", "a", "c"}, []string{drift[0].Feature, drift[1].Feature, drift[2].Feature})
	assert.InDelta(t, 0.2*math.Log(5.0/3)+0.2*math.Log(1.4), r.Value, 1e-12)
	assert.InDelta(t, 0.1*math.Log(1.25)+0.1*math.Log(1.2), drift[1].PSI, 1e-12)
	assert.Contains(t, r.Message, "worst: b 0.169, a 0.041")
	assert.NotContains(t, r.Message, "c 0")

	values["c"] = cat(rep(0, 25), rep(1, 75)) // 0.2747 ≥ 0.25
	r, _ = gate.FeaturePSI(refs, values, 0.1, 0.25, 0)
	assert.Equal(t, gate.Block, r.Status)
	assert.Contains(t, r.Message, "worst: c 0.275")

	r, drift = gate.FeaturePSI(nil, values, 0.1, 0.25, 0)
	assert.Equal(t, gate.Pass, r.Status)
	assert.Nil(t, drift)
	assert.Contains(t, r.Message, "skipped")
}

func TestEvaluate(t *testing.T) {
	scoreRef, err := gate.NewReference(seq(1, 100), 10)
	require.NoError(t, err)
	halves, err := gate.NewReference(cat(rep(0, 50), rep(1, 50)), 10)
	require.NoError(t, err)
	good := gate.Input{
		RowsRead: 1000, RowsRejected: 5, Customers: 100,
		Last:        &gate.Baseline{RunID: "r1", Rows: 990, Customers: 98},
		FeatureRefs: map[string]gate.Reference{"recency": halves},
		Features:    map[string][]float64{"recency": cat(rep(0, 49), rep(1, 51))},
		ScoreRef:    &scoreRef, Scores: seq(1, 100),
	}
	cfg := gate.DefaultConfig()
	report := gate.Evaluate(cfg, good)
	assert.Equal(t, gate.Pass, report.Status, report.Summary())
	assert.False(t, report.Blocked())
	assert.Equal(t, "all gates pass", report.Summary())
	names := []string{}
	for _, r := range report.Results {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"rows_drop", "customers_drop", "reject_rate", "day_rows", "asof_day_rows", "time_span",
		"event_mix", "amount_psi", "feature_psi_night", "feature_psi", "score_psi_night", "score_psi"}, names)

	first := good
	first.Last = nil
	assert.Equal(t, gate.Pass, gate.Evaluate(cfg, first).Status)

	drifted := good
	drifted.Features = map[string][]float64{"recency": cat(rep(0, 30), rep(1, 70))}
	report = gate.Evaluate(cfg, drifted)
	assert.Equal(t, gate.Warn, report.Status)
	assert.False(t, report.Blocked())
	assert.Len(t, report.Failed(gate.Warn), 1)

	shifted := good
	shifted.Scores = seq(11, 110) // PSI 0.759
	shifted.Customers = 40        // dropped by 0.59
	report = gate.Evaluate(cfg, shifted)
	assert.True(t, report.Blocked())
	blocked := report.Failed(gate.Block)
	require.Len(t, blocked, 1)
	assert.Equal(t, "customers_drop", blocked[0].Name)
	// Against the champion the score PSI only warns (scores move with the calendar).
	assert.Contains(t, report.Summary(), "warn: score_psi (churn score PSI 0.7594")
	// Night over night it blocks.
	night := shifted
	night.NightScoreRef = &scoreRef
	report = gate.Evaluate(cfg, night)
	assert.Contains(t, report.Summary(), "block: score_psi_night")

	// The JSON form: non-finite values are null, thresholds kept, round trip.
	report = gate.Evaluate(cfg, first)
	var back gate.Report
	require.NoError(t, json.Unmarshal(report.JSON(), &back))
	assert.Equal(t, report.Status, back.Status)
	require.Len(t, back.Results, 12)
	assert.True(t, math.IsNaN(back.Results[0].Value), "skipped drop check")
	assert.Equal(t, 0.1, back.Results[0].Block)
	assert.Equal(t, report.Results[9], back.Results[9])
	var raw map[string]any
	require.NoError(t, json.Unmarshal(report.JSON(), &raw))
	first0 := raw["results"].([]any)[0].(map[string]any)
	assert.Nil(t, first0["value"])
	assert.NotContains(t, first0, "warn", "unset thresholds are omitted")
}

func ExamplePSI() {
	// Reference: the training sample 1..100 in ten decile bins.
	ref, _ := gate.NewReference(seq(1, 100), 10)
	// Tonight everything moved up by 10: bin 0 is empty, the top bin doubles.
	fmt.Printf("edges %v\n", ref.Edges)
	fmt.Printf("PSI %.4f\n", gate.PSI(ref, seq(11, 110)))
	// Output:
	// edges [10 20 30 40 50 60 70 80 90]
	// PSI 0.7594
}

func ExampleEvaluate() {
	rep := gate.Evaluate(gate.DefaultConfig(), gate.Input{
		RowsRead: 400, Customers: 40,
		Last: &gate.Baseline{Rows: 1000, Customers: 100},
	})
	fmt.Println(rep.Status, rep.Blocked())
	fmt.Println(rep.Summary())
	// Output:
	// block true
	// block: rows_drop (dropped by 0.6 > limit 0.1 (1000 → 400)); block: customers_drop (dropped by 0.6 > limit 0.1 (100 → 40))
}

func BenchmarkPSI(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	v := make([]float64, 100000)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	ref, err := gate.NewReference(v, 10)
	require.NoError(b, err)
	b.ResetTimer()
	for range b.N {
		gate.PSI(ref, v)
	}
}

func BenchmarkNewReference(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	v := make([]float64, 100000)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	b.ResetTimer()
	for range b.N {
		_, _ = gate.NewReference(v, 10)
	}
}

// TestNightCheckedSameAsValues: a night evaluated with the feature_psi_night
// check computed earlier (Input.NightChecked, the values dropped) reports
// what the evaluation with the values reports, for a passing, a warning and
// a blocking drift.
func TestNightCheckedSameAsValues(t *testing.T) {
	halves, err := gate.NewReference(cat(rep(0, 50), rep(1, 50)), 10)
	require.NoError(t, err)
	cfg := gate.DefaultConfig()
	for _, ones := range []int{51, 70, 95} {
		in := gate.Input{RowsRead: 1000, Customers: 100,
			NightRefs:     map[string]gate.Reference{"recency": halves, "tenure": halves},
			NightFeatures: map[string][]float64{"recency": cat(rep(0, 100-ones), rep(1, ones)), "tenure": cat(rep(0, 50), rep(1, 50))}}
		want := gate.Evaluate(cfg, in)
		checked := in
		checked.NightChecked = gate.NightFeatureCheck(cfg, in)
		checked.NightRefs, checked.NightFeatures = nil, nil
		got := gate.Evaluate(cfg, checked)
		// As JSON: the skipped checks' NaN values are null there (NaN ≠ NaN).
		wj, err := json.Marshal(want)
		require.NoError(t, err)
		gj, err := json.Marshal(got)
		require.NoError(t, err)
		assert.JSONEq(t, string(wj), string(gj), "%d of 100 in the upper half", ones)
		assert.Equal(t, want.Status, got.Status)
		assert.NotEmpty(t, got.DriftNight)
	}
}
