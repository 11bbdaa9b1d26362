package realdata_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs/realdata"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestRealDataAcceptance runs train then nightly on every shared real
// history, into SQLite and (with CHURNPIPE_TEST_POSTGRES; always in CI)
// PostgreSQL, and checks the acceptance rules of issue 11.
func TestRealDataAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("real-data acceptance: not in -short")
	}
	dir := filepath.Join(testenv.Root(t), "..", "shared", "data")
	if err := realdata.Available(dir); err != nil {
		t.Skipf("real-data acceptance needs ../shared/data beside the repository: %v", err)
	}
	cfg := realdata.Config{Dir: dir, Work: t.TempDir(), Quick: true}
	if os.Getenv("CHURNPIPE_TEST_POSTGRES") != "" || os.Getenv("CI") == "true" {
		cfg.Postgres = testenv.Postgres(t)
	}
	rows, err := realdata.Run(context.Background(), cfg, pipeline.Options{})
	require.NoError(t, err)
	want := len(realdata.Histories)
	if cfg.Postgres != "" {
		want *= 2
	}
	require.Len(t, rows, want)
	t.Logf("real-data acceptance:\n%s", realdata.Markdown(rows))
	for _, r := range rows {
		name := r.History + "/" + r.Sink
		require.Empty(t, r.Err, name)
		assert.Equal(t, "succeeded", r.Status, "%s: train then nightly on the same day publishes (gates %s)", name, r.Gates)
		assert.Zero(t, r.ExitCode, name)
		assert.False(t, r.Forced, name)
		assert.Equal(t, r.InputRows, r.RowsRead, "%s: every line of the file is read", name)
		assert.Zero(t, r.RowsRejected, name)
		assert.Zero(t, r.RowsDuplicate, "%s: no event_id, so nothing is dropped as a duplicate", name)
		assert.Equal(t, r.RowsRead-r.RowsExcluded, r.RowsKept, "%s: every row on or before the as-of day is used", name)
		assert.Equal(t, r.NetInCents, r.HistoricOutCents, "%s: Σ historic_value = the input's net amount, to the cent", name)
		assert.LessOrEqual(t, r.MaxDecimals, 2, "%s: money is published in cents", name)
		assert.Positive(t, r.Buyers, name)
		assert.Equal(t, r.Buyers, r.ChurnRows, "%s: every buyer has a churn probability", name)
		assert.Equal(t, r.Buyers, r.PAliveRows, "%s: every buyer has P(alive)", name)
	}
}
