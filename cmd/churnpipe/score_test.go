package main

import (
	"database/sql"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
)

// churnpipe score on an exported CDNOW feature table gives, customer for
// customer, the churn probability, predicted stage and CLV that the nightly
// job publishes for the same day with the same model.
func TestScoreMatchesNightly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model on the CDNOW sample")
	}
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, stderr := runCLI(t, "train", "--input", csvPath, "--as-of", "1997-12-31", "--registry", "models", "--force")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, "features", "--input", csvPath, "--as-of", "1998-01-31", "--out", "f.parquet")
	require.Equal(t, 0, code, stderr)
	code, out, stderr := runCLI(t, "score", "--model", "v000001", "--registry", "models", "--input", "f.parquet", "--out", "p.csv")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "scored 2357 customers as of 1998-01-31 with model v000001")
	// A feature table has no event history to hold out, so score's
	// clv.model: auto falls back to MBG/NBD (recorded as a warning); the
	// night is run with the same count model to compare like with like.
	require.NoError(t, os.WriteFile("mbg.yaml", []byte("clv:\n  model: mbgnbd\n"), 0o644))
	code, _, stderr = runCLI(t, "nightly", "--config", "mbg.yaml", "--input", csvPath, "--as-of", "1998-01-31", "--registry", "models",
		"--db", "sqlite:"+filepath.Join(dir, "n.db"), "--force-publish")
	require.Equal(t, 0, code, stderr)

	f, err := os.Open("p.csv")
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2358)
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "n.db"))
	require.NoError(t, err)
	defer db.Close()
	for _, r := range recs[1:] {
		var p, clv float64
		var stage, version, seg string
		require.NoError(t, db.QueryRow(`SELECT churn_probability, predicted_stage, model_version, predicted_clv_12m, rfm_segment
		FROM customer_predictions WHERE customer_id = ?`, r[col["customer_id"]]).Scan(&p, &stage, &version, &clv, &seg))
		gp, err := strconv.ParseFloat(r[col["churn_probability"]], 64)
		require.NoError(t, err)
		gc, err := strconv.ParseFloat(r[col["predicted_clv_12m"]], 64)
		require.NoError(t, err)
		assert.InDelta(t, p, gp, 1e-12, r[col["customer_id"]])
		assert.InDelta(t, clv, gc, 1e-9*max(1, clv), r[col["customer_id"]])
		assert.Equal(t, stage, r[col["predicted_stage"]])
		assert.Equal(t, version, r[col["model_version"]])
		assert.Equal(t, seg, r[col["rfm_segment"]])
	}

	// A table that is not a feature table names the file and the column.
	code, _, stderr = runCLI(t, "score", "--model", "v000001", "--registry", "models", "--input", "p.csv", "--out", "x.parquet")
	assert.Equal(t, 3, code, stderr)
	code, _, stderr = runCLI(t, "score", "--model", "v000001", "--registry", "models", "--input", "f.parquet", "--out", "p.parquet")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, "score", "--model", "v000001", "--registry", "models", "--input", "p.parquet", "--out", "x.parquet")
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, `p.parquet: no column "first_event_date"`)
	code, _, stderr = runCLI(t, "score", "--model", "v000009", "--registry", "models", "--input", "f.parquet", "--out", "x.parquet")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "v000009")
}
