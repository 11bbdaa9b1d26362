package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestNightlyPostgresMatchesSQLite publishes the CDNOW night into the real
// PostgreSQL and into SQLite: the same rows, and a rerun is idempotent.
func TestNightlyPostgresMatchesSQLite(t *testing.T) {
	dsn := testenv.Postgres(t)
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	ctx := context.Background()
	schema := testenv.PostgresSchema(t, dsn, "jobs_test_")
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	dir := t.TempDir()
	run := func(db string, storeSchema string) {
		cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
			Input: pipeline.Input{Path: csvPath, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")},
			AsOf:  cdnowEnd, DB: db,
		}}
		cfg.Store.Schema = storeSchema
		_, err := jobs.Nightly(ctx, cfg, pipeline.Options{})
		require.NoError(t, err)
	}
	run(dsn, schema)
	run(dsn, schema) // rerun of the same as-of
	sqlitePath := filepath.Join(dir, "c.db")
	run("sqlite:"+sqlitePath, "")

	const q = `SELECT customer_id, lifecycle_stage, rfm_score, rfm_segment, value_tier, historic_value,
		days_since_last_purchase, p_alive, predicted_clv_12m FROM %s ORDER BY customer_id`
	type row struct {
		id, stage, rfm, seg, tier string
		hv                        float64
		since                     sql.NullInt64
		palive, clv               sql.NullFloat64
	}
	var pgRows []row
	rows, err := conn.Query(ctx, fmt.Sprintf(q, `"`+schema+`".customer_predictions`))
	require.NoError(t, err)
	for rows.Next() {
		var r row
		var rfm, seg *string
		require.NoError(t, rows.Scan(&r.id, &r.stage, &rfm, &seg, &r.tier, &r.hv, &r.since, &r.palive, &r.clv))
		if rfm != nil {
			r.rfm = *rfm
		}
		if seg != nil {
			r.seg = *seg
		}
		pgRows = append(pgRows, r)
	}
	require.NoError(t, rows.Err())
	require.Len(t, pgRows, 2357)

	lite := openDB(t, sqlitePath)
	lrows, err := lite.Query(fmt.Sprintf(q, "customer_predictions"))
	require.NoError(t, err)
	defer lrows.Close()
	i := 0
	for lrows.Next() {
		var r row
		var rfm, seg sql.NullString
		require.NoError(t, lrows.Scan(&r.id, &r.stage, &rfm, &seg, &r.tier, &r.hv, &r.since, &r.palive, &r.clv))
		r.rfm, r.seg = rfm.String, seg.String
		require.Less(t, i, len(pgRows))
		p := pgRows[i]
		assert.Equal(t, r.id, p.id)
		assert.Equal(t, r.stage, p.stage, r.id)
		assert.Equal(t, r.rfm, p.rfm, r.id)
		assert.Equal(t, r.seg, p.seg, r.id)
		assert.Equal(t, r.tier, p.tier, r.id)
		assert.InDelta(t, r.hv, p.hv, 1e-9, r.id)
		assert.Equal(t, r.since, p.since, r.id)
		assert.InDelta(t, r.palive.Float64, p.palive.Float64, 1e-12, r.id)
		assert.InDelta(t, r.clv.Float64, p.clv.Float64, 1e-9, r.id)
		i++
	}
	assert.Equal(t, 2357, i)

	var hist, runs int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM "`+schema+`".customer_predictions_history WHERE as_of = '1997-09-30'`).Scan(&hist))
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM "`+schema+`".pipeline_runs WHERE status = 'succeeded'`).Scan(&runs))
	assert.Equal(t, 2357, hist, "a rerun replaces the night")
	assert.Equal(t, 2, runs)
}

// TestNightlyFromPostgresEqualsCSV reads the same CDNOW history from a
// PostgreSQL table and from the CSV file: the published predictions are
// identical, column by column.
func TestNightlyFromPostgresEqualsCSV(t *testing.T) {
	dsn := testenv.Postgres(t)
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	ctx := context.Background()
	schema := testenv.PostgresSchema(t, dsn, "jobs_src_")
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE SCHEMA "` + schema + `"`,
		`CREATE TABLE "` + schema + `".events (customer_id text, event_time date, event_type text, amount numeric)`,
	} {
		_, err := conn.Exec(ctx, q)
		require.NoError(t, err)
	}
	f, err := os.Open(csvPath)
	require.NoError(t, err)
	defer f.Close()
	_, err = conn.PgConn().CopyFrom(ctx, f, `COPY "`+schema+`".events FROM STDIN WITH (FORMAT csv, HEADER true)`)
	require.NoError(t, err)

	dir := t.TempDir()
	publish := func(in pipeline.Input, db string) {
		in.MaxReject, in.Quarantine = 0.01, filepath.Join(dir, "q.csv")
		_, err := jobs.Nightly(ctx, jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
			Input: in, AsOf: cdnowEnd, DB: "sqlite:" + filepath.Join(dir, db)}}, pipeline.Options{})
		require.NoError(t, err)
	}
	publish(pipeline.Input{Path: csvPath}, "csv.db")
	publish(pipeline.Input{Path: dsn, Table: schema + ".events"}, "pg.db")

	fromCSV := testenv.DumpPredictions(t, filepath.Join(dir, "csv.db"))
	fromPG := testenv.DumpPredictions(t, filepath.Join(dir, "pg.db"))
	require.Len(t, fromCSV, 2357)
	assert.Equal(t, fromCSV, fromPG)
}
