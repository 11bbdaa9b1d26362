package features_test

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
)

// TestCalibrationMatchesSecondBuilder: the calibration summary a builder at
// the as-of day computes (WithCalibration) holds, for every buyer by the
// calibration day, what a second builder at that day puts in its BG/NBD
// columns — in events out of order, a negative purchase (a return), a
// customer whose only purchases come after the calibration day, and two
// workers included.
func TestCalibrationMatchesSecondBuilder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := synthRows(t, 1500, 3)
	rows = append(rows,
		srow{id: "late", ms: day("2025-05-02").UnixMilli(), typ: data.EventVisit},
		srow{id: "late", ms: day("2025-06-01").UnixMilli(), typ: data.EventPurchase, amt: 10, valid: true},
		srow{id: "neg", ms: day("2025-01-05").UnixMilli(), typ: data.EventPurchase, amt: 10, valid: true},
		srow{id: "neg", ms: day("2025-02-05").UnixMilli(), typ: data.EventPurchase, amt: -10, valid: true})
	rand.New(rand.NewPCG(4, 5)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	recs := records(mem, rows, 4096)
	defer release(recs)
	asOf, end := day("2025-06-30"), day("2025-03-31")

	calTab, calB := build(t, mem, end, recs)
	defer calTab.Release()
	for _, workers := range []int{1, 2} {
		feat, b := build(t, mem, asOf, recs, features.WithCalibration(end), features.WithWorkers(workers))
		feat.Release()
		c := b.Calibration()
		require.NotNil(t, c)
		assert.Equal(t, calB.Customers(), c.Customers, "customers by the calibration day")
		col := func(name string) *array.Int32 {
			return calTab.Column(calTab.Schema().FieldIndices(name)[0]).(*array.Int32)
		}
		ids := calTab.Column(0).(*array.String)
		since, x, tx, tt := col(features.ColDaysSinceLastPurchase), col(features.ColRepeatPurchases), col(features.ColFirstToLastDays), col(features.ColFirstToAsOfDays)
		var wantIDs []string
		var wantX, wantTx, wantT []int32
		for i := 0; i < ids.Len(); i++ {
			if since.IsValid(i) {
				wantIDs = append(wantIDs, ids.Value(i))
				wantX, wantTx, wantT = append(wantX, x.Value(i)), append(wantTx, tx.Value(i)), append(wantT, tt.Value(i))
			}
		}
		require.Greater(t, len(wantIDs), 500)
		assert.Equal(t, wantIDs, c.IDs, "%d workers", workers)
		assert.Equal(t, wantX, c.X)
		assert.Equal(t, wantTx, c.Tx)
		assert.Equal(t, wantT, c.T)
		assert.NotContains(t, c.IDs, "late")
		assert.Contains(t, c.IDs, "neg")
	}

	_, err := features.NewBuilderErr(asOf, features.WithCalibration(asOf))
	assert.ErrorIs(t, err, features.ErrOption, "a calibration day on the as-of day")
	empty, b := build(t, mem, asOf, nil)
	empty.Release()
	assert.Nil(t, b.Calibration(), "without the option")
}
