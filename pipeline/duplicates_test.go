package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features"
)

// featuresOf builds the feature table of a CSV history and returns, per
// customer, the named float64/int32 columns as float64.
func featuresOf(t *testing.T, body string, cols ...string) (map[string]map[string]float64, IngestStats) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "h.csv")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	feat, st, err := BuildFeatures(context.Background(), Input{Path: p, MaxReject: 0.01, Quarantine: filepath.Join(t.TempDir(), "q.csv")},
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Options{Alloc: mem})
	require.NoError(t, err)
	defer feat.Release()
	out := map[string]map[string]float64{}
	ids := feat.Column(feat.Schema().FieldIndices(features.ColCustomerID)[0]).(*array.String)
	for i := 0; i < ids.Len(); i++ {
		out[ids.Value(i)] = map[string]float64{}
	}
	for _, c := range cols {
		idx := feat.Schema().FieldIndices(c)
		require.Len(t, idx, 1, c)
		a := feat.Column(idx[0])
		for i := 0; i < ids.Len(); i++ {
			var v float64
			switch a := a.(type) {
			case *array.Float64:
				v = a.Value(i)
			case *array.Int32:
				v = float64(a.Value(i))
			case *array.Int64:
				v = float64(a.Value(i))
			default:
				t.Fatalf("column %s: type %s", c, a.DataType())
			}
			out[ids.Value(i)][c] = v
		}
	}
	return out, st
}

// The duplicate rule of issue 11: without event_id no row is dropped;
// with it, only a re-delivered (customer_id, event_id).
func TestDuplicateRule(t *testing.T) {
	cols := []string{features.ColNetSpend, features.ColPurchaseDays, features.ColPurchaseCount}
	t.Run("an invoice whose two lines are identical keeps both", func(t *testing.T) {
		// Invoice 1 of c1: three lines at one timestamp, two of them the
		// same product and amount. One purchase occasion, 3 + 3 + 4 = 10.
		f, st := featuresOf(t, "customer_id,event_time,amount\n"+
			"c1,2024-01-05T10:00:00Z,3.00\n"+
			"c1,2024-01-05T10:00:00Z,3.00\n"+
			"c1,2024-01-05T10:00:00Z,4.00\n"+
			"c1,2024-02-01T09:00:00Z,2.50\n", cols...)
		assert.Zero(t, st.RowsDuplicate, "nothing dropped")
		assert.Equal(t, int64(1), st.RowsIdentical, "the repeated line is counted")
		assert.Equal(t, int64(4), st.RowsUsed)
		assert.InDelta(t, 12.50, f["c1"][features.ColNetSpend], 1e-9, "the lines' amounts add up")
		assert.Equal(t, 2.0, f["c1"][features.ColPurchaseDays], "one invoice is one purchase occasion")
	})
	t.Run("with event_id a re-delivered line is dropped and counted", func(t *testing.T) {
		f, st := featuresOf(t, "customer_id,event_time,amount,event_id\n"+
			"c1,2024-01-05T10:00:00Z,3.00,INV1-1\n"+
			"c1,2024-01-05T10:00:00Z,3.00,INV1-2\n"+ // identical content, another line: kept
			"c1,2024-01-05T10:00:00Z,3.00,INV1-1\n"+ // re-delivery: dropped
			"c2,2024-01-06T10:00:00Z,5.00,INV1-1\n"+ // same id, another customer: kept
			"c2,2024-01-06T10:00:00Z,5.00,\n"+ // no id: never dropped
			"c2,2024-01-06T10:00:00Z,5.00,\n", cols...)
		assert.Equal(t, int64(1), st.RowsDuplicate)
		assert.Equal(t, int64(1), st.RowsIdentical, "the two id-less c2 rows")
		assert.InDelta(t, 6.00, f["c1"][features.ColNetSpend], 1e-9)
		assert.InDelta(t, 15.00, f["c2"][features.ColNetSpend], 1e-9)
	})
}

func TestRoundMoney(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		d    int
		want float64
	}{
		{1330.9299999999996, 2, 1330.93}, // the published value
		{0.1 + 0.2, 2, 0.3},
		{-2.675000000001, 2, -2.68},
		{1234.5, 0, 1235}, // yen: half away from zero
		{1.23456789, -1, 1.23456789},
		{1e300, 2, 1e300},
	} {
		assert.Equal(t, tc.want, RoundMoney(tc.x, tc.d), "RoundMoney(%v, %d)", tc.x, tc.d)
	}
}

func TestRoundMoneyColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: PredHistoricValue, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: PredPredictedCLV12m + "_p90", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "p_alive", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Float64Builder).AppendValues([]float64{1330.9299999999996, 0}, []bool{true, false})
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{10.004, 10.006}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{0.123456, 0.5}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	out := roundMoneyColumns(mem, rec, 2)
	defer out.Release()
	assert.Equal(t, 1330.93, out.Column(0).(*array.Float64).Value(0))
	assert.True(t, out.Column(0).IsNull(1), "null stays null")
	assert.Equal(t, []float64{10.0, 10.01}, out.Column(1).(*array.Float64).Float64Values(), "interval bounds are money")
	assert.Equal(t, 0.123456, out.Column(2).(*array.Float64).Value(0), "probabilities are not money")
}
