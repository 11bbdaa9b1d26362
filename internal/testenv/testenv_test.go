package testenv

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPostgresSchemaDropped: the schema a test made is gone once the test
// ended, although the test closed its own connection with a defer (issue 14
// item 12: that pattern leaked two schemas per run of ./jobs).
func TestPostgresSchemaDropped(t *testing.T) {
	dsn := Postgres(t)
	ctx := context.Background()
	var schema string
	t.Run("uses a schema", func(t *testing.T) {
		schema = PostgresSchema(t, dsn, "testenv_")
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
		require.NoError(t, err)
		_, err = conn.Exec(ctx, "CREATE TABLE "+pgx.Identifier{schema, "t"}.Sanitize()+" (x int)")
		require.NoError(t, err)
	})
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
	assert.Zero(t, n, "schema %s dropped at the end of the test", schema)
}
