package pipeline_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/churnpipe/churnpipe/pipeline"
)

// TestGateBlocksCustomerDrop publishes a night of 1,000 customers, then a
// night whose input lost 80 % of them: the drop gate blocks, the published
// table keeps the previous night and the ledger says "blocked"; forcing
// publishes and records it.
func TestGateBlocksCustomerDrop(t *testing.T) {
	full := writeSynth(t, 1000, 5)
	small := writeSynth(t, 200, 5) // the same first 200 customers
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "p.db")
	night := func(path string, force bool) (pipeline.NightlyResult, error) {
		return pipeline.Nightly(context.Background(), pipeline.NightlyConfig{
			Input: pipeline.Input{Path: path, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")},
			AsOf:  synthEnd, DB: db, ForcePublish: force,
		}, pipeline.Options{})
	}
	_, err := night(full, false)
	require.NoError(t, err)

	res, err := night(small, false)
	require.ErrorIs(t, err, pipeline.ErrGateBlocked)
	assert.True(t, res.Gates.Blocked())
	assert.Contains(t, err.Error(), "customers_drop")

	conn, err := sql.Open("sqlite", filepath.Join(dir, "p.db"))
	require.NoError(t, err)
	defer conn.Close()
	var n int
	require.NoError(t, conn.QueryRow(`SELECT count(*) FROM customer_predictions`).Scan(&n))
	assert.Equal(t, 1000, n, "the previous night is intact")
	var status string
	require.NoError(t, conn.QueryRow(`SELECT status FROM pipeline_runs ORDER BY started_at DESC LIMIT 1`).Scan(&status))
	assert.Equal(t, "blocked", status)

	res, err = night(small, true)
	require.NoError(t, err)
	assert.True(t, res.Gates.Forced)
	require.NoError(t, conn.QueryRow(`SELECT count(*) FROM customer_predictions`).Scan(&n))
	assert.Equal(t, 200, n)
	var details string
	require.NoError(t, conn.QueryRow(`SELECT details FROM pipeline_runs ORDER BY started_at DESC LIMIT 1`).Scan(&details))
	assert.Contains(t, details, `"forced":true`)
}
