package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
)

// TestNightlySchemaFlags is issue 14 item 3 from the command line: --schema
// and a search_path in --db put every table in that schema; a dotted
// --table on SQLite, a --table PostgreSQL would truncate and a --schema
// that contradicts search_path are usage errors (exit 2) that create
// nothing.
func TestNightlySchemaFlags(t *testing.T) {
	good := filepath.Join(testenv.Root(t), "testdata", "badinput", "good.csv")
	dir := t.TempDir()
	t.Chdir(dir)
	nightly := func(args ...string) (int, string) {
		code, out, stderr := runCLI(t, append([]string{"nightly", "--input", good, "--as-of", "2024-06-30", "--registry", ""}, args...)...)
		return code, out + stderr
	}
	code, out := nightly("--db", "sqlite:"+filepath.Join(dir, "p.db"), "--table", "crm.t")
	assert.Equal(t, jobs.ExitUsage, code, out)
	assert.Contains(t, out, "SQLite has no schemas")
	assert.NoFileExists(t, filepath.Join(dir, "p.db"))

	dsn := testenv.Postgres(t)
	sep := "&"
	if !strings.Contains(dsn, "?") {
		sep = "?"
	}
	schema := testenv.PostgresSchema(t, dsn, "cmd_schema_")
	other := testenv.PostgresSchema(t, dsn, "cmd_schema_")
	code, out = nightly("--db", dsn, "--schema", schema, "--table", "preds")
	require.Equal(t, 0, code, out)
	code, out = nightly("--db", dsn+sep+"search_path="+other, "--table", "preds")
	require.Equal(t, 0, code, out)

	code, out = nightly("--db", dsn+sep+"search_path="+other, "--schema", schema)
	assert.Equal(t, jobs.ExitUsage, code, out)
	assert.Contains(t, out, "search_path")
	code, out = nightly("--db", dsn, "--schema", schema, "--table", "a_forty_byte_table_name_0123456789abcdef")
	assert.Equal(t, jobs.ExitUsage, code, out)
	assert.Contains(t, out, "at most 39 bytes")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range []string{schema, other} {
		var rows, runs int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{s, "preds"}.Sanitize()).Scan(&rows))
		assert.Equal(t, 30, rows, s)
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{s, "pipeline_runs"}.Sanitize()+" WHERE status = 'succeeded'").Scan(&runs))
		assert.Equal(t, 1, runs, "the ledger is in %s too", s)
	}
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'preds%'").Scan(&n))
	assert.Zero(t, n, "nothing in public")
}
