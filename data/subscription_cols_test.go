package data

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subRow is one row's customer_id, subscription_id ("" = null) and
// period_end (-1 = null).
type subRow struct {
	id, sub string
	end     int64
}

// readSubs reads path and returns the optional subscription columns of
// every good row, the schema and the quarantine rows (without the header).
func readSubs(t *testing.T, path string, opt Options) ([]subRow, *arrow.Schema, [][]string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var qbuf bytes.Buffer
	q := NewQuarantine(&qbuf)
	opt.Alloc, opt.Quarantine = mem, q
	r, err := Open(path, opt)
	require.NoError(t, err)
	defer r.Release()
	var rows []subRow
	for r.Next() {
		rec := r.Record()
		require.True(t, rec.Schema().Equal(r.Schema()))
		require.True(t, IsEventSchema(rec.Schema()))
		ids := rec.Column(0).(*array.String)
		var subs *array.String
		var ends *array.Timestamp
		if c := ColumnIndex(rec.Schema(), ColSubscriptionID); c >= 0 {
			subs = rec.Column(c).(*array.String)
		}
		if c := ColumnIndex(rec.Schema(), ColPeriodEnd); c >= 0 {
			ends = rec.Column(c).(*array.Timestamp)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := subRow{id: ids.Value(i), end: -1}
			if subs != nil && subs.IsValid(i) {
				row.sub = subs.Value(i)
			}
			if ends != nil && ends.IsValid(i) {
				row.end = int64(ends.Value(i))
			}
			rows = append(rows, row)
		}
	}
	require.NoError(t, r.Err())
	require.NoError(t, q.Close())
	recs, err := csv.NewReader(&qbuf).ReadAll()
	require.NoError(t, err)
	return rows, r.Schema(), recs[1:]
}

const (
	jun1  = 20240 * MillisPerDay // 2025-06-01
	jul1  = jun1 + 30*MillisPerDay
	jun15 = jun1 + 14*MillisPerDay
)

