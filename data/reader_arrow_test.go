package data

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeEvents writes evs to path with CreateFile in chunks of chunk rows.
func writeEvents(t testing.TB, mem memory.Allocator, path string, evs []event, chunk int) {
	t.Helper()
	w, err := CreateFile(path, EventSchema, WriteOptions{Alloc: mem})
	require.NoError(t, err)
	defer w.Abort()
	for i := 0; i < len(evs); i += chunk {
		rec := buildEvents(mem, evs[i:min(i+chunk, len(evs))])
		err := w.Write(rec)
		rec.Release()
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
}

// writeRecord writes rec to path (Parquet or Arrow IPC by its extension)
// with CreateFile and returns path.
func writeRecord(t testing.TB, mem memory.Allocator, path string, rec arrow.RecordBatch) string {
	t.Helper()
	w, err := CreateFile(path, rec.Schema(), WriteOptions{Alloc: mem})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return path
}

// randomEvents returns n deterministic pseudo-random events; ids are
// trimmed, types lower-case, amounts finite, so they read back unchanged.
func randomEvents(n int, seed uint64) []event {
	rng := rand.New(rand.NewPCG(seed, 1))
	types := []string{EventPurchase, EventReturn, EventVisit, EventSupport, "other"}
	evs := make([]event, n)
	base := ms("2020-01-01T00:00:00Z")
	for i := range evs {
		e := event{
			ID:     "cust-" + strconv.Itoa(rng.IntN(n/3+1)),
			TimeMS: base + rng.Int64N(4*365*MillisPerDay),
			Type:   types[rng.IntN(len(types))],
		}
		if rng.IntN(10) > 0 {
			e.Amount = f64(math.Round(rng.NormFloat64()*10000) / 100)
		}
		evs[i] = e
	}
	return evs
}

func TestRoundTrip(t *testing.T) {
	evs := append(randomEvents(2500, 7), sampleEvents...)
	for _, ext := range []string{".parquet", ".arrow", ".csv"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "events"+ext)
			writeEvents(t, mem, path, evs, 1000)
			res, err := readAll(t, path, Options{BatchSize: 777})
			require.NoError(t, err)
			// sampleEvents has " padded " which the reader trims by rule.
			want := append([]event{}, evs...)
			want[len(want)-1].ID = "padded"
			assert.Equal(t, want, res.Events)
			assert.Equal(t, []int{777, 777, 777, 175}, res.Batches)
			assert.Equal(t, Stats{Files: 1, RowsRead: int64(len(evs))}, res.Stats)
		})
	}
}

func TestReadFolder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	day := func(d int) []event {
		evs := randomEvents(50, uint64(d))
		for i := range evs {
			evs[i].TimeMS = ms("2024-03-01T00:00:00Z") + int64(d)*MillisPerDay + int64(i)
		}
		return evs
	}
	// Three daily files in three formats, one in a sub-folder, written out
	// of order; plus files the reader must skip.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "2024-03-03"), 0o755))
	writeEvents(t, mem, filepath.Join(dir, "2024-03-03", "events.arrow"), day(2), 20)
	writeEvents(t, mem, filepath.Join(dir, "2024-03-01.csv"), day(0), 20)
	writeEvents(t, mem, filepath.Join(dir, "2024-03-02.parquet"), day(1), 20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not data"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".2024-03-04.csv.tmp-1"), []byte("half"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".hidden.csv"), []byte("x\n"), 0o644))

	res, err := readAll(t, dir, Options{BatchSize: 64})
	require.NoError(t, err)
	want := append(append(day(0), day(1)...), day(2)...)
	assert.Equal(t, want, res.Events)
	assert.Equal(t, Stats{Files: 3, RowsRead: 150}, res.Stats)
	assert.Equal(t, []int{64, 64, 22}, res.Batches, "batches span files")

	// Format selects files in a folder.
	res, err = readAll(t, dir, Options{Format: FormatParquet})
	require.NoError(t, err)
	assert.Equal(t, day(1), res.Events)

	// A bad file anywhere in the folder fails Open.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz.csv"), []byte("id,when\n"), 0o644))
	_, err = readAll(t, dir, Options{})
	assert.ErrorIs(t, err, ErrMissingColumn)
	assert.ErrorContains(t, err, "zz.csv")
}

