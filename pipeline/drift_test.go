package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// A closed cohort one night older: every age grows by one day, and on the
// first of a month tenure_months grows by one and activity_m<k> becomes
// last night's activity_m<k−1>. nightScope must compare like with like
// (PSI 0), and say what it left out.
func TestNightScopeShiftsTheCalendar(t *testing.T) {
	lastAsOf := time.Date(1998, 5, 31, 0, 0, 0, 0, time.UTC)
	asOf := lastAsOf.AddDate(0, 0, 1) // 1998-06-01: one day, one month boundary
	n := 1000
	col := func(f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	lastCols := map[string][]float64{
		"tenure_days":           col(func(i int) float64 { return float64(450 + i%90) }),
		"tenure_months":         col(func(i int) float64 { return float64(14 + i%3) }),
		"activity_m1":           col(func(i int) float64 { return float64(i % 2) }),
		"activity_m2":           col(func(i int) float64 { return float64(i % 5) }),
		"activity_earlier_mean": col(func(i int) float64 { return float64(i%7) / 7 }),
		"spend_mean":            col(func(i int) float64 { return float64(10 + i%50) }),
		"season_sin":            col(func(int) float64 { return 0.5 }),
	}
	tonight := map[string][]float64{
		"tenure_days":           col(func(i int) float64 { return float64(451 + i%90) }),
		"tenure_months":         col(func(i int) float64 { return float64(15 + i%3) }),
		"activity_m1":           col(func(i int) float64 { return float64(i % 3) }), // the new month
		"activity_m2":           col(func(i int) float64 { return float64(i % 2) }), // last night's m1
		"activity_earlier_mean": col(func(i int) float64 { return float64(i%6) / 6 }),
		"spend_mean":            col(func(i int) float64 { return float64(10 + i%50) }),
		"season_sin":            col(func(int) float64 { return 0.51 }),
	}
	prof := newNightProfile(nil, featureReferences(lastCols), nil)
	refs, vals, cmp := nightScope(prof.Features, tonight, lastAsOf, asOf)
	assert.ElementsMatch(t, []string{"tenure_days", "tenure_months", "activity_m2", "spend_mean"}, cmp.Features)
	assert.Equal(t, []string{"activity_m1"}, cmp.NotCompared["a calendar month not covered by the last published night"])
	assert.Equal(t, []string{"activity_earlier_mean"}, cmp.NotCompared["recomputed over another calendar month at a month boundary"])
	assert.Equal(t, []string{"season_sin"}, cmp.NotCompared[reasonCalendar])
	r, drift := gate.FeaturePSINight(refs, vals, 0.1, 0.25, 0)
	require.Len(t, drift, 4)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	assert.InDelta(t, 0, drift[0].PSI, 1e-12, "like with like: %v", drift)

	// Without the shifts the same night is a block (what the gate must avoid).
	raw := map[string]gate.Reference{"tenure_months": prof.Features["tenure_months"]}
	r, _ = gate.FeaturePSINight(raw, map[string][]float64{"tenure_months": tonight["tenure_months"]}, 0.1, 0.25, 0)
	assert.Equal(t, gate.Block, r.Status)
}

// The champion is compared only on calendar-stable features; every other
// feature is listed with its reason.
func TestChampionScope(t *testing.T) {
	compared, not := championScope([]string{"tenure_days", "spend_mean", "purchase_days_30", "bgnbd_p_alive", "brand_new_feature"})
	assert.Equal(t, []string{"spend_mean", "purchase_days_30"}, compared)
	assert.Equal(t, []string{"tenure_days"}, not[reasonAge])
	assert.Equal(t, []string{"bgnbd_p_alive"}, not[reasonBTYD])
	assert.Equal(t, []string{"brand_new_feature"}, not[reasonUnknown])
}

// TestFeatureReferencesParallel: the profile's references, computed on
// several goroutines, are each column's gate.NewReference; a column with
// no value is left out.
func TestFeatureReferencesParallel(t *testing.T) {
	cols := map[string][]float64{"empty": {}}
	for k := range 9 {
		v := make([]float64, 5000)
		for i := range v {
			v[i] = float64((i*(k+3))%(97+k)) + 0.5*float64(k)
		}
		cols[fmt.Sprintf("c%d", k)] = v
	}
	got := featureReferences(cols)
	require.Len(t, got, 9)
	assert.NotContains(t, got, "empty")
	for n, v := range cols {
		if len(v) == 0 {
			continue
		}
		want, err := gate.NewReference(v, 0)
		require.NoError(t, err)
		assert.Equal(t, want, got[n], n)
	}
}

// BenchmarkFeatureReferences bins 41 columns of 1 M values, as tier M's
// night profile does: on GOMAXPROCS goroutines (featureReferences) and one
// column after the other (serial).
func BenchmarkFeatureReferences(b *testing.B) {
	cols := map[string][]float64{}
	for k := range 41 {
		v := make([]float64, 1_000_000)
		for i := range v {
			v[i] = float64((i*2654435761 + k) % 1000003)
		}
		cols[fmt.Sprintf("c%d", k)] = v
	}
	b.Run("parallel", func(b *testing.B) {
		for range b.N {
			featureReferences(cols)
		}
	})
	b.Run("serial", func(b *testing.B) {
		for range b.N {
			for _, v := range cols {
				if _, err := gate.NewReference(v, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
