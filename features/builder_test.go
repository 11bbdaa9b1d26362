package features_test

import (
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
)

// ev is one test event; amount NaN means null.
type ev struct {
	id, day, typ string
	amount       float64
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func events(mem memory.Allocator, evs ...ev) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, data.EventSchema)
	defer b.Release()
	for _, e := range evs {
		b.Field(0).(*array.StringBuilder).Append(e.id)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(day(e.day).Add(10 * time.Hour).UnixMilli()))
		b.Field(2).(*array.StringBuilder).Append(e.typ)
		if math.IsNaN(e.amount) {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(e.amount)
		}
	}
	return b.NewRecordBatch()
}

// row returns column name → Go value for row i (nil for null).
func row(t *testing.T, rec arrow.RecordBatch, i int) map[string]any {
	t.Helper()
	out := map[string]any{}
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		if col.IsNull(i) {
			out[f.Name] = nil
			continue
		}
		switch a := col.(type) {
		case *array.String:
			out[f.Name] = a.Value(i)
		case *array.Int32:
			out[f.Name] = int(a.Value(i))
		case *array.Float64:
			out[f.Name] = a.Value(i)
		case *array.Date32:
			out[f.Name] = a.Value(i).ToTime().Format(time.DateOnly)
		default:
			t.Fatalf("unexpected column type %T", a)
		}
	}
	return out
}

var nan = math.NaN()

func TestBuilderHandComputed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	// Customer "a": purchases on 2024-01-10 (two on the same day), 2024-03-01,
	// 2024-06-20; a return; visits; a ticket. As of 2024-06-30.
	rec := events(mem,
		ev{"a", "2024-01-10", "purchase", 10},
		ev{"a", "2024-01-10", "purchase", 5},
		ev{"a", "2024-03-01", "purchase", 20},
		ev{"a", "2024-03-05", "return", -8},
		ev{"a", "2024-06-20", "purchase", 30},
		ev{"a", "2024-06-19", "visit", nan},
		ev{"a", "2024-02-02", "visit", nan},
		ev{"a", "2024-06-01", "support", nan},
		ev{"a", "2024-06-02", "newsletter_click", nan},
		ev{"p", "2024-05-05", "visit", nan},   // prospect: never bought
		ev{"a", "2024-07-01", "purchase", 99}, // after the as-of day: excluded
	)
	defer rec.Release()

	b := features.NewBuilder(day("2024-06-30"))
	require.NoError(t, b.Add(rec))
	out := b.Finish(mem)
	defer out.Release()
	require.EqualValues(t, 2, out.NumRows())
	assert.EqualValues(t, 1, b.Excluded())
	assert.EqualValues(t, 10, b.Rows())

	a := row(t, out, 0)
	// Hand computation: purchase days 2024-01-10 (day 0), 03-01 (+51), 06-20 (+111 after);
	// as-of 06-30 is 172 days after 01-10.
	want := map[string]any{
		"customer_id": "a", "first_event_date": "2024-01-10", "first_purchase_date": "2024-01-10",
		"last_purchase_date": "2024-06-20", "tenure_days": 172, "days_since_last_purchase": 10,
		"days_since_last_event": 10, "purchase_days": 3, "purchase_days_30": 1, "purchase_days_90": 1,
		"purchase_days_180": 3, "purchase_days_365": 3, "purchase_count": 4, "return_count": 1,
		"visit_count": 2, "support_count": 1, "other_event_count": 1, "event_count": 9,
		"visit_count_90": 1, "support_count_90": 1,
		"gross_spend": 65.0, "return_amount": 8.0, "net_spend": 57.0,
		"spend_mean": 65.0 / 3, "spend_max": 30.0, "spend_90": 30.0,
		"gap_mean_days": (51.0 + 111.0) / 2, "gap_std_days": math.Sqrt(((51-81.0)*(51-81.0) + (111-81.0)*(111-81.0)) / 1),
		"gap_before_recent_days": 111, "tenure_months": 5,
		// Months from January to February (the months before the last three full months
		// March, April, May): January has 2 events, February 1.
		"activity_earlier_mean": 1.5,
		"activity_m1":           0, "activity_m2": 0, "activity_m3": 2, "activity_m4": 1, "activity_m5": 2, // May, April, March, February, January
		"activity_m6": 0, "activity_m7": 0, "activity_m8": 0, "activity_m9": 0, "activity_m10": 0,
		"activity_m11": 0, "activity_m12": 0,
		"repeat_purchases": 2, "first_to_last_days": 162, "first_to_asof_days": 172,
		"repeat_spend_mean": 25.0,
	}
	for k, v := range want {
		if f, ok := v.(float64); ok {
			assert.InDelta(t, f, a[k], 1e-9, k)
			continue
		}
		assert.Equal(t, v, a[k], k)
	}
	assert.Len(t, a, len(want), "every feature column is checked")

	p := row(t, out, 1)
	assert.Equal(t, "p", p["customer_id"])
	assert.Nil(t, p["first_purchase_date"])
	assert.Nil(t, p["days_since_last_purchase"])
	assert.Equal(t, 0, p["purchase_days"])
	assert.Equal(t, 56, p["days_since_last_event"])
	assert.Equal(t, 0, p["repeat_purchases"])
}

func TestBuilderPointInTime(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	asOf := day("2024-06-30")
	history := []ev{
		{"a", "2023-01-10", "purchase", 10},
		{"a", "2024-06-30", "purchase", 20}, // on the as-of day: included
		{"b", "2024-02-01", "visit", nan},
		{"b", "2024-03-01", "purchase", 5},
		{"c", "2022-12-31", "purchase", 7},
	}
	future := []ev{
		{"a", "2024-07-01", "purchase", 1000},
		{"a", "2024-07-01", "return", -10},
		{"b", "2024-12-24", "support", nan},
		{"c", "2025-01-01", "visit", nan},
	}
	build := func(evs []ev) arrow.RecordBatch {
		rec := events(mem, evs...)
		defer rec.Release()
		b := features.NewBuilder(asOf)
		require.NoError(t, b.Add(rec))
		return b.Finish(mem)
	}
	before := build(history)
	defer before.Release()
	after := build(append(append([]ev{}, future[:2]...), append(history, future[2:]...)...))
	defer after.Release()
	assert.True(t, array.RecordEqual(before, after), "events after the as-of day changed the features")
}

func TestBuilderRejectsOtherSchemas(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	rec := b.NewRecordBatch()
	defer rec.Release()
	err := features.NewBuilder(day("2024-01-01")).Add(rec)
	assert.ErrorIs(t, err, features.ErrSchema)
}

// TestNegativePurchaseIsAReturn: exports often book a cancellation as a
// purchase with a negative amount; it must not count as a purchase day.
func TestNegativePurchaseIsAReturn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := events(mem,
		ev{"a", "2024-01-10", "purchase", 30},
		ev{"a", "2024-03-01", "purchase", -12.5},
	)
	defer rec.Release()
	b := features.NewBuilder(day("2024-06-30"))
	require.NoError(t, b.Add(rec))
	out := b.Finish(mem)
	defer out.Release()
	a := row(t, out, 0)
	assert.Equal(t, 1, a["purchase_days"])
	assert.Equal(t, 1, a["return_count"])
	assert.InDelta(t, 12.5, a["return_amount"], 1e-12)
	assert.InDelta(t, 17.5, a["net_spend"], 1e-12)
	assert.Equal(t, "2024-01-10", a["last_purchase_date"])
}
