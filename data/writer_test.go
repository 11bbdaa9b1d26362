package data

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// event is one row of the canonical layout, for building and comparing test data.
type event struct {
	ID     string
	TimeMS int64
	Type   string
	Amount *float64
}

func f64(v float64) *float64 { return &v }

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// buildEvents builds a record with EventSchema; the caller releases it.
func buildEvents(mem memory.Allocator, evs []event) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, EventSchema)
	defer b.Release()
	id := b.Field(0).(*array.StringBuilder)
	tm := b.Field(1).(*array.TimestampBuilder)
	ty := b.Field(2).(*array.StringBuilder)
	am := b.Field(3).(*array.Float64Builder)
	for _, e := range evs {
		id.Append(e.ID)
		tm.Append(arrow.Timestamp(e.TimeMS))
		ty.Append(e.Type)
		if e.Amount == nil {
			am.AppendNull()
		} else {
			am.Append(*e.Amount)
		}
	}
	return b.NewRecordBatch()
}

// recordEvents converts an EventSchema record back to rows.
func recordEvents(rec arrow.RecordBatch) []event {
	id := rec.Column(0).(*array.String)
	tm := rec.Column(1).(*array.Timestamp)
	ty := rec.Column(2).(*array.String)
	am := rec.Column(3).(*array.Float64)
	out := make([]event, rec.NumRows())
	for i := range out {
		out[i] = event{ID: id.Value(i), TimeMS: int64(tm.Value(i)), Type: ty.Value(i)}
		if am.IsValid(i) {
			out[i].Amount = f64(am.Value(i))
		}
	}
	return out
}

// sampleEvents are hand-written rows covering nulls, fractions of a second,
// quoting (comma, quote, newline, leading space), negative amounts and
// times before the epoch.
var sampleEvents = []event{
	{"c1", ms("2024-03-01T10:00:00Z"), EventPurchase, f64(29.33)},
	{"c1", ms("2024-03-02T00:00:00.123Z"), EventReturn, f64(-29.33)},
	{"c,2", ms("2024-03-02T23:59:59.999Z"), EventVisit, nil},
	{`say "hi"`, ms("1969-12-31T23:59:59.5Z"), "other kind", f64(0)},
	{"line\nbreak", ms("1900-01-01T00:00:00Z"), EventSupport, f64(1e15)},
	{" padded ", ms("2200-12-31T23:59:59Z"), EventPurchase, f64(0.1)},
}

func TestCreateFileRoundTripArrowLibs(t *testing.T) {
	for _, ext := range []string{".parquet", ".pq", ".arrow", ".ipc", ".feather"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "events"+ext)

			rec := buildEvents(mem, sampleEvents)
			defer rec.Release()
			w, err := CreateFile(path, EventSchema, WriteOptions{Alloc: mem})
			require.NoError(t, err)
			require.NoError(t, w.Write(rec))
			require.NoError(t, w.Write(rec))
			_, err = os.Stat(path)
			assert.True(t, os.IsNotExist(err), "destination must not exist before Close")
			require.NoError(t, w.Close())
			require.NoError(t, w.Abort(), "Abort after Close is a no-op")

			want := append(append([]event{}, sampleEvents...), sampleEvents...)
			got := readWithArrowLibs(t, mem, path)
			assert.Equal(t, want, got)
			assertOnlyFile(t, path)
		})
	}
}

// readWithArrowLibs reads an EventSchema file with arrow-go directly,
// independent of this package's readers.
func readWithArrowLibs(t *testing.T, mem memory.Allocator, path string) []event {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []event
	switch filepath.Ext(path) {
	case ".parquet", ".pq":
		pf, err := file.NewParquetReader(f)
		require.NoError(t, err)
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, mem)
		require.NoError(t, err)
		tbl, err := fr.ReadTable(context.Background())
		require.NoError(t, err)
		defer tbl.Release()
		require.True(t, sameFields(tbl.Schema(), EventSchema), "schema %s", tbl.Schema())
		tr := array.NewTableReader(tbl, 1<<20)
		defer tr.Release()
		for tr.Next() {
			out = append(out, recordEvents(tr.RecordBatch())...)
		}
	default:
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		require.NoError(t, err)
		defer r.Close()
		require.True(t, r.Schema().Equal(EventSchema), "schema %s", r.Schema())
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.RecordBatch(i)
			require.NoError(t, err)
			out = append(out, recordEvents(rec)...)
		}
	}
	return out
}

// assertOnlyFile checks that the folder of path holds path and nothing else
// (no temporary file left behind).
// sameFields compares names, types and nullability, ignoring metadata
// (Parquet adds "PARQUET:field_id").
func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func assertOnlyFile(t *testing.T, path string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{filepath.Base(path)}, names)
}

func TestCreateFileCSVText(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	path := filepath.Join(t.TempDir(), "events.csv")
	rec := buildEvents(mem, sampleEvents)
	defer rec.Release()
	w, err := CreateFile(path, EventSchema, WriteOptions{Alloc: mem})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	// Expected text written by hand from sampleEvents and RFC 4180.
	want := "customer_id,event_time,event_type,amount\n" +
		"c1,2024-03-01T10:00:00Z,purchase,29.33\n" +
		"c1,2024-03-02T00:00:00.123Z,return,-29.33\n" +
		"\"c,2\",2024-03-02T23:59:59.999Z,visit,\n" +
		"\"say \"\"hi\"\"\",1969-12-31T23:59:59.5Z,other kind,0\n" +
		"\"line\nbreak\",1900-01-01T00:00:00Z,support,1e+15\n" +
		"\" padded \",2200-12-31T23:59:59Z,purchase,0.1\n"
	assert.Equal(t, want, string(got))
	assertOnlyFile(t, path)
}

