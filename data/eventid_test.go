package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readIDs reads path and returns the event_id of every row ("" = null) and
// the schema of the records.
func readIDs(t *testing.T, path string, opt Options) ([]string, *arrow.Schema) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opt.Alloc = mem
	r, err := Open(path, opt)
	require.NoError(t, err)
	defer r.Release()
	var ids []string
	for r.Next() {
		rec := r.Record()
		require.True(t, rec.Schema().Equal(r.Schema()))
		if !HasEventID(rec.Schema()) {
			continue
		}
		col := rec.Column(4).(*array.String)
		for i := 0; i < col.Len(); i++ {
			if col.IsValid(i) {
				ids = append(ids, col.Value(i))
			} else {
				ids = append(ids, "")
			}
		}
	}
	require.NoError(t, r.Err())
	return ids, r.Schema()
}

func TestEventIDColumn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	t.Run("absent: the four-column schema", func(t *testing.T) {
		p := write("plain.csv", "customer_id,event_time,amount\nc1,2024-01-01,5\n")
		ids, sc := readIDs(t, p, Options{})
		assert.True(t, sc.Equal(EventSchema))
		assert.Empty(t, ids)
	})
	t.Run("by name, empty is null, spaces trimmed", func(t *testing.T) {
		p := write("lines.csv", "customer_id,event_time,amount,event_id\nc1,2024-01-01,5,INV1-1\nc1,2024-01-01,5, INV1-2 \nc2,2024-01-02,7,\n")
		ids, sc := readIDs(t, p, Options{})
		assert.True(t, sc.Equal(EventSchemaWithID))
		assert.Equal(t, []string{"INV1-1", "INV1-2", ""}, ids)
	})
	t.Run("mapped with --map", func(t *testing.T) {
		p := write("mapped.csv", "cust,ts,LineNo\nc1,2024-01-01,17\n")
		ids, _ := readIDs(t, p, Options{Map: map[string]string{ColCustomerID: "cust", ColEventTime: "ts", ColEventID: "LineNo"}})
		assert.Equal(t, []string{"17"}, ids)
	})
	t.Run("a mapped event_id that is missing is an error naming it", func(t *testing.T) {
		p := write("nomap.csv", "customer_id,event_time\nc1,2024-01-01\n")
		_, err := Open(p, Options{Map: map[string]string{ColEventID: "line_id"}})
		require.ErrorIs(t, err, ErrMissingColumn)
		assert.Contains(t, err.Error(), `"event_id"`)
		assert.Contains(t, err.Error(), `"line_id"`)
	})
	t.Run("integer event_id in Parquet is formatted in decimal", func(t *testing.T) {
		mem := memory.NewGoAllocator()
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "customer_id", Type: arrow.BinaryTypes.String},
			{Name: "event_time", Type: EventTimeType},
			{Name: "event_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil)
		b := array.NewRecordBuilder(mem, sc)
		defer b.Release()
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"c1", "c1"}, nil)
		b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, MillisPerDay}, nil)
		b.Field(2).(*array.Int64Builder).AppendValues([]int64{9007199254740993, 0}, []bool{true, false})
		rec := b.NewRecordBatch()
		defer rec.Release()
		p := filepath.Join(dir, "ids.parquet")
		w, err := CreateFile(p, sc, WriteOptions{})
		require.NoError(t, err)
		require.NoError(t, w.Write(rec))
		require.NoError(t, w.Close())
		ids, _ := readIDs(t, p, Options{})
		assert.Equal(t, []string{"9007199254740993", ""}, ids)
	})
	t.Run("a folder where one file has event_id: the others' rows are null", func(t *testing.T) {
		sub := filepath.Join(dir, "mixed")
		require.NoError(t, os.MkdirAll(sub, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(sub, "a.csv"), []byte("customer_id,event_time\nc1,2024-01-01\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(sub, "b.csv"), []byte("customer_id,event_time,event_id\nc2,2024-01-02,x\n"), 0o644))
		ids, sc := readIDs(t, sub, Options{})
		assert.True(t, sc.Equal(EventSchemaWithID))
		assert.Equal(t, []string{"", "x"}, ids)
	})
}

func TestFolderWithTheSameFileTwiceIsRefused(t *testing.T) {
	dir := t.TempDir()
	day := "customer_id,event_time,amount\nc1,2024-01-01T10:00:00Z,5\nc2,2024-01-01T11:00:00Z,6\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "2024-01-01.csv"), []byte(day), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "2024-01-02.csv"), []byte(day[:len(day)-2]+"7\n"), 0o644)) // same size, other content
	_, err := Open(dir, Options{})
	require.NoError(t, err, "files of equal size but different content are fine")

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "resent"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "resent", "2024-01-01.csv"), []byte(day), 0o644))
	_, err = Open(dir, Options{})
	require.ErrorIs(t, err, ErrDuplicateFile)
	assert.Contains(t, err.Error(), filepath.Join(dir, "2024-01-01.csv"))
	assert.Contains(t, err.Error(), filepath.Join(dir, "resent", "2024-01-01.csv"))

	empty := t.TempDir()
	for _, n := range []string{"a.csv", "b.csv"} {
		require.NoError(t, os.WriteFile(filepath.Join(empty, n), []byte("customer_id,event_time\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(empty, "c.csv"), []byte("customer_id,event_time\nc1,2024-01-01\n"), 0o644))
	_, err = Open(empty, Options{})
	assert.NoError(t, err, "two header-only days are empty days, not a re-delivery")
}