// TestSubscriptionColumnsCSV: subscription_id and period_end by name and
// mapped, empty is null, the schema carries exactly the columns present,
// and bad period_end values are quarantined with file, line, column and
// reason.
func TestSubscriptionColumnsCSV(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	t.Run("by name", func(t *testing.T) {
		p := write("subs.csv", "customer_id,event_time,event_type,amount,subscription_id,period_end\n"+
			"a,2025-06-01,subscribe,20,S1,2025-07-01\n"+
			"a,2025-06-01T10:00:00Z,subscribe,5, S2 ,2025-06-15T00:00:00Z\n"+
			"b,2025-06-01,visit,,,\n"+
			"c,2025-06-02,renew,20,S3,not a date\n"+
			"d,2025-06-02,renew,20,S4,2025-05-31\n"+
			"e,2025-06-01,subscribe,20,S5,2025-06-01\n")
		rows, sc, q := readSubs(t, p, Options{})
		assert.True(t, sc.Equal(EventSchemaOf(OptSubscriptionID|OptPeriodEnd)))
		assert.False(t, HasEventID(sc))
		assert.Equal(t, []subRow{{"a", "S1", jul1}, {"a", "S2", jun15}, {"b", "", -1}, {"e", "S5", jun1}}, rows)
		require.Len(t, q, 2)
		assert.Equal(t, []string{p, "5", "period_end"}, q[0][:3])
		assert.Contains(t, q[0][3], `unparsable time`)
		assert.Contains(t, q[0][3], `"not a date"`)
		assert.Equal(t, []string{p, "6", "period_end"}, q[1][:3])
		assert.Contains(t, q[1][3], `period_end before the event (2025-06-02)`)
	})
	t.Run("mapped, with event_id: all three optional columns in canonical order", func(t *testing.T) {
		p := write("mapped.csv", "cust,ts,kind,Contract,PaidUntil,Line\na,2025-06-01,subscribe,K-1,2025-07-01,L1\n")
		m, err := ParseMap("customer_id=cust,event_time=ts,event_type=kind,subscription_id=Contract,period_end=PaidUntil,event_id=Line")
		require.NoError(t, err)
		rows, sc, q := readSubs(t, p, Options{Map: m})
		assert.Empty(t, q)
		assert.True(t, sc.Equal(EventSchemaOf(OptEventID|OptSubscriptionID|OptPeriodEnd)))
		assert.Equal(t, []string{ColEventID, ColSubscriptionID, ColPeriodEnd}, []string{sc.Field(4).Name, sc.Field(5).Name, sc.Field(6).Name})
		assert.Equal(t, []subRow{{"a", "K-1", jul1}}, rows)
	})
	t.Run("a mapped column that is missing names it", func(t *testing.T) {
		p := write("nosub.csv", "customer_id,event_time\na,2025-06-01\n")
		_, err := Open(p, Options{Map: map[string]string{ColPeriodEnd: "paid_until"}})
		require.ErrorIs(t, err, ErrMissingColumn)
		assert.Contains(t, err.Error(), `"period_end"`)
		assert.Contains(t, err.Error(), `"paid_until"`)
	})
	t.Run("no header: column numbers", func(t *testing.T) {
		p := write("nohdr.csv", "a,2025-06-01,subscribe,S1,2025-07-01\n")
		rows, sc, q := readSubs(t, p, Options{NoHeader: true, Map: map[string]string{
			ColCustomerID: "1", ColEventTime: "2", ColEventType: "3", ColSubscriptionID: "4", ColPeriodEnd: "5"}})
		assert.Empty(t, q)
		assert.True(t, sc.Equal(EventSchemaOf(OptSubscriptionID|OptPeriodEnd)))
		assert.Equal(t, []subRow{{"a", "S1", jul1}}, rows)
	})
	t.Run("a folder where one file has the columns: the others' rows are null", func(t *testing.T) {
		sub := filepath.Join(dir, "mixed")
		require.NoError(t, os.MkdirAll(sub, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(sub, "a.csv"), []byte("customer_id,event_time\nx,2025-06-01\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(sub, "b.csv"), []byte("customer_id,event_time,subscription_id\ny,2025-06-01,S9\n"), 0o644))
		rows, sc, _ := readSubs(t, sub, Options{})
		assert.True(t, sc.Equal(EventSchemaOf(OptSubscriptionID)))
		assert.Equal(t, []subRow{{"x", "", -1}, {"y", "S9", -1}}, rows)
	})
}

// TestSubscriptionColumnsParquetArrow: integer subscription ids in decimal
// (next to an integer customer_id and event_id: each keeps its own text),
// period_end as date32, timestamp (seconds) or text, bad values
// quarantined with the row number; the partitioned writer keeps the columns.
func TestSubscriptionColumnsParquetArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	day := int32(jun1 / MillisPerDay)
	for _, endType := range []arrow.DataType{arrow.FixedWidthTypes.Date32, &arrow.TimestampType{Unit: arrow.Second}, arrow.BinaryTypes.String} {
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "event_time", Type: arrow.FixedWidthTypes.Date32},
			{Name: "event_type", Type: arrow.BinaryTypes.String},
			{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "subscription_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			{Name: "period_end", Type: endType, Nullable: true},
		}, nil)
		b := array.NewRecordBuilder(mem, sc)
		ends := []int32{day + 30, -1, day - 1, day}
		for i, e := range ends {
			b.Field(0).(*array.Int64Builder).Append(int64(1000 + i))
			b.Field(1).(*array.Date32Builder).Append(arrow.Date32(day))
			b.Field(2).(*array.StringBuilder).Append("subscribe")
			b.Field(3).(*array.Int64Builder).Append(int64(7_000_000 + i))
			if i == 1 {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.Int32Builder).Append(int32(42 + i))
			}
			switch eb := b.Field(5).(type) {
			case *array.Date32Builder:
				if e < 0 {
					eb.AppendNull()
				} else {
					eb.Append(arrow.Date32(e))
				}
			case *array.TimestampBuilder:
				if e < 0 {
					eb.AppendNull()
				} else {
					eb.Append(arrow.Timestamp(int64(e) * 86400))
				}
			case *array.StringBuilder:
				switch {
				case e < 0:
					eb.Append("garbage")
				default:
					eb.Append(arrow.Date32(e).ToTime().Format("2006-01-02"))
				}
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		for _, ext := range []string{".parquet", ".arrow"} {
			path := filepath.Join(t.TempDir(), "subs"+ext)
			w, err := CreateFile(path, sc, WriteOptions{Alloc: mem})
			require.NoError(t, err)
			require.NoError(t, w.Write(rec))
			require.NoError(t, w.Close())
			rows, got, q := readSubs(t, path, Options{})
			name := endType.String() + ext
			assert.True(t, got.Equal(EventSchemaOf(OptEventID|OptSubscriptionID|OptPeriodEnd)), name)
			want := []subRow{{"1000", "42", jul1}, {"1001", "", -1}, {"1003", "45", jun1}}
			var bad []string
			if endType.ID() == arrow.STRING {
				want = []subRow{{"1000", "42", jul1}, {"1003", "45", jun1}}
				bad = append(bad, "2 period_end")
			}
			bad = append(bad, "3 period_end")
			assert.Equal(t, want, rows, name)
			var qs []string
			for _, r := range q {
				assert.Equal(t, path, r[0], name)
				qs = append(qs, r[1]+" "+r[2])
			}
			assert.Equal(t, bad, qs, name)
			assert.Contains(t, q[len(q)-1][3], "period_end before the event (2025-06-01)", name)

			// The partition writer keeps the columns.
			pdir := filepath.Join(t.TempDir(), "parts")
			pw, err := CreatePartitioned(pdir, 2, WriteOptions{Alloc: mem})
			require.NoError(t, err)
			r, err := Open(path, Options{Alloc: mem, Quarantine: NewQuarantine(&bytes.Buffer{})})
			require.NoError(t, err)
			for r.Next() {
				require.NoError(t, pw.Write(r.Record()))
			}
			require.NoError(t, r.Err())
			r.Release()
			require.NoError(t, pw.Close())
			back, bsc, _ := readSubs(t, pdir, Options{})
			assert.True(t, bsc.Equal(EventSchemaOf(OptEventID|OptSubscriptionID|OptPeriodEnd)), name)
			assert.ElementsMatch(t, want, back, name)
		}
		rec.Release()
	}
}

// TestEventSchemaOf: every combination is canonical; other orders and
// types are not.
func TestEventSchemaOf(t *testing.T) {
	for o := Optional(0); o <= optAll; o++ {
		got, ok := OptionalOf(EventSchemaOf(o))
		assert.True(t, ok, "%d", o)
		assert.Equal(t, o, got)
	}
	assert.True(t, EventSchemaOf(0).Equal(EventSchema))
	assert.True(t, EventSchemaOf(OptEventID).Equal(EventSchemaWithID))
	swapped := arrow.NewSchema(append(EventSchema.Fields(),
		arrow.Field{Name: ColPeriodEnd, Type: EventTimeType, Nullable: true},
		arrow.Field{Name: ColSubscriptionID, Type: arrow.BinaryTypes.String, Nullable: true}), nil)
	assert.False(t, IsEventSchema(swapped))
	wrongType := arrow.NewSchema(append(EventSchema.Fields(),
		arrow.Field{Name: ColPeriodEnd, Type: arrow.BinaryTypes.String, Nullable: true}), nil)
	assert.False(t, IsEventSchema(wrongType))
}
