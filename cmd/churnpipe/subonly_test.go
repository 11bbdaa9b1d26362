package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/jobs"
)

// TestSubscriberOnlyCLI: on a subscriber-only history `train` writes a
// cancel-only version and says so in its text and --json output; models
// list/show describe it; models promote judges a cancel-only candidate by
// the cancel models' rule; report and score --features refuse it with a
// usage error naming the missing buyer model; the nightly publishes with it
// twice. A history too small for either model still fails with "not enough
// data" (exit 3).
func TestSubscriberOnlyCLI(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(path string, customers int) {
		cfg := synth.DefaultContractual(customers, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), 1)
		cfg.BuyerShare = 0
		fw, err := data.CreateFile(path, data.EventSchema, data.WriteOptions{Alloc: memory.DefaultAllocator})
		require.NoError(t, err)
		_, err = synth.GenerateContractual(context.Background(), cfg, memory.DefaultAllocator, func(rec arrow.RecordBatch) error { return fw.Write(rec) })
		require.NoError(t, err)
		require.NoError(t, fw.Close())
	}
	write("subs.parquet", 3000)

	code, out, stderr := runCLI(t, "train", "--input", "subs.parquet", "--as-of", "2025-12-31", "--registry", "reg", "--json")
	require.Equal(t, 0, code, stderr)
	var rep struct {
		ModelVersion string `json:"model_version"`
		ModelKind    string `json:"model_kind"`
		BuyerModel   string `json:"buyer_model"`
		Champion     string `json:"champion"`
		CancelModel  struct {
			Kind string `json:"kind"`
		} `json:"cancel_model"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, "v000001", rep.ModelVersion)
	assert.Equal(t, "none", rep.ModelKind)
	assert.Contains(t, rep.BuyerModel, "not trained — ")
	assert.Contains(t, rep.BuyerModel, "0 buyers in the training snapshots")
	assert.NotEmpty(t, rep.CancelModel.Kind)
	assert.Equal(t, "v000001", rep.Champion)

	// The text output of a second train says the same; the cancel rule promotes it.
	code, out, stderr = runCLI(t, "train", "--input", "subs.parquet", "--as-of", "2025-12-31", "--registry", "reg")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "model v000002: buyer model: not trained — ")
	assert.Contains(t, out, "need at least 500")
	assert.Contains(t, out, "cancel verdict:")
	assert.Contains(t, out, "promotion: true — candidate cancel model mean test AUC")
	assert.Contains(t, out, "champion is v000002")

	code, out, stderr = runCLI(t, "models", "list", "--registry", "reg")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "v000002  none")

	code, out, stderr = runCLI(t, "models", "show", "champion", "--registry", "reg")
	require.Equal(t, 0, code, stderr)
	var show map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &show), out)
	assert.Equal(t, "v000002", show["version"])
	assert.Equal(t, "none", show["kind"])
	assert.Contains(t, show["buyer_model"], "none: the version holds only the subscribers' cancel model")
	assert.Contains(t, show, "cancel_model")

	// Manual promotion of v000001 against the cancel-only champion v000002: the cancel models' rule.
	code, out, stderr = runCLI(t, "models", "promote", "v000001", "--registry", "reg")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "promote v000001: true — candidate cancel model mean test AUC")
	assert.Contains(t, out, "champion v000002's")

	code, _, stderr = runCLI(t, "report", "--model", "champion", "--registry", "reg", "--out", "html")
	assert.Equal(t, jobs.ExitUsage, code)
	assert.Contains(t, stderr, "no buyer churn model")

	code, _, stderr = runCLI(t, "features", "--input", "subs.parquet", "--as-of", "2025-12-31", "--out", "f.parquet")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, "score", "--model", "champion", "--registry", "reg", "--input", "f.parquet", "--out", "p.csv")
	assert.Equal(t, jobs.ExitUsage, code)
	assert.Contains(t, stderr, "no buyer churn model")

	for _, day := range []string{"2025-12-30", "2025-12-31"} {
		code, _, stderr = runCLI(t, "nightly", "--input", "subs.parquet", "--as-of", day, "--registry", "reg", "--db", "sqlite:crm.db")
		require.Equal(t, 0, code, "night %s: %s", day, stderr)
	}

	// Too small for either model: not enough data, as before.
	write("tiny.parquet", 40)
	code, _, stderr = runCLI(t, "train", "--input", "tiny.parquet", "--as-of", "2025-12-31", "--registry", "reg2")
	assert.Equal(t, jobs.ExitRejected, code, stderr)
	assert.Contains(t, stderr, "not enough data")
}
