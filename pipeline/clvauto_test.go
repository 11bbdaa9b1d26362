package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// honestHistories are the shared real histories and the demo's synthetic
// one, each with an as-of day that leaves 90 days of future for the label.
func honestHistories(t *testing.T) []struct {
	name string
	in   Input
	asOf time.Time
} {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	dir := t.TempDir()
	hs := []struct {
		name string
		in   Input
		asOf time.Time
	}{}
	for _, c := range []struct{ name, rel, asOf string }{
		{"cdnow", "cdnow/cdnow_sample_interactions.csv", "1997-09-30"},
		{"cdnow_master", "cdnow_master/cdnow_master_interactions.csv", "1997-09-30"},
		{"dunnhumby", "dunnhumby/completejourney_sample_interactions.csv", "2017-10-02"},
	} {
		t.Run("locate "+c.name, func(t *testing.T) {
			hs = append(hs, struct {
				name string
				in   Input
				asOf time.Time
			}{c.name, Input{Path: testenv.SharedData(t, c.rel), Quarantine: dir + "/q-" + c.name + ".csv", MaxReject: 0.01}, day(c.asOf)})
		})
	}
	// The demo: 5,000 synthetic customers, seed 0, 2024-01-01 .. 2025-12-31.
	hs = append(hs, struct {
		name string
		in   Input
		asOf time.Time
	}{"demo", Input{Path: WriteTestSynth(t, 5000, 0), Quarantine: dir + "/q-demo.csv", MaxReject: 0.01}, TestSynthEnd.AddDate(0, 0, -90)})
	return hs
}

// TestPAliveHonest is the acceptance of issue 12 item 2 on every shared real
// history and the demo: with the default clv.model (auto) no one-time buyer
// has p_alive = 1; expected_next_purchase_date is null wherever p_alive is
// below DefaultMinPAliveETA; and ranking by 1 − p_alive separates the
// customers who make no purchase in the next 90 days at least as well as
// recency (days since the last purchase) alone: AUC(1 − p_alive) ≥ AUC(recency).
func TestPAliveHonest(t *testing.T) {
	for _, h := range honestHistories(t) {
		t.Run(h.name, func(t *testing.T) {
			ctx := context.Background()
			hist, err := LoadHistory(ctx, h.in, Options{})
			require.NoError(t, err)
			defer hist.Release()
			feat, err := hist.FeaturesAt(h.asOf, Options{})
			require.NoError(t, err)
			defer feat.Release()
			calEnd := h.asOf.AddDate(0, 0, -90)
			cal, err := hist.FeaturesAt(calEnd, Options{})
			require.NoError(t, err)
			defer cal.Release()
			m, err := FitCLVHoldout(feat, &Calibration{Features: cal, End: calEnd}, CLVOptions{})
			require.NoError(t, err)
			require.NotNil(t, m.Comparison, "the default model is auto")
			assert.NotEqual(t, "bgnbd", m.CountFit.Model)
			fc, err := newFeatureCols(feat)
			require.NoError(t, err)
			asOfDay := data.DayOf(h.asOf.UnixMilli())
			v, err := m.score(fc, asOfDay)
			require.NoError(t, err)
			future := hist.PurchaseDays(h.asOf.AddDate(0, 0, 90))
			var y, risk, recency []float64
			oneTime, withETA := 0, 0
			for i := 0; i < fc.id.Len(); i++ {
				if !fc.since.IsValid(i) {
					continue
				}
				pa := v.pAlive[i]
				require.False(t, math.IsNaN(pa))
				if fc.x.Value(i) == 0 {
					oneTime++
					assert.Less(t, pa, 1.0, "one-time buyer %s", fc.id.Value(i))
				}
				if v.nextDay[i] >= 0 {
					withETA++
					assert.GreaterOrEqual(t, pa, DefaultMinPAliveETA, "customer %s has a next purchase date", fc.id.Value(i))
				}
				churned := 1.0
				for _, d := range future[fc.id.Value(i)] {
					if d > asOfDay {
						churned = 0
					}
				}
				y = append(y, churned)
				risk = append(risk, 1-pa)
				recency = append(recency, float64(fc.since.Value(i)))
			}
			aucP, aucR := metrics.AUC(y, risk), metrics.AUC(y, recency)
			t.Logf("%s: model %s, %d buyers, %d one-time, %d with a next purchase date; 90-day churn AUC: 1−p_alive %.4f, recency %.4f",
				h.name, m.CountFit.Model, len(y), oneTime, withETA, aucP, aucR)
			assert.GreaterOrEqual(t, aucP, aucR, "AUC of 1 − p_alive vs recency")
		})
	}
}

// TestNightlyCalibrationInOneRead: clv.model: auto's calibration summary
// (the buyers at as_of − 90 days) comes from the night's one builder
// (features.WithCalibration); the comparison it records equals the one from
// a separate read and feature table at the calibration end, to the last bit.
func TestNightlyCalibrationInOneRead(t *testing.T) {
	input := WriteTestSynth(t, 2000, 11)
	dir := t.TempDir()
	in := Input{Path: input, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	res, err := Nightly(context.Background(), NightlyConfig{Input: in, AsOf: TestSynthEnd, DB: "sqlite:" + filepath.Join(dir, "p.db")}, Options{})
	require.NoError(t, err)
	clv, ok := res.Run.Details["clv"].(map[string]any)
	require.True(t, ok)
	got, ok := clv["model_choice"].(*ModelComparison)
	require.True(t, ok, "model auto records its comparison")

	feat, _, err := BuildFeatures(context.Background(), in, TestSynthEnd, Options{})
	require.NoError(t, err)
	defer feat.Release()
	calEnd := TestSynthEnd.AddDate(0, 0, -90)
	cal, _, err := BuildFeatures(context.Background(), in, calEnd, Options{})
	require.NoError(t, err)
	defer cal.Release()
	m, err := FitCLVHoldout(feat, &Calibration{Features: cal, End: calEnd}, CLVOptions{})
	require.NoError(t, err)
	require.NotNil(t, m.Comparison)
	assert.Equal(t, m.Comparison.Chosen, got.Chosen)
	assert.Equal(t, m.Comparison.Customers, got.Customers)
	require.Len(t, got.Candidates, len(m.Comparison.Candidates))
	for k, c := range m.Comparison.Candidates {
		assert.Equal(t, c.HoldoutMAE, got.Candidates[k].HoldoutMAE, c.Model)
		assert.Equal(t, c.LogLik, got.Candidates[k].LogLik, c.Model)
	}
}
