package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/jobs"
)

// TestPartitionCLI: synth --partitions and partition write the layout a
// sharded night reads; a worker of shard 1/2 on a 4-file folder opens 2 of
// them; bad rows are quarantined beside the folder, not in it.
func TestPartitionCLI(t *testing.T) {
	dir := t.TempDir()
	parts := filepath.Join(dir, "synth-parts")
	code, out, stderr := runCLI(t, "synth", "--customers", "300", "--partitions", "4", "--out", parts)
	require.Equal(t, jobs.ExitOK, code, out+stderr)
	for i := 0; i < 4; i++ {
		assert.FileExists(t, filepath.Join(parts, data.PartitionFile(i, 4)))
	}
	code, out, stderr = runCLI(t, "synth", "--customers", "300", "--partitions", "4", "--out", parts)
	assert.Equal(t, jobs.ExitUsage, code, "never mix two partitionings in one folder: "+out+stderr)

	shards := filepath.Join(dir, "shards")
	code, out, stderr = runCLI(t, "nightly", "--input", parts, "--as-of", "2025-12-31", "--shard", "1/2", "--shard-dir", shards)
	require.Equal(t, jobs.ExitOK, code, out+stderr)
	assert.Contains(t, out, "files read 2, skipped 2")

	csv := filepath.Join(dir, "events.csv")
	require.NoError(t, os.WriteFile(csv, []byte("customer_id,event_time,event_type,amount\n"+
		"a,2024-01-01,purchase,1\nb,2024-01-02,purchase,2\nc,2024-01-03,visit,\nd,not-a-day,purchase,3\n"), 0o644))
	out2 := filepath.Join(dir, "csv-parts")
	code, out, stderr = runCLI(t, "partition", "--input", csv, "--partitions", "2", "--out", out2, "--max-reject", "0.5")
	require.Equal(t, jobs.ExitOK, code, out+stderr)
	assert.Contains(t, out, "wrote 3 events into 2 partition files")
	assert.Contains(t, out, "rejected 1")
	assert.FileExists(t, out2+".quarantine.csv")
	entries, err := os.ReadDir(out2)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "only the partition files in the folder")

	code, _, stderr = runCLI(t, "partition", "--input", csv, "--partitions", "2", "--out", filepath.Join(dir, "strict"))
	assert.Equal(t, jobs.ExitRejected, code, "1 bad row of 4 is over the default 1 %: "+stderr)
	_, err = os.Stat(filepath.Join(dir, "strict", data.PartitionFile(0, 2)))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing renamed into place after a rejected input")
	code, _, _ = runCLI(t, "partition", "--input", csv, "--partitions", "0", "--out", filepath.Join(dir, "zero"))
	assert.Equal(t, jobs.ExitUsage, code)
}

// TestSynthTierCLI: churnpipe synth --tier writes the benchmark tier (the
// history churnpipe bench runs on); a tier fixes the size and the dates.
func TestSynthTierCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("tier S is 1 M events")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "tier-S.parquet")
	code, stdout, stderr := runCLI(t, "synth", "--tier", "S", "--out", out)
	require.Equal(t, jobs.ExitOK, code, stdout+stderr)
	assert.Contains(t, stdout, "of 10000 customers")
	r, err := data.Open(out, data.Options{})
	require.NoError(t, err)
	defer r.Release()
	assert.InDelta(t, 1e6, float64(r.ExpectedRows()), 1e5, "~100 events a customer")

	code, _, _ = runCLI(t, "synth", "--tier", "S", "--customers", "5", "--out", filepath.Join(dir, "x.parquet"))
	assert.Equal(t, jobs.ExitUsage, code)
	code, _, _ = runCLI(t, "synth", "--tier", "XL", "--out", filepath.Join(dir, "y.parquet"))
	assert.Equal(t, jobs.ExitUsage, code)
}
