package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestGenerateFixtures rewrites the binary fixtures in testdata/. It runs
// only with CHURNPIPE_UPDATE_FIXTURES=1. The CSV fixtures are written by
// hand (see testdata/README.md).
func TestGenerateFixtures(t *testing.T) {
	if os.Getenv("CHURNPIPE_UPDATE_FIXTURES") != "1" {
		t.Skip("set CHURNPIPE_UPDATE_FIXTURES=1 to rewrite testdata/*.parquet and *.arrow")
	}
	mem := memory.NewGoAllocator()

	// wrong_types.parquet: customer_id float64 (read as whole numbers), event_time int64 (refused).
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Float64},
		{Name: "event_time", Type: arrow.PrimitiveTypes.Int64},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	b.Field(0).(*array.Float64Builder).AppendValues([]float64{1, 2}, nil)
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1709287200000, 1709373600000}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5, 2.5}, nil)
	rec := b.NewRecordBatch()
	writeFixture(t, "testdata/wrong_types.parquet", rec)
	rec.Release()
	b.Release()

	// truncated.parquet / truncated.arrow: 1000 valid events cut in half.
	evs := make([]event, 1000)
	for i := range evs {
		evs[i] = event{ID: "c" + string(rune('a'+i%26)), TimeMS: ms("2024-03-01T00:00:00Z") + int64(i)*60_000, Type: EventPurchase, Amount: f64(float64(i))}
	}
	rec = buildEvents(mem, evs)
	defer rec.Release()
	for _, name := range []string{"truncated.parquet", "truncated.arrow"} {
		p := filepath.Join("testdata", name)
		writeFixture(t, p, rec)
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(p, st.Size()/2))
	}

	// corrupt_arrow_schema.parquet: two good events, one byte of the stored
	// Arrow schema flipped (see corruptSchemaFlip).
	require.NoError(t, os.WriteFile("testdata/corrupt_arrow_schema.parquet", flipStoredSchema(t, goodParquet(t), corruptSchemaFlip, 0xff), 0o644))
}

func writeFixture(t *testing.T, path string, rec arrow.RecordBatch) {
	w, err := CreateFile(path, rec.Schema(), WriteOptions{})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
}
