package pipeline

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/models/btyd"
)

// synthInput writes a synthetic history of n customers to a temporary
// Parquet file and returns it as an input.
func synthInput(t *testing.T, n int, seed uint64) Input {
	t.Helper()
	path := WriteTestSynth(t, n, seed)
	return Input{Path: path, MaxReject: 0.01, Quarantine: filepath.Join(filepath.Dir(path), "q.csv")}
}

func TestInChunks(t *testing.T) {
	for _, tc := range []struct{ n, minRows int }{{0, 10}, {5, 10}, {19, 10}, {1000, 10}, {1001, 1}, {7, 0}} {
		seen := make([]int32, tc.n)
		var calls atomic.Int32
		err := inChunks(tc.n, tc.minRows, func(lo, hi int) error {
			calls.Add(1)
			for i := lo; i < hi; i++ {
				seen[i]++
			}
			return nil
		})
		require.NoError(t, err)
		for i, c := range seen {
			require.EqualValues(t, 1, c, "n=%d: row %d covered once", tc.n, i)
		}
		want := min(runtime.GOMAXPROCS(0), max(1, tc.n/max(1, tc.minRows)))
		assert.EqualValues(t, want, calls.Load(), "n=%d minRows=%d", tc.n, tc.minRows)
	}
	boom := errors.New("boom")
	err := inChunks(100_000, 1, func(lo, hi int) error {
		if lo == 0 {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, err, boom)
}

// TestCLVScoreSameInParallel: scoring the customers in several chunks at
// once gives the very values one chunk gives.
func TestCLVScoreSameInParallel(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to score in parallel")
	}
	end := TestSynthEnd
	feat, _, err := BuildFeatures(context.Background(), synthInput(t, 900, 5), end, Options{})
	require.NoError(t, err)
	defer feat.Release()
	m, err := FitCLV(feat, CLVOptions{})
	require.NoError(t, err)
	fc, err := newFeatureCols(feat)
	require.NoError(t, err)
	asOf := data.DayOf(end.UnixMilli())

	old := clvChunkRows
	defer func() { clvChunkRows = old }()
	clvChunkRows = 1 << 30
	one, err := m.score(fc, asOf)
	require.NoError(t, err)
	clvChunkRows = 100 // 900 customers: every CPU gets a chunk
	many, err := m.score(fc, asOf)
	require.NoError(t, err)
	for i := range one.clv {
		same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
		assert.True(t, same(one.clv[i], many.clv[i]), "clv of row %d", i)
		assert.True(t, same(one.pAlive[i], many.pAlive[i]), "p_alive of row %d", i)
		assert.True(t, same(one.avgSpend[i], many.avgSpend[i]), "spend of row %d", i)
		assert.Equal(t, one.nextDay[i], many.nextDay[i], "next purchase of row %d", i)
	}
	scored := 0
	for _, c := range one.clv {
		if !math.IsNaN(c) {
			scored++
		}
	}
	assert.Greater(t, scored, 500, "most of the 900 customers get a CLV")
}

// TestChampionScoreSameInParallel: the churn columns are the same whether
// the buyers are scored in one chunk or one per CPU.
func TestChampionScoreSameInParallel(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to score in parallel")
	}
	end := TestSynthEnd
	in := synthInput(t, 1500, 6)
	h, err := LoadHistory(context.Background(), in, Options{})
	require.NoError(t, err)
	reg := filepath.Join(t.TempDir(), "models")
	// Force: the promotion rule's calibration bound is not the point here.
	_, _, err = Train(context.Background(), h, TrainConfig{AsOf: end, Registry: reg, Seed: 1, Force: true}, Options{})
	h.Release()
	require.NoError(t, err)
	ch, err := LoadChampion(reg)
	require.NoError(t, err)
	require.NotNil(t, ch)

	feat, _, err := BuildFeatures(context.Background(), in, end, Options{})
	require.NoError(t, err)
	defer feat.Release()
	fc, err := newFeatureCols(feat)
	require.NoError(t, err)
	old := churnChunkRows
	defer func() { churnChunkRows = old }()
	churnChunkRows = 1 << 30
	one, err := ch.score(feat, fc, end)
	require.NoError(t, err)
	churnChunkRows = 100
	many, err := ch.score(feat, fc, end)
	require.NoError(t, err)
	assert.Equal(t, one.stage, many.stage)
	assert.Equal(t, one.reasons, many.reasons)
	scored := 0
	for i := range one.prob {
		same := one.prob[i] == many.prob[i] || (math.IsNaN(one.prob[i]) && math.IsNaN(many.prob[i]))
		assert.True(t, same, "churn probability of row %d", i)
		if !math.IsNaN(one.prob[i]) {
			scored++
		}
	}
	assert.Greater(t, scored, 1000, "the buyers of 1,500 customers are scored")
}

