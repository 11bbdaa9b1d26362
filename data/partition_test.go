package data

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// partitionedHistory writes evs as n partition files in a new folder.
func partitionedHistory(t *testing.T, evs []event, n int) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := filepath.Join(t.TempDir(), "parts")
	w, err := CreatePartitioned(dir, n, WriteOptions{Alloc: mem})
	require.NoError(t, err)
	// Two records, so partitions get rows from both.
	for _, half := range [][]event{evs[:len(evs)/2], evs[len(evs)/2:]} {
		rec := buildEvents(mem, half)
		require.NoError(t, w.Write(rec))
		rec.Release()
	}
	require.NoError(t, w.Close())
	w.Abort() // no-op after Close
	return dir
}

func manyCustomers(customers, perCustomer int) []event {
	var evs []event
	for k := 0; k < perCustomer; k++ {
		for c := 0; c < customers; c++ {
			e := event{ID: fmt.Sprintf("C%05d", c), TimeMS: mar1 + int64(k*3600_000+c), Type: "purchase", Amount: f64(float64(c%7) + 0.5)}
			if c%5 == 0 {
				e.Type, e.Amount = "visit", nil
			}
			evs = append(evs, e)
		}
	}
	return evs
}

func sortEvents(evs []event) {
	slices.SortFunc(evs, func(a, b event) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), cmp.Compare(a.TimeMS, b.TimeMS))
	})
}

func TestPartitionWriterRoutesEveryCustomerToOneFile(t *testing.T) {
	evs := manyCustomers(300, 4)
	const n = 8
	dir := partitionedHistory(t, evs, n)
	var all []event
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, PartitionFile(i, n))
		res, err := readAll(t, p, Options{})
		require.NoError(t, err, p)
		require.NotEmpty(t, res.Events, "300 customers fill each of 8 partitions")
		for _, e := range res.Events {
			require.Equal(t, i, ShardOf(e.ID, n), "%s in %s", e.ID, p)
		}
		all = append(all, res.Events...)
	}
	want := slices.Clone(evs)
	sortEvents(want)
	sortEvents(all)
	assert.Equal(t, want, all, "every event written once, nulls kept")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, n, "no temporary file left behind")
}

func TestReaderReadsOnlyTheShardsPartitions(t *testing.T) {
	evs := manyCustomers(200, 3)
	dir := partitionedHistory(t, evs, 8)
	for _, tc := range []struct {
		name          string
		shard, shards int
		wantFiles     int
		wantSkipped   int
	}{
		{"no sharding reads all", 0, 0, 8, 0},
		{"shard 3 of 4 reads files 3 and 7", 3, 4, 2, 6},
		{"shard 5 of 8 reads file 5", 5, 8, 1, 7},
		{"3 does not divide 8: every file", 1, 3, 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := readAll(t, dir, Options{Shard: tc.shard, Shards: tc.shards})
			require.NoError(t, err)
			assert.Equal(t, tc.wantFiles, res.Stats.Files)
			assert.Equal(t, tc.wantSkipped, res.Stats.FilesSkipped)
			var want []event
			for _, e := range evs {
				if tc.wantSkipped == 0 || ShardOf(e.ID, tc.shards) == tc.shard {
					want = append(want, e)
				}
			}
			sortEvents(want)
			sortEvents(res.Events)
			assert.Equal(t, want, res.Events)
		})
	}
	_, err := Open(dir, Options{Shard: 4, Shards: 4})
	assert.ErrorContains(t, err, "shard 4 of 4")
}

func TestPartitionFolderChecks(t *testing.T) {
	evs := manyCustomers(50, 2)
	dir := partitionedHistory(t, evs, 4)

	_, err := CreatePartitioned(dir, 4, WriteOptions{})
	assert.ErrorIs(t, err, ErrPartition, "never mix two partitionings in one folder")

	require.NoError(t, os.Remove(filepath.Join(dir, PartitionFile(2, 4))))
	_, err = Open(dir, Options{})
	require.ErrorIs(t, err, ErrPartition, "a missing partition would lose its customers")
	assert.ErrorContains(t, err, "part-00002-of-00004.parquet")
	_, err = Open(dir, Options{Shard: 0, Shards: 2})
	assert.ErrorIs(t, err, ErrPartition, "also when the shard would not read it")

	other := partitionedHistory(t, evs, 2)
	require.NoError(t, os.Rename(filepath.Join(other, PartitionFile(0, 2)), filepath.Join(dir, PartitionFile(0, 2))))
	_, err = Open(dir, Options{})
	assert.ErrorIs(t, err, ErrPartition, "mixed partition counts")
}

func TestParsePartitionFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		i, n int
		ok   bool
	}{
		{"part-00003-of-00008.parquet", 3, 8, true},
		{"/a/b/part-00000-of-00001.parquet", 0, 1, true},
		{"part-00008-of-00008.parquet", 0, 0, false},
		{"part-00001-of-00000.parquet", 0, 0, false},
		{"part-3-of-8.parquet", 0, 0, false},
		{"part-00003-of-00008.csv", 0, 0, false},
		{"events.parquet", 0, 0, false},
	} {
		i, n, ok := ParsePartitionFile(tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
		if tc.ok {
			assert.Equal(t, [2]int{tc.i, tc.n}, [2]int{i, n}, tc.name)
			assert.Equal(t, filepath.Base(tc.name), PartitionFile(i, n))
		}
	}
	assert.Panics(t, func() { PartitionFile(8, 8) })
	assert.Panics(t, func() { ShardOf("a", 0) })
	_, err := CreatePartitioned(t.TempDir(), 0, WriteOptions{})
	assert.ErrorIs(t, err, ErrPartition)
}
