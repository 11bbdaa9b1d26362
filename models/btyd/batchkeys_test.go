package btyd

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The batch functions keep the row groups of the last Data they saw, keyed
// by a fingerprint of its rows: the same rows in other slices hit it, rows
// changed in place do not, and concurrent calls on different Data give each
// its own values.
func TestBatchKeysCache(t *testing.T) {
	_, cd := loadCDNOW(t)
	m := factoredModels[2] // Pareto/NBD: both the (x, T) grid and the (x, τ) pairs
	d := Data{X: append([]float64(nil), cd.X...), Tx: append([]float64(nil), cd.Tx...), T: append([]float64(nil), cd.T...)}
	perRow := func(d Data, h float64) []float64 {
		out := make([]float64, d.Len())
		for i := range out {
			out[i] = m.ExpectedPurchases(h, d.X[i], d.Tx[i], d.T[i])
		}
		return out
	}
	check := func(d Data, got []float64, what string) {
		t.Helper()
		want := perRow(d, 13)
		require.Len(t, got, len(want))
		for i := range want {
			if want[i] == 0 {
				assert.Zero(t, got[i], "%s row %d", what, i)
				continue
			}
			assert.InEpsilon(t, want[i], got[i], 1e-12, "%s row %d", what, i)
		}
	}
	check(d, ExpectedPurchasesRows(m, d, 13, 2), "first call")
	same := Data{X: append([]float64(nil), d.X...), Tx: append([]float64(nil), d.Tx...), T: append([]float64(nil), d.T...)}
	assert.Same(t, keysFor(d), keysFor(same), "the same rows in other slices share the groups")
	check(same, ExpectedPurchasesRows(m, same, 13, 2), "same rows, other slices")

	// Changed in place: new groups.
	k := keysFor(d)
	for i := range d.T {
		d.T[i] += 1
	}
	d.X[7] += 3
	assert.NotSame(t, k, keysFor(d))
	check(d, ExpectedPurchasesRows(m, d, 13, 2), "after changing the rows in place")
	sc := Score(m, d, 13, 2)
	check(d, sc.ExpectedPurchases, "Score after the change")

	// Concurrent calls on two Data.
	var wg sync.WaitGroup
	res := make([][]float64, 8)
	for g := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g%2 == 0 {
				res[g] = ExpectedPurchasesRows(m, d, 13, 1)
			} else {
				res[g] = ExpectedPurchasesRows(m, same, 13, 1)
			}
		}()
	}
	wg.Wait()
	for g, r := range res {
		if g%2 == 0 {
			check(d, r, "concurrent, changed rows")
		} else {
			check(same, r, "concurrent, original rows")
		}
	}
}

// Score on rows that are all distinct returns the per-row values without
// compressing them again (the second call), and on rows with duplicates
// gathers them.
func TestScoreDistinctRows(t *testing.T) {
	_, cd := loadCDNOW(t)
	u := Compress(cd)
	u.Weight = nil
	m := factoredModels[0]
	for pass := 0; pass < 2; pass++ {
		sc := Score(m, u, 39, 2)
		distinct, known := keysFor(u).distinctRows()
		assert.True(t, known && distinct)
		for i := range u.X {
			require.Equal(t, m.PAlive(u.X[i], u.Tx[i], u.T[i]), sc.PAlive[i], "pass %d row %d", pass, i)
		}
	}
	sc := Score(m, cd, 39, 2) // CDNOW has duplicate rows
	require.Len(t, sc.PAlive, cd.Len())
	for i := range cd.X {
		require.Equal(t, m.PAlive(cd.X[i], cd.Tx[i], cd.T[i]), sc.PAlive[i], "row %d", i)
	}
}

// The groups are dropped once the Data that built them is garbage.
func TestBatchKeysDroppedWithTheRows(t *testing.T) {
	_, cd := loadCDNOW(t)
	built := func() *batchKeys {
		d := Data{X: append([]float64(nil), cd.X...), Tx: append([]float64(nil), cd.Tx...), T: append([]float64(nil), cd.T...)}
		ExpectedPurchasesRows(factoredModels[2], d, 13, 1)
		lastKeys.Lock()
		defer lastKeys.Unlock()
		require.NotNil(t, lastKeys.k)
		return lastKeys.k
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		lastKeys.Lock()
		k := lastKeys.k
		lastKeys.Unlock()
		if k != built {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the groups outlived their rows")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
