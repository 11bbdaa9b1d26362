package pipeline

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// column is one output column: its field and how to fill row i.
type column struct {
	field arrow.Field
	fill  func(b array.Builder, i int)
}

func strCol(name string, v func(i int) string) column {
	return column{arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true},
		func(b array.Builder, i int) {
			if s := v(i); s != "" {
				b.(*array.StringBuilder).Append(s)
			} else {
				b.AppendNull()
			}
		}}
}

func i32Col(name string, valid func(i int) bool, v func(i int) int32) column {
	return column{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		func(b array.Builder, i int) {
			if valid(i) {
				b.(*array.Int32Builder).Append(v(i))
			} else {
				b.AppendNull()
			}
		}}
}

// f64Col writes NaN and ±Inf as null: they never reach the CRM.
func f64Col(name string, v func(i int) float64) column {
	return column{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		func(b array.Builder, i int) {
			x := v(i)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				b.AppendNull()
				return
			}
			b.(*array.Float64Builder).Append(x)
		}}
}

func dateCol(name string, src *array.Date32) column {
	return column{arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		func(b array.Builder, i int) {
			if src.IsValid(i) {
				b.(*array.Date32Builder).Append(src.Value(i))
			} else {
				b.AppendNull()
			}
		}}
}

// buildRecord materialises n rows of the columns.
func buildRecord(mem memory.Allocator, n int, cols []column) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	rb := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer rb.Release()
	rb.Reserve(n)
	for c, col := range cols {
		b := rb.Field(c)
		for i := 0; i < n; i++ {
			col.fill(b, i)
		}
	}
	return rb.NewRecordBatch()
}
