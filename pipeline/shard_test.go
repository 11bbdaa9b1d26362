package pipeline_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
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

	_, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, Input: in, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "one.db")}, pipeline.Options{})
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

	res, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "four.db"),
		FromShards: shardDir, Shards: 4}, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(1500), res.Run.Customers)
	single, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, Input: in, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "again.db")}, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, single.Run.RowsRead, res.Run.RowsRead, "the ledger counts each input row once")

	one, four := testenv.DumpPredictions(t, filepath.Join(dir, "one.db")), testenv.DumpPredictions(t, filepath.Join(dir, "four.db"))
	require.Len(t, one, 1500)
	assert.Equal(t, one, four)

	// A missing shard stops the finalize step before anything is published.
	_, err = pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "five.db"),
		FromShards: shardDir, Shards: 5}, pipeline.Options{})
	assert.ErrorIs(t, err, pipeline.ErrShards)
}

// TestShardsReadOnlyTheirPartitions: a history rewritten as 8 partition
// files (pipeline.Partition) lets each of 4 workers read only its 2 files,
// and the night published is still exactly the single run's.
func TestShardsReadOnlyTheirPartitions(t *testing.T) {
	hist := writeSynth(t, 1200, 11)
	dir := t.TempDir()
	ctx := context.Background()
	in := pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	one, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, Input: in, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "one.db")}, pipeline.Options{})
	require.NoError(t, err)

	parts := filepath.Join(dir, "parts")
	pst, err := pipeline.Partition(ctx, in, 8, parts, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, one.Run.RowsRead, pst.RowsWritten, "partitioning keeps every row")
	assert.Empty(t, pst.Quarantine)

	shardDir := filepath.Join(dir, "shards")
	pin := in
	pin.Path = parts
	for i := 0; i < 4; i++ {
		sin := pin
		sin.Shard, sin.Shards = i, 4
		st, _, err := pipeline.WriteShard(ctx, sin, synthEnd, shardDir, pipeline.Options{})
		require.NoError(t, err, "shard %d", i)
		assert.Equal(t, 2, st.Files, "shard %d reads files %d and %d", i, i, i+4)
		assert.Equal(t, 6, st.FilesSkipped)
		assert.Zero(t, st.RowsSkipped, "no other shard's event was read")
	}
	four, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "four.db"),
		FromShards: shardDir, Shards: 4}, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, one.Run.RowsRead, four.Run.RowsRead, "the ledger counts each input row once")
	assert.Equal(t, one.Run.Customers, four.Run.Customers)
	a, b := testenv.DumpPredictions(t, filepath.Join(dir, "one.db")), testenv.DumpPredictions(t, filepath.Join(dir, "four.db"))
	require.Len(t, a, 1200)
	assert.Equal(t, a, b)
}

// TestShardRefusesMisnamedPartitions: files named like partitions that do
// not hold the hash's customers stop the worker instead of losing customers.
func TestShardRefusesMisnamedPartitions(t *testing.T) {
	parts := filepath.Join(t.TempDir(), "parts")
	require.NoError(t, os.MkdirAll(parts, 0o755))
	for i := 0; i < 2; i++ { // two whole histories under partition names
		b, err := os.ReadFile(writeSynth(t, 200, uint64(12+i)))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(parts, data.PartitionFile(i, 2)), b, 0o644))
	}
	in := pipeline.Input{Path: parts, MaxReject: 0.01, Shard: 1, Shards: 2, Quarantine: filepath.Join(t.TempDir(), "q.csv")}
	_, _, err := pipeline.WriteShard(context.Background(), in, synthEnd, t.TempDir(), pipeline.Options{})
	require.ErrorIs(t, err, data.ErrPartition)
	assert.ErrorContains(t, err, "other shards' customers")
}

// shardCLV pins the count model: clv.model auto compares the models on the
// event history, which a sharded finalize (FromShards) does not have, so
// it falls back to mbgnbd; a one-process night would choose by holdout.
var shardCLV = pipeline.CLVOptions{Model: "mbgnbd"}