// TestCLVScoreMatchesDirect: scoring each distinct (x, t_x, T) row once,
// with the alive factor of the expectations once per distinct (x, T), and
// gathering gives every customer what applying the models to that customer
// alone gives (the naive, per-customer evaluation): the same probabilities
// and dates, the same expectations and CLV to 1e-12 relative (the product
// P(alive) · g is formed in another order).
func TestCLVScoreMatchesDirect(t *testing.T) {
	end := TestSynthEnd
	feat, _, err := BuildFeatures(context.Background(), synthInput(t, 1500, 7), end, Options{})
	require.NoError(t, err)
	defer feat.Release()
	m, err := FitCLV(feat, CLVOptions{})
	require.NoError(t, err)
	require.NotNil(t, m.Spend, "the spend model is fitted on 1,500 synthetic customers")
	fc, err := newFeatureCols(feat)
	require.NoError(t, err)
	asOf := data.DayOf(end.UnixMilli())
	got, err := m.score(fc, asOf)
	require.NoError(t, err)

	o := m.opt
	days := o.Unit.Days()
	h := float64(o.HorizonDays) / days
	clvOpt := btyd.CLVOptions{ModelUnit: o.Unit, Period: btyd.Month, Periods: o.CLVMonths,
		DiscountRate: math.Pow(1+o.AnnualRate, 1.0/12) - 1}
	np, _ := m.Count.(nextPurchaser)
	d, rows, zbar := fc.summary(o.Unit)
	require.Greater(t, len(rows), 1000)
	distinct, _ := btyd.CompressIndex(btyd.Data{X: d.X, Tx: d.Tx, T: d.T})
	t.Logf("%d buyers, %d distinct (x, t_x, T) rows", len(rows), distinct.Len())
	for k, i := range rows {
		x, tx, T := d.X[k], d.Tx[k], d.T[k]
		p0 := m.Count.ProbNoPurchase(h, x, tx, T)
		assert.Equal(t, 1-p0, got.pAlive[i], "p_alive of %s", fc.id.Value(i))
		assert.Equal(t, m.Count.PAlive(x, tx, T), got.pAliveLatent[i], "p_alive_latent of %s", fc.id.Value(i))
		assert.InEpsilon(t, m.Count.ExpectedPurchases(h, x, tx, T), got.expPurchases[i], 1e-12, "expected purchases of %s", fc.id.Value(i))
		dep, err := btyd.CLV(m.Count, 1, x, tx, T, clvOpt)
		require.NoError(t, err)
		spend, err := spendOf(*m.Spend, x, zbar[k])
		require.NoError(t, err)
		assert.InEpsilon(t, spend*dep, got.clv[i], 1e-12, "clv of %s", fc.id.Value(i))
		next := int32(-1)
		if np != nil && 1-p0 >= o.MinPAliveETA {
			if _, median, ok := np.NextPurchaseTime(x, tx, T, 0); ok && median*days <= float64(o.MaxETADays) {
				next = asOf + int32(math.Round(median*days))
			}
		}
		assert.Equal(t, next, got.nextDay[i], "next purchase day of %s", fc.id.Value(i))
	}
}

// BenchmarkCLVScore scores the CLV columns of 100,000 synthetic customers
// with fitted models (count model, Gamma-Gamma and the intervals): the
// nightly scoring step alone.
func BenchmarkCLVScore(b *testing.B) {
	end := TestSynthEnd
	path := WriteTestSynth(b, 100_000, 3)
	feat, _, err := BuildFeatures(context.Background(), Input{Path: path, MaxReject: 0.01,
		Quarantine: filepath.Join(filepath.Dir(path), "q.csv")}, end, Options{})
	require.NoError(b, err)
	defer feat.Release()
	m, err := FitCLV(feat, CLVOptions{})
	require.NoError(b, err)
	fc, err := newFeatureCols(feat)
	require.NoError(b, err)
	asOf := data.DayOf(end.UnixMilli())
	b.ResetTimer()
	for range b.N {
		if _, err := m.score(fc, asOf); err != nil {
			b.Fatal(err)
		}
	}
}