func TestReadArrowTypes(t *testing.T) {
	// A table with non-canonical types, names mapped, and values whose
	// canonical form is known by hand.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, ny) // 15:00Z
	t0ms := t0.UnixMilli()
	timeTypes := []struct {
		name string
		typ  arrow.DataType
		put  func(b array.Builder)
		want int64
	}{
		{"ts_s", &arrow.TimestampType{Unit: arrow.Second}, func(b array.Builder) {
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Unix()))
		}, t0ms},
		{"ts_us_ny", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "America/New_York"}, func(b array.Builder) {
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixMicro() + 999)) // +0.999 ms truncated
		}, t0ms},
		{"ts_ns", &arrow.TimestampType{Unit: arrow.Nanosecond}, func(b array.Builder) {
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixNano() - 1)) // floors to the ms before
		}, t0ms - 1},
		{"date32", arrow.FixedWidthTypes.Date32, func(b array.Builder) {
			b.(*array.Date32Builder).Append(arrow.Date32(19783)) // 2024-03-01
		}, mar1},
		{"date64", arrow.FixedWidthTypes.Date64, func(b array.Builder) {
			b.(*array.Date64Builder).Append(arrow.Date64(mar1))
		}, mar1},
		{"string", arrow.BinaryTypes.String, func(b array.Builder) {
			b.(*array.StringBuilder).Append("2024-03-01T15:00:00Z")
		}, t0ms},
	}
	amountTypes := []struct {
		name string
		typ  arrow.DataType
		put  func(b array.Builder)
		want float64
	}{
		{"f32", arrow.PrimitiveTypes.Float32, func(b array.Builder) { b.(*array.Float32Builder).Append(2.5) }, 2.5},
		{"f16", arrow.FixedWidthTypes.Float16, func(b array.Builder) { b.(*array.Float16Builder).Append(float16.New(-0.5)) }, -0.5},
		{"i32", arrow.PrimitiveTypes.Int32, func(b array.Builder) { b.(*array.Int32Builder).Append(-7) }, -7},
		{"u64", arrow.PrimitiveTypes.Uint64, func(b array.Builder) { b.(*array.Uint64Builder).Append(12) }, 12},
		{"dec", &arrow.Decimal128Type{Precision: 10, Scale: 2}, func(b array.Builder) {
			b.(*array.Decimal128Builder).Append(decimal128.FromI64(12345)) // 123.45
		}, 123.45},
		{"str", arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append(" 1.25 ") }, 1.25},
	}
	for _, ext := range []string{".parquet", ".arrow"} {
		for i, tt := range timeTypes {
			at := amountTypes[i%len(amountTypes)]
			idInt := i%2 == 0
			name := ext + "/" + tt.name + "/" + at.name
			t.Run(name, func(t *testing.T) {
				if ext == ".parquet" && at.name == "f16" {
					t.Skip("float16 has no Parquet logical type in arrow-go v18")
				}
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				idType := arrow.DataType(arrow.BinaryTypes.LargeString)
				if idInt {
					idType = arrow.PrimitiveTypes.Int64
				}
				sc := arrow.NewSchema([]arrow.Field{
					{Name: "extra", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
					{Name: "CustomerID", Type: idType, Nullable: true},
					{Name: "When", Type: tt.typ, Nullable: true},
					{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
					{Name: "Total", Type: at.typ, Nullable: true},
				}, nil)
				b := array.NewRecordBuilder(mem, sc)
				defer b.Release()
				for row := 0; row < 3; row++ {
					b.Field(0).AppendNull()
					switch {
					case row == 2:
						b.Field(1).AppendNull() // null id: rejected
					case idInt:
						b.Field(1).(*array.Int64Builder).Append(int64(-42 + row))
					default:
						b.Field(1).(*array.LargeStringBuilder).Append(" id" + strconv.Itoa(row) + " ")
					}
					tt.put(b.Field(2))
					if row == 0 {
						b.Field(3).AppendNull()
						at.put(b.Field(4))
					} else {
						b.Field(3).(*array.StringBuilder).Append("VISIT")
						b.Field(4).AppendNull()
					}
				}
				rec := b.NewRecordBatch()
				defer rec.Release()
				path := writeRecord(t, mem, filepath.Join(t.TempDir(), "typed"+ext), rec)

				res, err := readAll(t, path, Options{Map: map[string]string{ColCustomerID: "CustomerID", ColEventTime: "When", ColAmount: "Total"}})
				require.NoError(t, err)
				id0, id1 := "id0", "id1"
				if idInt {
					id0, id1 = "-42", "-41"
				}
				assert.Equal(t, []event{
					{id0, tt.want, EventPurchase, f64(at.want)},
					{id1, tt.want, EventVisit, nil},
				}, res.Events)
				require.Len(t, res.QRows, 1)
				assert.Equal(t, []string{path, "3", ColCustomerID, "data: empty customer_id"}, res.QRows[0][:4])
			})
		}
	}
}

func TestReadArrowBadValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Second}, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	ids := b.Field(0).(*array.Int32Builder)
	ts := b.Field(1).(*array.TimestampBuilder)
	am := b.Field(2).(*array.Float64Builder)
	ok := arrow.Timestamp(mar1 / 1000)
	rows := []struct {
		t    arrow.Timestamp
		null bool
		a    float64
	}{
		{ok, false, 1},
		{0, true, 1},                      // line 2: null time
		{arrow.Timestamp(-3e9), false, 1}, // line 3: 1874
		{arrow.Timestamp(2e10), false, 1}, // line 4: 2603
		{ok, false, math.NaN()},           // line 5
		{ok, false, math.Inf(-1)},         // line 6
		{ok, false, 2e15},                 // line 7
		{ok, false, 3},
	}
	for i, r := range rows {
		ids.Append(int32(i))
		if r.null {
			ts.AppendNull()
		} else {
			ts.Append(r.t)
		}
		am.Append(r.a)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, ext := range []string{".parquet", ".arrow"} {
		path := writeRecord(t, mem, filepath.Join(t.TempDir(), "bad"+ext), rec)
		res, err := readAll(t, path, Options{BatchSize: 3})
		require.NoError(t, err)
		assert.Equal(t, []event{{"0", mar1, EventPurchase, f64(1)}, {"7", mar1, EventPurchase, f64(3)}}, res.Events, ext)
		var got []string
		for _, q := range res.QRows {
			got = append(got, q[1]+" "+q[2]+" "+q[3])
		}
		assert.Equal(t, []string{
			"2 event_time null event_time",
			// date -u -d @-3000000000; date -u -d @20000000000 (no zone: the column has none)
			`3 event_time implausible time "1874-12-07T18:40:00"`,
			`4 event_time implausible time "2603-10-11T11:33:20"`,
			`5 amount non-finite amount "NaN"`,
			`6 amount non-finite amount "-Inf"`,
			`7 amount implausible amount "2e+15"`,
		}, got, ext)
	}
}

