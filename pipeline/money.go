package pipeline

import (
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultMoneyDecimals is the number of decimals the money columns are
// published with when none is configured: cents.
const DefaultMoneyDecimals = 2

// MaxMoneyDecimals bounds the configurable number of decimals.
const MaxMoneyDecimals = 6

// moneyColumns are the prediction columns that hold amounts of the input's
// currency; columns whose name starts with one of them followed by "_"
// (interval bounds such as predicted_clv_12m_p10) are money too.
var moneyColumns = []string{PredHistoricValue, PredExpectedAvgSpend, PredPredictedCLV12m, "residual_clv"}

// IsMoneyColumn reports whether the prediction column name holds money.
func IsMoneyColumn(name string) bool {
	for _, m := range moneyColumns {
		if name == m || strings.HasPrefix(name, m+"_") {
			return true
		}
	}
	return false
}

// moneyDecimals resolves a configured number of decimals: nil is
// DefaultMoneyDecimals; a negative value keeps full precision.
func moneyDecimals(d *int) (int, error) {
	if d == nil {
		return DefaultMoneyDecimals, nil
	}
	if *d > MaxMoneyDecimals {
		return 0, fmt.Errorf("pipeline: money decimals %d: at most %d (negative = unrounded)", *d, MaxMoneyDecimals)
	}
	return *d, nil
}

// RoundMoney returns x rounded half away from zero to decimals places
// (decimals < 0: x itself). Money sums of a currency's smallest unit carry
// float64 error far below half a unit, so rounding recovers them exactly:
// 1330.9299999999996 → 1330.93.
func RoundMoney(x float64, decimals int) float64 {
	if decimals < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow10(decimals)
	r := math.Round(x*p) / p
	if math.IsInf(x*p, 0) {
		return x // beyond float64's range when scaled: nothing to round
	}
	return r
}

// roundMoneyColumns returns rec with its money columns (IsMoneyColumn,
// float64) rounded to decimals places; rec itself, retained, when decimals
// is negative or there is none. The caller releases both.
func roundMoneyColumns(mem memory.Allocator, rec arrow.RecordBatch, decimals int) arrow.RecordBatch {
	if decimals < 0 {
		rec.Retain()
		return rec
	}
	cols := make([]arrow.Array, rec.NumCols())
	changed := false
	for c := range cols {
		cols[c] = rec.Column(c)
		f, ok := cols[c].(*array.Float64)
		if !ok || !IsMoneyColumn(rec.ColumnName(c)) {
			cols[c].Retain()
			continue
		}
		b := array.NewFloat64Builder(mem)
		b.Reserve(f.Len())
		for i := 0; i < f.Len(); i++ {
			if f.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(RoundMoney(f.Value(i), decimals))
			}
		}
		cols[c] = b.NewArray()
		b.Release()
		changed = true
	}
	if !changed {
		for _, a := range cols {
			a.Release()
		}
		rec.Retain()
		return rec
	}
	out := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
	for _, a := range cols {
		a.Release()
	}
	return out
}
