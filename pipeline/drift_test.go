package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
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

// BenchmarkTonightProfile bins the numeric feature columns of 100,000
// synthetic customers for the night profile: one column at a time on
// GOMAXPROCS goroutines (tonightProfile) and, as before, the whole table
// copied to float64 first and binned one column after the other.
func BenchmarkTonightProfile(b *testing.B) {
	in := Input{Path: WriteTestSynth(b, 100_000, 1), MaxReject: 0.01, Quarantine: b.TempDir() + "/q.csv"}
	feat, _, err := BuildFeatures(context.Background(), in, TestSynthEnd, Options{})
	require.NoError(b, err)
	defer feat.Release()
	b.Run("column at a time", func(b *testing.B) {
		for range b.N {
			tonightProfile(feat, nil, time.Time{}, TestSynthEnd)
		}
	})
	b.Run("whole table, serial", func(b *testing.B) {
		for range b.N {
			for _, v := range numericColumns(feat) {
				if _, err := gate.NewReference(v, 0); err != nil && len(v) > 0 {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestTonightProfileMatchesWholeTable: the profile and the night-over-night
// check computed one column at a time (tonightProfile) equal those of the
// whole table's float copies (numericColumns, nightScope,
// NightFeatureCheck, featureReferences), against a night one day and one
// month boundary earlier, and a week earlier, and with no last night.
func TestTonightProfileMatchesWholeTable(t *testing.T) {
	in := Input{Path: WriteTestSynth(t, 3000, 5), MaxReject: 0.01, Quarantine: t.TempDir() + "/q.csv"}
	feats := func(asOf time.Time) arrow.RecordBatch {
		f, _, err := BuildFeatures(context.Background(), in, asOf, Options{})
		require.NoError(t, err)
		return f
	}
	asOf := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	tonight := feats(asOf)
	defer tonight.Release()
	cfg := gate.DefaultConfig()
	for _, lastAsOf := range []time.Time{asOf.AddDate(0, 0, -1), asOf.AddDate(0, 0, -7), {}} {
		var last map[string]gate.Reference
		if !lastAsOf.IsZero() {
			lf := feats(lastAsOf)
			last = featureReferences(numericColumns(lf))
			lf.Release()
		}
		cols := numericColumns(tonight)
		want := gate.Input{}
		var wantCmp gate.Comparison
		if last != nil {
			want.NightRefs, want.NightFeatures, wantCmp = nightScope(last, cols, lastAsOf, asOf)
		}
		wantCheck := gate.NightFeatureCheck(cfg, want)

		refs, drifts, cmp, compared := tonightProfile(tonight, last, lastAsOf, asOf)
		assert.Equal(t, featureReferences(cols), refs, "references, last night %v", lastAsOf)
		assert.Equal(t, last != nil, compared)
		if last != nil {
			assert.Equal(t, wantCmp, cmp)
			require.NotEmpty(t, drifts)
		}
		got := gate.NightFeatureCheckOf(cfg, drifts)
		wj, err := json.Marshal(wantCheck)
		require.NoError(t, err)
		gj, err := json.Marshal(got)
		require.NoError(t, err)
		assert.JSONEq(t, string(wj), string(gj), "night check, last night %v", lastAsOf)
	}
}

// The whole-table path the night took before tonightProfile: the
// reference implementation of TestTonightProfileMatchesWholeTable.

// numericColumns returns every Int32, Int64 and Float64 column of rec as
// float64 (null = NaN).
func numericColumns(rec arrow.RecordBatch) map[string][]float64 {
	out := map[string][]float64{}
	for j, f := range rec.Schema().Fields() {
		if v, ok := numericColumn(rec.Column(j)); ok {
			out[f.Name] = v
		}
	}
	return out
}

// featureReferences bins every column of cols for tonight's profile (a
// column without a value is left out). Each column is sorted for its
// quantile edges (~60 ms per million values), so the columns are spread
// over GOMAXPROCS goroutines; the result does not depend on their number.
func featureReferences(cols map[string][]float64) map[string]gate.Reference {
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	out := make([]*gate.Reference, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(names) {
					return
				}
				if ref, err := gate.NewReference(cols[names[k]], 0); err == nil {
					out[k] = &ref
				}
			}
		}()
	}
	wg.Wait()
	refs := make(map[string]gate.Reference, len(names))
	for k, n := range names {
		if out[k] != nil {
			refs[n] = *out[k]
		}
	}
	return refs
}