func TestReadCorruptFiles(t *testing.T) {
	// Overwrite stretches of valid files with garbage: reading must not
	// panic, and any error must name the file.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	evs := randomEvents(3000, 3)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, ext := range []string{".parquet", ".arrow"} {
		dir := t.TempDir()
		good := filepath.Join(dir, "good"+ext)
		writeEvents(t, mem, good, evs, 1000)
		data, err := os.ReadFile(good)
		require.NoError(t, err)
		for k := 0; k < 20; k++ {
			bad := append([]byte{}, data...)
			off := rng.IntN(len(bad) - 64)
			for j := off; j < off+1+rng.IntN(63); j++ {
				bad[j] = byte(rng.Uint32())
			}
			path := filepath.Join(dir, "bad"+strconv.Itoa(k)+ext)
			require.NoError(t, os.WriteFile(path, bad, 0o644))
			assert.NotPanics(t, func() {
				_, err := readAll(t, path, Options{BatchSize: 512})
				if err != nil {
					assert.Contains(t, err.Error(), path)
				}
			})
		}
	}
}

// sharedData returns ../shared/data relative to the module root, or skips.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	p := filepath.Join(filepath.Dir(dir), "shared", "data")
	if _, err := os.Stat(filepath.Join(p, "cdnow", "CDNOW_sample.txt")); err != nil {
		t.Skipf("shared data absent (%s): %v", p, err)
	}
	return p
}