// TestShardCorruptTable: a shard table on shared storage with a flipped
// byte in its Arrow footer stops the finalize step with an input error
// naming the file (exit 3), before anything is published. Without the
// footer check arrow-go allocates the size the corrupt footer claims and
// the process dies with "fatal error: runtime: out of memory".
func TestShardCorruptTable(t *testing.T) {
	hist := writeSynth(t, 300, 21)
	dir := t.TempDir()
	ctx := context.Background()
	in := pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	shardDir := filepath.Join(dir, "shards")
	var paths []string
	for i := 0; i < 2; i++ {
		sin := in
		sin.Shard, sin.Shards = i, 2
		_, path, err := pipeline.WriteShard(ctx, sin, synthEnd, shardDir, pipeline.Options{})
		require.NoError(t, err, "shard %d", i)
		paths = append(paths, path)
	}
	good, err := os.ReadFile(paths[1])
	require.NoError(t, err)

	// Flip footer bytes to 0xff until one makes the footer claim more
	// entries than it holds (the kind of byte that made arrow-go allocate
	// hundreds of GB); the check must refuse it.
	n := int(int32(binary.LittleEndian.Uint32(good[len(good)-10:])))
	refused := 0
	for off := len(good) - 10 - n; off < len(good)-10 && refused < 3; off++ {
		if good[off] == 0xff {
			continue
		}
		bad := append([]byte(nil), good...)
		bad[off] = 0xff
		require.NoError(t, os.WriteFile(paths[1], bad, 0o644))
		f, err := os.Open(paths[1])
		require.NoError(t, err)
		cerr := data.CheckArrowFile(f, paths[1])
		f.Close()
		if cerr == nil {
			continue
		}
		refused++
		db := filepath.Join(dir, "night.db")
		_, err = pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + db,
			FromShards: shardDir, Shards: 2}, pipeline.Options{})
		require.Error(t, err, "footer byte %d flipped", off)
		assert.ErrorIs(t, err, pipeline.ErrShards)
		assert.ErrorIs(t, err, data.ErrCorrupt)
		assert.Contains(t, err.Error(), paths[1], "the error names the shard file")
		if _, serr := os.Stat(db); serr == nil {
			assert.Empty(t, testenv.DumpPredictions(t, db), "nothing is published")
		}
	}
	require.Positive(t, refused, "some flipped footer byte is refused by the check")

	require.NoError(t, os.WriteFile(paths[1], good, 0o644))
	res, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "ok.db"),
		FromShards: shardDir, Shards: 2}, pipeline.Options{})
	require.NoError(t, err, "the restored shard finalizes")
	assert.Equal(t, int64(300), res.Run.Customers)
}

// TestShardsContractual: on a subscription history (subscribers and
// one-off buyers) 4 shard workers carry their subscribers' states to the
// finalize step, which publishes exactly the single run's night —
// subscription columns, subscriber stages, P(cancel) from the cancel model
// fitted tonight and its ledger record included. A finalize step with
// other subscription rules than its workers' refuses; workers with the
// setting disabled leave the subscription columns empty, with a warning.
func TestShardsContractual(t *testing.T) {
	hist := pipeline.WriteTestContractual(t, 2000, 5)
	dir := t.TempDir()
	in := pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	ctx := context.Background()
	one, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, Input: in, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "one.db")}, pipeline.Options{})
	require.NoError(t, err)
	oneSubs, ok := one.Run.Details["subscriptions"].(map[string]any)
	require.True(t, ok, "the single run scores subscribers")

	shardDir := filepath.Join(dir, "shards")
	write := func(sub pipeline.SubscriptionOptions) {
		for i := 0; i < 4; i++ {
			sin := in
			sin.Shard, sin.Shards = i, 4
			_, _, err := pipeline.WriteShardWith(ctx, sin, synthEnd, shardDir, sub, pipeline.Options{})
			require.NoError(t, err, "shard %d", i)
		}
	}
	write(pipeline.SubscriptionOptions{})
	four, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "four.db"),
		FromShards: shardDir, Shards: 4}, pipeline.Options{})
	require.NoError(t, err)
	a, b := testenv.DumpPredictions(t, filepath.Join(dir, "one.db")), testenv.DumpPredictions(t, filepath.Join(dir, "four.db"))
	require.Len(t, a, 2000)
	assert.Equal(t, a, b)
	fourSubs, ok := four.Run.Details["subscriptions"].(map[string]any)
	require.True(t, ok, "the finalize step scores subscribers")
	assert.Equal(t, oneSubs["subscribers"], fourSubs["subscribers"])
	assert.Equal(t, oneSubs["cancel_model"], fourSubs["cancel_model"])
	assert.Equal(t, oneSubs["retention"], fourSubs["retention"])
	db, err := sql.Open("sqlite", filepath.Join(dir, "four.db"))
	require.NoError(t, err)
	defer db.Close()
	var withStatus, active int
	require.NoError(t, db.QueryRow(`SELECT count(subscription_status), count(CASE WHEN subscription_status = 'active' AND p_renew_next > 0 AND residual_clv > 0 AND churn_probability > 0 THEN 1 END) FROM customer_predictions`).Scan(&withStatus, &active))
	assert.Positive(t, withStatus, "subscription columns published")
	assert.Positive(t, active)
	var stages int
	require.NoError(t, db.QueryRow(`SELECT count(DISTINCT lifecycle_stage) FROM customer_predictions WHERE subscription_status IS NOT NULL`).Scan(&stages))
	assert.GreaterOrEqual(t, stages, 6, "subscriber stages")

	// Other rules at finalize than at the workers: refused before publishing.
	_, err = pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "rules.db"),
		FromShards: shardDir, Shards: 4, Subscriptions: pipeline.SubscriptionOptions{HorizonDays: 60}}, pipeline.Options{})
	require.ErrorIs(t, err, pipeline.ErrShards)
	assert.Contains(t, err.Error(), "same subscriptions configuration")

	// Workers with subscriptions disabled write no states (and remove the earlier ones).
	write(pipeline.SubscriptionOptions{Disabled: true})
	off, err := pipeline.Nightly(ctx, pipeline.NightlyConfig{CLV: shardCLV, AsOf: synthEnd, DB: "sqlite:" + filepath.Join(dir, "off.db"),
		FromShards: shardDir, Shards: 4}, pipeline.Options{})
	require.NoError(t, err)
	assert.NotContains(t, off.Run.Details, "subscriptions")
}
