package data

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// RowCopier returns a function that appends row i of rec's columns from,
// from+1, … to the same fields of b (a builder of rec's schema). It serves
// the canonical event columns: string, timestamp and float64, nulls kept.
// Callers copy the four fixed columns themselves on their hot path and the
// optional ones (from = 4) through it.
func RowCopier(rec arrow.RecordBatch, b *array.RecordBuilder, from int) (func(i int), error) {
	var fs []func(i int)
	for c := from; c < int(rec.NumCols()); c++ {
		switch a := rec.Column(c).(type) {
		case *array.String:
			sb, ok := b.Field(c).(*array.StringBuilder)
			if !ok {
				return nil, fmt.Errorf("data: RowCopier: column %d: builder %T for a string column", c, b.Field(c))
			}
			fs = append(fs, func(i int) {
				if a.IsValid(i) {
					sb.Append(a.Value(i))
				} else {
					sb.AppendNull()
				}
			})
		case *array.Timestamp:
			tb, ok := b.Field(c).(*array.TimestampBuilder)
			if !ok {
				return nil, fmt.Errorf("data: RowCopier: column %d: builder %T for a timestamp column", c, b.Field(c))
			}
			fs = append(fs, func(i int) {
				if a.IsValid(i) {
					tb.Append(a.Value(i))
				} else {
					tb.AppendNull()
				}
			})
		case *array.Float64:
			fb, ok := b.Field(c).(*array.Float64Builder)
			if !ok {
				return nil, fmt.Errorf("data: RowCopier: column %d: builder %T for a float64 column", c, b.Field(c))
			}
			fs = append(fs, func(i int) {
				if a.IsValid(i) {
					fb.Append(a.Value(i))
				} else {
					fb.AppendNull()
				}
			})
		default:
			return nil, fmt.Errorf("data: RowCopier: column %d has type %s", c, a.DataType())
		}
	}
	return func(i int) {
		for _, f := range fs {
			f(i)
		}
	}, nil
}
