package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/synth"
)

// The synthetic histories of this package's tests (internal and external)
// span these two years.
var (
	TestSynthStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	TestSynthEnd   = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
)

// WriteTestSynth writes a synthetic history of n customers to a temporary
// Parquet file and returns its path.
func WriteTestSynth(t testing.TB, n int, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.parquet")
	w, err := data.CreateFile(path, data.EventSchema, data.WriteOptions{})
	require.NoError(t, err)
	_, err = synth.Generate(context.Background(), synth.DefaultConfig(n, TestSynthStart, TestSynthEnd, seed),
		memory.DefaultAllocator, func(r arrow.RecordBatch) error { return w.Write(r) })
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return path
}

// WriteTestContractual writes a synthetic subscription history of n
// customers (synth.DefaultContractual: subscribers and one-off buyers) to a
// temporary Parquet file and returns its path.
func WriteTestContractual(t testing.TB, n int, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "contractual.parquet")
	w, err := data.CreateFile(path, data.EventSchema, data.WriteOptions{})
	require.NoError(t, err)
	_, err = synth.GenerateContractual(context.Background(), synth.DefaultContractual(n, TestSynthStart, TestSynthEnd, seed),
		memory.DefaultAllocator, func(r arrow.RecordBatch) error { return w.Write(r) })
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return path
}