// featureSchema is a per-customer feature table with the column types the
// features package produces.
var featureSchema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int32},
	{Name: "total_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "spend", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "first_day", Type: arrow.FixedWidthTypes.Date32},
	{Name: "churned", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

func buildFeatures(mem memory.Allocator, withList bool) arrow.RecordBatch {
	sc := featureSchema
	if withList {
		sc = arrow.NewSchema(append(featureSchema.Fields(),
			arrow.Field{Name: "days", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)}), nil)
	}
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{3, -1}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{1 << 40, 0}, nil)
	b.Field(3).(*array.Float64Builder).AppendValues([]float64{1.5, 0}, []bool{true, false})
	b.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC)), 0}, nil)
	b.Field(5).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	if withList {
		lb := b.Field(6).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Int32Builder)
		lb.Append(true)
		vb.AppendValues([]int32{1, 2}, nil)
		lb.Append(true)
	}
	return b.NewRecordBatch()
}

func TestCreateFileFeatureTables(t *testing.T) {
	for _, tc := range []struct {
		ext      string
		withList bool
	}{{".parquet", true}, {".arrow", true}, {".parquet", false}, {".csv", false}} {
		t.Run(tc.ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "features"+tc.ext)
			rec := buildFeatures(mem, tc.withList)
			defer rec.Release()
			w, err := CreateFile(path, rec.Schema(), WriteOptions{Alloc: mem})
			require.NoError(t, err)
			require.NoError(t, w.Write(rec))
			require.NoError(t, w.Close())
			if tc.ext == ".csv" {
				got, err := os.ReadFile(path)
				require.NoError(t, err)
				// By hand: 1<<40 = 1099511627776; day 0 is 1970-01-01.
				assert.Equal(t, "customer_id,n,total_ms,spend,first_day,churned\n"+
					"a,3,1099511627776,1.5,1997-01-01,true\n"+
					"b,-1,0,,1970-01-01,false\n", string(got))
				return
			}
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			var back arrow.RecordBatch
			if tc.ext == ".parquet" {
				pf, err := file.NewParquetReader(f)
				require.NoError(t, err)
				defer pf.Close()
				fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 16}, mem)
				require.NoError(t, err)
				rr, err := fr.GetRecordReader(context.Background(), nil, nil)
				require.NoError(t, err)
				defer rr.Release()
				require.True(t, rr.Next())
				back = rr.RecordBatch()
			} else {
				r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
				require.NoError(t, err)
				defer r.Close()
				back, err = r.RecordBatch(0)
				require.NoError(t, err)
			}
			assert.True(t, array.RecordEqual(rec, back), "got %v\nwant %v", back, rec)
		})
	}
}

func TestCreateFileErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()

	rec := buildFeatures(mem, true)
	defer rec.Release()
	_, err := CreateFile(filepath.Join(dir, "f.csv"), rec.Schema(), WriteOptions{Alloc: mem})
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, `"days"`)

	_, err = CreateFile(filepath.Join(dir, "f.xlsx"), EventSchema, WriteOptions{})
	assert.ErrorIs(t, err, ErrUnsupported)

	_, err = CreateFile(filepath.Join(dir, "missing", "f.csv"), EventSchema, WriteOptions{})
	assert.Error(t, err)

	// A record with another schema is refused and the writer stays usable.
	w, err := CreateFile(filepath.Join(dir, "e.arrow"), EventSchema, WriteOptions{Alloc: mem})
	require.NoError(t, err)
	assert.Error(t, w.Write(rec))
	ev := buildEvents(mem, sampleEvents[:1])
	defer ev.Release()
	assert.NoError(t, w.Write(ev))
	require.NoError(t, w.Abort())
	assert.Error(t, w.Write(ev), "write after Abort")
	assert.NoError(t, w.Close(), "Close after Abort is a no-op")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "Abort must remove the temporary file")
}

func TestCreateFileAbortKeepsExisting(t *testing.T) {
	for _, ext := range []string{".parquet", ".arrow", ".csv"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "e"+ext)
			require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
			w, err := CreateFile(path, EventSchema, WriteOptions{Alloc: mem})
			require.NoError(t, err)
			rec := buildEvents(mem, sampleEvents)
			defer rec.Release()
			require.NoError(t, w.Write(rec))
			require.NoError(t, w.Abort())
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "old", string(got))
			assertOnlyFile(t, path)
		})
	}
}

func TestCreateFileEmpty(t *testing.T) {
	for _, ext := range []string{".parquet", ".arrow", ".csv"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "e"+ext)
			w, err := CreateFile(path, EventSchema, WriteOptions{Alloc: mem})
			require.NoError(t, err)
			require.NoError(t, w.Close())
			if ext != ".csv" {
				assert.Empty(t, readWithArrowLibs(t, mem, path))
			}
			assertOnlyFile(t, path)
		})
	}
}

// TestCreateFileArrowSplitsLargeRecords: a record larger than IPCBatchRows
// is written as several batches, in order, so that no batch reaches the
// 256 MiB message limit of arrow-go's reader on wide feature tables.
func TestCreateFileArrowSplitsLargeRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	n := 2*IPCBatchRows + 123
	evs := randomEvents(n, 7)
	rec := buildEvents(mem, evs)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "big.arrow")
	w, err := CreateFile(path, EventSchema, WriteOptions{Alloc: mem})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 3, r.NumRecords())
	var got []event
	for k := 0; k < r.NumRecords(); k++ {
		b, err := r.RecordBatch(k)
		require.NoError(t, err)
		assert.LessOrEqual(t, b.NumRows(), int64(IPCBatchRows))
		got = append(got, recordEvents(b)...)
	}
	assert.Equal(t, evs, got)
}
