package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestShardsPublishWhatOneRunPublishes: 4 shard workers plus the finalize
// step publish exactly the night a single run publishes (models, RFM
// quintiles and tiers are computed once on all customers).
func TestShardsPublishWhatOneRunPublishes(t *testing.T) {
	hist := writeSynth(t, 1500, 9)
	dir := t.TempDir()
	in := pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	ctx := context.Background()

	_, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{Input: in, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "one.db")}, pipeline.Options{})
	require.NoError(t, err)

	shardDir := filepath.Join(dir, "shards")
	customers := 0
	for i := 0; i < 4; i++ {
		sin := in
		sin.Shard, sin.Shards = i, 4
		st, path, err := pipeline.WriteShard(ctx, sin, synthEnd, shardDir, pipeline.Options{})
		require.NoError(t, err, "shard %d", i)
		assert.FileExists(t, path)
		assert.Positive(t, st.Customers, "every shard of 1,500 customers has some")
		customers += st.Customers
	}
	assert.Equal(t, 1500, customers, "every customer lands in exactly one shard")

	res, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "four.db"),
		FromShards: shardDir, Shards: 4}, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(1500), res.Run.Customers)
	single, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{Input: in, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "again.db")}, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, single.Run.RowsRead, res.Run.RowsRead, "the ledger counts each input row once")

	one, four := testenv.DumpPredictions(t, filepath.Join(dir, "one.db")), testenv.DumpPredictions(t, filepath.Join(dir, "four.db"))
	require.Len(t, one, 1500)
	assert.Equal(t, one, four)

	// A missing shard stops the finalize step before anything is published.
	_, err = pipeline.Nightly(ctx, pipeline.NightlyConfig{AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "five.db"),
		FromShards: shardDir, Shards: 5}, pipeline.Options{})
	assert.ErrorIs(t, err, pipeline.ErrShards)
}