func TestCDNOW(t *testing.T) {
	shared := sharedData(t)
	csvPath := filepath.Join(shared, "cdnow", "cdnow_sample_interactions.csv")
	res, err := readAll(t, csvPath, Options{})
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, e := range res.Events {
		ids[e.ID] = true
	}
	// Counts from the data set's README: 6,919 rows of 2,357 customers.
	assert.Equal(t, Stats{Files: 1, RowsRead: 6919}, res.Stats)
	assert.Len(t, ids, 2357)

	txt, err := readAll(t, filepath.Join(shared, "cdnow", "CDNOW_sample.txt"), Options{
		Whitespace: true, NoHeader: true, TimeLayout: "20060102",
		Map: map[string]string{ColCustomerID: "2", ColEventTime: "3", ColAmount: "5"},
	})
	require.NoError(t, err)
	assert.Equal(t, Stats{Files: 1, RowsRead: 6919}, txt.Stats)
	// Same (customer, day, amount) rows; the original pads sample_id with zeros.
	key := func(id string, e event) string {
		n, err := strconv.Atoi(id)
		require.NoError(t, err)
		return strconv.Itoa(n) + "|" + strconv.Itoa(int(DayOf(e.TimeMS))) + "|" + strconv.FormatFloat(*e.Amount, 'f', 2, 64)
	}
	count := map[string]int{}
	for _, e := range res.Events {
		count[key(e.ID, e)]++
	}
	for _, e := range txt.Events {
		count[key(e.ID, e)]--
	}
	for k, v := range count {
		assert.Zero(t, v, k)
	}

	// The first line of the original, checked by hand: " 00004 0001 19970101  2   29.33".
	f, err := os.Open(filepath.Join(shared, "cdnow", "CDNOW_sample.txt"))
	require.NoError(t, err)
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "00004 0001 19970101 2 29.33", strings.Join(strings.Fields(line), " "))
	assert.Equal(t, event{"0001", ms("1997-01-01T00:00:00Z"), EventPurchase, f64(29.33)}, txt.Events[0])
}

// TestReadDictionaryColumns: dictionary-encoded string columns (pandas
// "category", Spark, DuckDB) read as their values, with a null index as a
// null: the same events and the same quarantine as plain string columns.
func TestReadDictionaryColumns(t *testing.T) {
	evs := randomEvents(600, 11)
	for _, ext := range []string{".parquet", ".arrow"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
			sc := arrow.NewSchema([]arrow.Field{
				{Name: ColCustomerID, Type: dict, Nullable: true},
				{Name: ColEventTime, Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
				{Name: ColEventType, Type: dict, Nullable: true},
				{Name: ColAmount, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			}, nil)
			b := array.NewRecordBuilder(mem, sc)
			defer b.Release()
			want := make([]event, 0, len(evs))
			for i, e := range evs {
				if i == 100 {
					b.Field(0).AppendNull() // rejected: null id
				} else {
					require.NoError(t, b.Field(0).(*array.BinaryDictionaryBuilder).AppendString(e.ID))
				}
				b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(e.TimeMS))
				require.NoError(t, b.Field(2).(*array.BinaryDictionaryBuilder).AppendString(e.Type))
				if e.Amount == nil {
					b.Field(3).AppendNull()
				} else {
					b.Field(3).(*array.Float64Builder).Append(*e.Amount)
				}
				if i != 100 {
					want = append(want, e)
				}
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			path := writeRecord(t, mem, filepath.Join(t.TempDir(), "dict"+ext), rec)

			res, err := readAll(t, path, Options{BatchSize: 128})
			require.NoError(t, err)
			assert.Equal(t, want, res.Events)
			require.Len(t, res.QRows, 1)
			assert.Equal(t, []string{path, "101", ColCustomerID}, res.QRows[0][:3])
		})
	}
}

