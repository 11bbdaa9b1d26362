package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/internal/testenv"
)

// A feature table written to Parquet or Arrow IPC reads back equal, and
// its as-of day is recovered from first_purchase_date + first_to_asof_days.
func TestReadFeatureTableRoundTrip(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	asOf := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	feat, _, err := BuildFeatures(context.Background(), Input{Path: csvPath, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}, asOf, Options{Alloc: mem})
	require.NoError(t, err)
	defer feat.Release()
	for _, name := range []string{"f.parquet", "f.arrow"} {
		p := filepath.Join(dir, name)
		w, err := data.CreateFile(p, feat.Schema(), data.WriteOptions{Alloc: mem})
		require.NoError(t, err)
		require.NoError(t, w.Write(feat))
		require.NoError(t, w.Close())
		got, err := ReadFeatureTable(context.Background(), p, mem)
		require.NoError(t, err, name)
		assert.True(t, array.RecordEqual(feat, got), name)
		day, err := FeatureAsOf(got)
		require.NoError(t, err)
		assert.Equal(t, asOf, day)
		got.Release()
	}
	_, err = ReadFeatureTable(context.Background(), filepath.Join(dir, "q.csv"), mem)
	assert.ErrorIs(t, err, ErrFeatureTable)
}
