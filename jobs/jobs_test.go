package jobs_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/internal/retry"
	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

var cdnowEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(q, args...).Scan(&n), q)
	return n
}

// TestNightlyCDNOW is the spine's acceptance run on real data: 2,357 rows,
// and a rerun of the same as-of replaces that night in history.
func TestNightlyCDNOW(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "c.db")
	cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: csvPath, MaxReject: 0.01},
		AsOf:  cdnowEnd,
		DB:    "sqlite:" + dbPath,
	}}
	for run := 1; run <= 2; run++ {
		res, err := jobs.Nightly(context.Background(), cfg, pipeline.Options{})
		require.NoError(t, err, "run %d", run)
		assert.Equal(t, jobs.ExitOK, jobs.ExitCode(err))
		assert.EqualValues(t, 6919, res.Ingest.RowsRead)
		assert.EqualValues(t, 0, res.Ingest.RowsRejected)
		// Rows after 1997-09-30 are excluded and counted; the summary has 2,357 customers.
		assert.Positive(t, res.Ingest.RowsExcluded)
		assert.Equal(t, 2357, res.Ingest.Customers)
	}
	db := openDB(t, dbPath)
	assert.Equal(t, 2357, count(t, db, `SELECT count(*) FROM customer_predictions`))
	assert.Equal(t, 2357, count(t, db, `SELECT count(*) FROM customer_predictions_history WHERE as_of = '1997-09-30'`))
	assert.Equal(t, 2, count(t, db, `SELECT count(*) FROM pipeline_runs WHERE status = 'succeeded'`))
	assert.Equal(t, 1, count(t, db, `SELECT count(DISTINCT run_id) FROM customer_predictions`))

	// Every code is documented, and the labels are in the database.
	rows, err := db.Query(`SELECT lifecycle_stage, rfm_segment, value_tier, count(*) FROM customer_predictions GROUP BY 1, 2, 3`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var st, seg, tier string
		var n int
		require.NoError(t, rows.Scan(&st, &seg, &tier, &n))
		assert.True(t, lifecycle.Valid(lifecycle.Stage(st)), st)
		assert.True(t, rfm.Valid(rfm.Segment(seg)), seg)
		assert.Contains(t, []string{"A", "B", "C"}, tier)
	}
	require.NoError(t, rows.Err())
	// Buyer and subscriber stages share stage_labels.
	assert.Equal(t, len(lifecycle.Labels())+len(subscription.Labels()), count(t, db, `SELECT count(*) FROM stage_labels`))
	// Every CDNOW customer bought in Q1 1997; as of 1997-09-30 nobody is new or a prospect.
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage IN ('new', 'prospect')`))
}

// TestFeaturesCDNOWMatchPublishedSummary checks the BTYD columns against the
// published 39-week calibration summary (Fader, Hardie & Lee 2005; the
// lifetimes/BTYD data sets): x exactly, t_x and T to ±0.01 week.
func TestFeaturesCDNOWMatchPublishedSummary(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	summary := readSummary(t, testenv.SharedData(t, "cdnow/cdnow_customers_summary_with_transactions.csv"))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	in := pipeline.Input{Path: csvPath, MaxReject: 0.01, Quarantine: filepath.Join(t.TempDir(), "q.csv")}
	feat, _, err := pipeline.BuildFeatures(context.Background(), in, cdnowEnd, pipeline.Options{Alloc: mem})
	require.NoError(t, err)
	defer feat.Release()
	require.EqualValues(t, len(summary), feat.NumRows())

	col := func(name string) *array.Int32 {
		return feat.Column(feat.Schema().FieldIndices(name)[0]).(*array.Int32)
	}
	ids := feat.Column(0).(*array.String)
	x, tx, T := col(features.ColRepeatPurchases), col(features.ColFirstToLastDays), col(features.ColFirstToAsOfDays)
	zbar := feat.Column(feat.Schema().FieldIndices(features.ColRepeatSpendMean)[0]).(*array.Float64)
	for i := 0; i < int(feat.NumRows()); i++ {
		want, ok := summary[ids.Value(i)]
		require.True(t, ok, "customer %s not in the published summary", ids.Value(i))
		assert.EqualValues(t, want[0], x.Value(i), "x of %s", ids.Value(i))
		assert.InDelta(t, want[1], float64(tx.Value(i))/7, 0.01, "t_x of %s", ids.Value(i))
		assert.InDelta(t, want[2], float64(T.Value(i))/7, 0.01, "T of %s", ids.Value(i))
		assert.InDelta(t, want[3], zbar.Value(i), 0.0051, "zbar of %s", ids.Value(i))
	}
}

func readSummary(t *testing.T, path string) map[string][4]float64 {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	out := map[string][4]float64{}
	for _, r := range recs[1:] {
		var v [4]float64
		for k := 0; k < 4; k++ {
			v[k], err = strconv.ParseFloat(r[k+1], 64)
			require.NoError(t, err)
		}
		out[r[0]] = v
	}
	return out
}

// TestDemo runs the demo end to end on a small population and checks that
// the synthetic history exercises the lifecycle rules.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	res, err := jobs.Demo(context.Background(), jobs.DemoConfig{Dir: dir, Customers: 2000, Seed: 7}, pipeline.Options{})
	require.NoError(t, err)
	db := openDB(t, res.DB)
	n := count(t, db, `SELECT count(*) FROM customer_predictions`)
	assert.Equal(t, 2000, n)
	assert.GreaterOrEqual(t, count(t, db, `SELECT count(DISTINCT lifecycle_stage) FROM customer_predictions`), 5)
	// Shares of the tiers follow the 20/30/50 rule among buyers.
	a := count(t, db, `SELECT count(*) FROM customer_predictions WHERE value_tier = 'A'`)
	buyers := count(t, db, `SELECT count(*) FROM customer_predictions WHERE purchase_days > 0`)
	assert.InDelta(t, 0.2, float64(a)/float64(buyers), 0.01)
	b := count(t, db, `SELECT count(*) FROM customer_predictions WHERE value_tier = 'B'`)
	assert.InDelta(t, 0.3, float64(b)/float64(buyers), 0.01, "tier B is the next 30 %% of buyers")
	// The freshly trained model is the champion, and every buyer has a churn probability.
	require.NotNil(t, res.Train.Promotion)
	assert.True(t, res.Train.Promotion.Promote, res.Train.Promotion.Reason)
	assert.Equal(t, buyers, count(t, db, `SELECT count(*) FROM customer_predictions WHERE purchase_days > 0 AND churn_probability IS NOT NULL`))
}

func TestExitCodes(t *testing.T) {
	_, err := jobs.Nightly(context.Background(), jobs.NightlyConfig{}, pipeline.Options{})
	assert.Equal(t, jobs.ExitUsage, jobs.ExitCode(err))
	_, err = jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: "x.csv"}, DB: "oracle://nope"}}, pipeline.Options{})
	assert.Equal(t, jobs.ExitUsage, jobs.ExitCode(err), "%v", err)
	// A finalize step whose shard tables are not there is an input error
	// (exit 3, naming the unfinished shard), not an internal one.
	dir := t.TempDir()
	_, err = jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		FromShards: filepath.Join(dir, "shards"), Shards: 2, AsOf: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		DB: "sqlite:" + filepath.Join(dir, "p.db")}}, pipeline.Options{})
	require.ErrorIs(t, err, pipeline.ErrShards)
	assert.Equal(t, jobs.ExitRejected, jobs.ExitCode(err), "%v", err)
	assert.ErrorContains(t, err, "shard 0 of 2")
}

// TestSinkUnavailable: a database that refuses connections is retried with
// backoff, then the run fails with exit code 5.
func TestSinkUnavailable(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "h.csv")
	require.NoError(t, os.WriteFile(in, []byte("customer_id,event_time\na,2024-01-01\n"), 0o644))
	cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: in, MaxReject: 0.01},
		AsOf:  time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		DB:    "postgres://nobody:s3cret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
		Retry: retry.Policy{Attempts: 3, Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond},
	}}
	attempts := 0
	cfg.Retry.OnRetry = func(int, error, time.Duration) { attempts++ }
	_, err := jobs.Nightly(context.Background(), cfg, pipeline.Options{})
	require.Error(t, err)
	assert.Equal(t, jobs.ExitSink, jobs.ExitCode(err), "%v", err)
	assert.NotContains(t, err.Error(), "s3cret", "the password never appears in errors")
	assert.Equal(t, 2, attempts, "two retries after the first attempt")
}

// TestSecondRunLocked: while one run holds the target table's lock, a
// second one exits at once with exit code 6 and a message naming the lock.
func TestSecondRunLocked(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "p.db")
	st, err := store.Open(context.Background(), "sqlite:"+dbPath, store.Options{})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Migrate(context.Background()))
	release, err := st.TryLock(context.Background())
	require.NoError(t, err)
	defer release()

	in := filepath.Join(dir, "h.csv")
	require.NoError(t, os.WriteFile(in, []byte("customer_id,event_time\na,2024-01-01\n"), 0o644))
	start := time.Now()
	_, err = jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: in, MaxReject: 0.01}, AsOf: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		DB: "sqlite:" + dbPath}}, pipeline.Options{})
	require.Error(t, err)
	assert.Equal(t, jobs.ExitLocked, jobs.ExitCode(err), "%v", err)
	assert.Contains(t, err.Error(), "lock")
	assert.Less(t, time.Since(start), 10*time.Second, "fails fast instead of waiting")
}

// TestMetricsFile: the run writes its metrics in the Prometheus text format.
func TestMetricsFile(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	dir := t.TempDir()
	prom := filepath.Join(dir, "churnpipe.prom")
	_, err := jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: csvPath, MaxReject: 0.01}, AsOf: cdnowEnd, DB: "sqlite:" + filepath.Join(dir, "p.db")},
		MetricsFile: prom}, pipeline.Options{})
	require.NoError(t, err)
	b, err := os.ReadFile(prom)
	require.NoError(t, err)
	text := string(b)
	assert.Contains(t, text, `status="succeeded"`)
	assert.Regexp(t, `(?m)^churnpipe_run_rows_read\{[^}]*\} 6919$`, text)
	assert.Regexp(t, `(?m)^churnpipe_run_customers\{[^}]*\} 2357$`, text)
}
