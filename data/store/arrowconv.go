package store

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// conv returns the SQL parameter value of row i of one Arrow column; nil is NULL.
type conv func(i int) any

// pgCompatible lists, per Arrow value family, the PostgreSQL data_types
// (information_schema spelling) a value may be copied into.
var pgCompatible = map[string][]string{
	"string": {"text", "character varying", "character", "json", "jsonb"},
	"int":    {"smallint", "integer", "bigint", "numeric"},
	"float":  {"double precision", "real", "numeric"},
	"date":   {"date"},
	"bool":   {"boolean"},
	"time":   {"timestamp with time zone", "timestamp without time zone"},
}

// converter maps an Arrow column to SQL parameter values for d. colType is
// the target column's type (used to check PostgreSQL compatibility).
func converter(d dialect, arr arrow.Array, name, colType string) (conv, error) {
	family, c := "", conv(nil)
	nulls := arr.NullN() > 0
	wrap := func(f conv) conv {
		if !nulls {
			return f
		}
		return func(i int) any {
			if arr.IsNull(i) {
				return nil
			}
			return f(i)
		}
	}
	switch a := arr.(type) {
	case *array.String:
		family, c = "string", wrap(func(i int) any { return a.Value(i) })
	case *array.LargeString:
		family, c = "string", wrap(func(i int) any { return a.Value(i) })
	case *array.Int8:
		family, c = "int", wrap(func(i int) any { return int64(a.Value(i)) })
	case *array.Int16:
		family, c = "int", wrap(func(i int) any { return int64(a.Value(i)) })
	case *array.Int32:
		family, c = "int", wrap(func(i int) any { return int64(a.Value(i)) })
	case *array.Int64:
		family, c = "int", wrap(func(i int) any { return a.Value(i) })
	case *array.Uint8:
		family, c = "int", wrap(func(i int) any { return int64(a.Value(i)) })
	case *array.Uint16:
		family, c = "int", wrap(func(i int) any { return int64(a.Value(i)) })
	case *array.Uint32:
		family, c = "int", wrap(func(i int) any { return int64(a.Value(i)) })
	case *array.Float32:
		family, c = "float", wrap(func(i int) any { return finite(float64(a.Value(i))) })
	case *array.Float64:
		family, c = "float", wrap(func(i int) any { return finite(a.Value(i)) })
	case *array.Boolean:
		family = "bool"
		if d.pg {
			c = wrap(func(i int) any { return a.Value(i) })
		} else {
			c = wrap(func(i int) any {
				if a.Value(i) {
					return int64(1)
				}
				return int64(0)
			})
		}
	case *array.Date32:
		family = "date"
		if d.pg {
			c = wrap(func(i int) any { return a.Value(i).ToTime() })
		} else {
			c = wrap(func(i int) any { return a.Value(i).ToTime().Format(time.DateOnly) })
		}
	case *array.Date64:
		family = "date"
		if d.pg {
			c = wrap(func(i int) any { return day(a.Value(i).ToTime()) })
		} else {
			c = wrap(func(i int) any { return a.Value(i).ToTime().Format(time.DateOnly) })
		}
	case *array.Timestamp:
		family = "time"
		unit := a.DataType().(*arrow.TimestampType).Unit
		if d.pg || d.my {
			c = wrap(func(i int) any { return a.Value(i).ToTime(unit) })
		} else {
			c = wrap(func(i int) any { return a.Value(i).ToTime(unit).UTC().Format(tsLayout) })
		}
	default:
		return nil, fmt.Errorf("%w: column %q has unsupported Arrow type %s", ErrColumnType, name, arr.DataType())
	}
	if d.pg {
		ok := false
		for _, t := range pgCompatible[family] {
			if strings.EqualFold(t, colType) {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: column %q: Arrow %s cannot be stored in PostgreSQL %s", ErrColumnType, name, arr.DataType(), colType)
		}
	}
	return c, nil
}

// finite maps NaN and ±Inf to NULL.
func finite(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}