// TestArrowStreamRefused: an Arrow IPC stream (no file footer) is refused
// naming the file and the format to write instead.
func TestArrowStreamRefused(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := buildEvents(mem, randomEvents(20, 3))
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "stream.arrow")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := ipc.NewWriter(f, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	_, err = Open(path, Options{Alloc: mem})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, path)
	assert.ErrorContains(t, err, "Arrow IPC stream")
}

// TestReadFloatIDs: pandas writes an integer id column with a missing
// value as float64. Whole numbers read as the integer's decimal text (as
// an integer column would), NaN as a missing id (rejected), a fraction
// or a value beyond 2⁵³ as a bad id naming the value.
func TestReadFloatIDs(t *testing.T) {
	for _, ext := range []string{".parquet", ".arrow"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			sc := arrow.NewSchema([]arrow.Field{
				{Name: ColCustomerID, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
				{Name: ColEventTime, Type: arrow.FixedWidthTypes.Date32},
			}, nil)
			b := array.NewRecordBuilder(mem, sc)
			defer b.Release()
			ids := []float64{1, 20017, math.NaN(), 3.5, 1e300, -4}
			for _, v := range ids {
				b.Field(0).(*array.Float64Builder).Append(v)
				b.Field(1).(*array.Date32Builder).Append(arrow.Date32(19783))
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			path := writeRecord(t, mem, filepath.Join(t.TempDir(), "f"+ext), rec)

			res, err := readAll(t, path, Options{})
			require.NoError(t, err)
			var got []string
			for _, e := range res.Events {
				got = append(got, e.ID)
			}
			assert.Equal(t, []string{"1", "20017", "-4"}, got)
			require.Len(t, res.QRows, 3)
			assert.Equal(t, []string{"3", ColCustomerID, "data: empty customer_id"}, res.QRows[0][1:4])
			assert.Equal(t, []string{"4", ColCustomerID, `customer_id is a float that is not a whole number: "3.5"`}, res.QRows[1][1:4])
			assert.Equal(t, "5", res.QRows[2][1])
			assert.Contains(t, res.QRows[2][3], "1e+300")
		})
	}
}

// TestReadBinaryText: byte-array columns without the UTF8 annotation
// (older Hive, Impala and Spark writers) read as text; a value that is not
// valid UTF-8 is a bad row, as in a CSV file.
func TestReadBinaryText(t *testing.T) {
	for _, ext := range []string{".parquet", ".arrow"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			sc := arrow.NewSchema([]arrow.Field{
				{Name: ColCustomerID, Type: arrow.BinaryTypes.Binary, Nullable: true},
				{Name: ColEventTime, Type: arrow.BinaryTypes.Binary},
				{Name: ColEventType, Type: arrow.BinaryTypes.LargeBinary},
			}, nil)
			b := array.NewRecordBuilder(mem, sc)
			defer b.Release()
			for _, r := range [][3]string{{"c1", "2024-03-01", "purchase"}, {"c\xff", "2024-03-01", "purchase"}, {" c2 ", "2024-03-01T10:00:00Z", "Visit"}} {
				b.Field(0).(*array.BinaryBuilder).Append([]byte(r[0]))
				b.Field(1).(*array.BinaryBuilder).Append([]byte(r[1]))
				b.Field(2).(*array.BinaryBuilder).Append([]byte(r[2]))
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			path := writeRecord(t, mem, filepath.Join(t.TempDir(), "bin"+ext), rec)
			res, err := readAll(t, path, Options{})
			require.NoError(t, err)
			assert.Equal(t, []event{{"c1", mar1, EventPurchase, nil}, {"c2", mar1 + 10*3600_000, EventVisit, nil}}, res.Events)
			require.Len(t, res.QRows, 1)
			assert.Equal(t, []string{"2", ColCustomerID}, res.QRows[0][1:3])
			assert.Contains(t, res.QRows[0][3], "not valid UTF-8")
		})
	}
}
