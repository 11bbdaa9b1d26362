package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/pipeline"
)

func TestParseVmHWM(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		want         int64
	}{
		// Layout of proc(5) /proc/PID/status.
		{"kB", "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n", 1234 << 10},
		{"absent", "Name:\tx\nVmRSS:\t 1000 kB\n", 0},
		{"other unit", "VmHWM:\t 12 MB\n", 0},
		{"garbage", "VmHWM:\t x kB\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseVmHWM([]byte(tc.status)))
		})
	}
}

func TestRunErrors(t *testing.T) {
	_, err := Run(context.Background(), Config{Tier: "XL", Dir: t.TempDir()}, pipeline.Options{})
	assert.ErrorIs(t, err, ErrConfig)
}

// TestRunTierS runs tier S twice: the first run generates the history, the
// second reuses it; without Keep the first run's files are removed.
func TestRunTierS(t *testing.T) {
	if testing.Short() {
		t.Skip("tier S generates 1 M events")
	}
	dir := t.TempDir()
	ctx := context.Background()
	res, err := Run(ctx, Config{Tier: "S", Dir: dir, Keep: true, ReadPass: true, FeaturePass: true}, pipeline.Options{})
	require.NoError(t, err)
	assert.True(t, res.Generated)
	// data/synth.Tier: 10,000 customers, ~100 events each (calibrated to a few %).
	assert.EqualValues(t, 10_000, res.Customers)
	assert.InDelta(t, 1e6, float64(res.Events), 1e5)
	for _, k := range []string{"read_features", "fit", "score", "publish", "read", "features", "features_in_memory"} {
		assert.Contains(t, res.Seconds, k)
	}
	assert.Greater(t, res.TotalSeconds, 0.0)
	assert.InDelta(t, float64(res.Events)/res.TotalSeconds, res.EventsPerSecond, 1e-6*res.EventsPerSecond)
	assert.Greater(t, res.PeakRSSBytes, int64(1<<20), "VmHWM is read")
	assert.Greater(t, res.GOMAXPROCS, 0)

	again, err := Run(ctx, Config{Tier: "S", Dir: dir}, pipeline.Options{})
	require.NoError(t, err)
	assert.False(t, again.Generated, "the history is reused")
	assert.Equal(t, res.Events, again.Events)
	_, err = os.Stat(res.Input)
	assert.NoError(t, err, "a cached history is not removed")

	other := t.TempDir()
	res, err = Run(ctx, Config{Tier: "S", Dir: other}, pipeline.Options{})
	require.NoError(t, err)
	assert.True(t, res.Generated)
	_, err = os.Stat(res.Input)
	assert.ErrorIs(t, err, os.ErrNotExist, "without Keep the generated history is removed")
}

// TestRunTierSSharded: a sharded run partitions the history, runs every
// worker on its own file and publishes the same customers as one run.
func TestRunTierSSharded(t *testing.T) {
	if testing.Short() {
		t.Skip("tier S generates 1 M events")
	}
	dir := t.TempDir()
	ctx := context.Background()
	res, err := Run(ctx, Config{Tier: "S", Dir: dir, Keep: true, Shards: 4}, pipeline.Options{})
	require.NoError(t, err)
	require.Len(t, res.Workers, 4)
	var events int64
	customers := 0
	for i, w := range res.Workers {
		assert.Equal(t, i, w.Shard)
		assert.Equal(t, 1, w.Files, "worker %d reads only its partition", i)
		assert.Greater(t, w.PeakRSSMiB, 1.0)
		events += w.Events
		customers += w.Customers
	}
	assert.EqualValues(t, 10_000, customers)
	assert.Equal(t, res.Events, events, "the finalize ledger counts what the workers read")
	assert.EqualValues(t, 10_000, res.Customers)
	assert.Greater(t, res.PartitionSeconds, 0.0)
	_, err = os.Stat(filepath.Join(dir, "tier-S-seed1-parts4", "part-00003-of-00004.parquet"))
	assert.NoError(t, err, "the partitions are cached with Keep")
}

// TestRunWithChampion: with a registry the night applies its champion, as a
// production night does; the model is trained on one partition (a sample).
func TestRunWithChampion(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a churn model on tier S")
	}
	dir := t.TempDir()
	ctx := context.Background()
	res, err := Run(ctx, Config{Tier: "S", Dir: dir, Keep: true, Shards: 2}, pipeline.Options{})
	require.NoError(t, err)
	assert.Empty(t, res.ModelVersion, "no registry, no churn model")

	tcfg, err := synth.Tier("S")
	require.NoError(t, err)
	in := pipeline.Input{Path: filepath.Join(dir, "tier-S-seed1-parts2", "part-00000-of-00002.parquet"), MaxReject: 0.01,
		Quarantine: filepath.Join(dir, "q.csv")}
	h, err := pipeline.LoadHistory(ctx, in, pipeline.Options{})
	require.NoError(t, err)
	reg := filepath.Join(dir, "models")
	rep, _, err := pipeline.Train(ctx, h, pipeline.TrainConfig{AsOf: tcfg.End, Registry: reg, Seed: 1}, pipeline.Options{})
	h.Release()
	require.NoError(t, err)
	require.NotEmpty(t, rep.ModelVersion)

	res, err = Run(ctx, Config{Tier: "S", Dir: dir, Registry: reg}, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, rep.ModelVersion, res.ModelVersion, "the night scored all customers with the champion trained on half of them")
	assert.EqualValues(t, 10_000, res.Customers)
}
