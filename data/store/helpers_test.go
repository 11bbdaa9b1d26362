package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

const (
	pgEnv = "CHURNPIPE_TEST_POSTGRES"
	myEnv = "CHURNPIPE_TEST_MYSQL"
)

// myDSN returns the MySQL/MariaDB test server's DSN, skipping (or failing
// under CI=true) when it is not configured.
func myDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(myEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is unset under CI=true: the MySQL tests must run in CI", myEnv)
		}
		t.Skip("set CHURNPIPE_TEST_MYSQL=mysql://root@127.0.0.1:3306/test to run the MySQL/MariaDB tests")
	}
	return dsn
}

// myAdmin runs statements on the MySQL test server outside any Store.
func myAdmin(t testing.TB, dsn string, stmts ...string) error {
	t.Helper()
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return err
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// pgDSN returns the test server's DSN, skipping (or failing under CI=true)
// when it is not configured.
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is unset under CI=true: the PostgreSQL tests must run in CI", pgEnv)
		}
		t.Skip("set CHURNPIPE_TEST_POSTGRES=postgres://… to run the PostgreSQL tests")
	}
	return dsn
}

// backend makes a fresh, empty sink for one test.
type backend struct {
	name  string
	fresh func(t testing.TB, table string) (dsn string, opt Options)
}

var backends = []backend{
	{"sqlite", func(t testing.TB, table string) (string, Options) {
		return "sqlite:" + filepath.Join(t.TempDir(), "sink.db"), Options{Table: table}
	}},
	{"postgres", func(t testing.TB, table string) (string, Options) {
		dsn := pgDSN(t)
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "churnpipe_test_" + hex.EncodeToString(b[:])
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Errorf("drop test schema %s: %v", schema, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(schema)+" CASCADE"); err != nil {
				t.Errorf("drop test schema %s: %v", schema, err)
			}
		})
		return dsn, Options{Table: table, Schema: schema}
	}},
	// Each MySQL test gets a database of its own (the Store's Schema).
	{"mysql", func(t testing.TB, table string) (string, Options) {
		dsn := myDSN(t)
		var b [6]byte
		_, _ = rand.Read(b[:])
		db := "churnpipe_test_" + hex.EncodeToString(b[:])
		require.NoError(t, myAdmin(t, dsn, "CREATE DATABASE "+myQuote(ident(db))))
		t.Cleanup(func() {
			if err := myAdmin(t, dsn, "DROP DATABASE IF EXISTS "+myQuote(ident(db))); err != nil {
				t.Errorf("drop test database %s: %v", db, err)
			}
		})
		return dsn, Options{Table: table, Schema: db}
	}},
}

// eachBackend runs f as a parallel subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// openFresh opens and migrates a fresh sink; it is closed at cleanup.
func openFresh(t testing.TB, b backend, table string) (Store, string, Options) {
	t.Helper()
	dsn, opt := b.fresh(t, table)
	s, err := Open(context.Background(), dsn, opt)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(context.Background()))
	return s, dsn, opt
}

// query runs q ("?" placeholders) on s's own connections; values are
// normalised: integers to int64, []byte to string.
func query(t testing.TB, s Store, q string, args ...any) [][]any {
	t.Helper()
	ctx := context.Background()
	var out [][]any
	switch e := s.(*store).eng.(type) {
	case *sqliteEngine:
		rows, err := e.db.QueryContext(ctx, q, args...)
		require.NoError(t, err, q)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			require.NoError(t, rows.Scan(p...))
			out = append(out, norm(v))
		}
		require.NoError(t, rows.Err())
	case *myEngine:
		rows, err := e.db.QueryContext(ctx, myQuote(q), args...)
		require.NoError(t, err, q)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			require.NoError(t, rows.Scan(p...))
			out = append(out, norm(v))
		}
		require.NoError(t, rows.Err())
	case *pgEngine:
		rows, err := e.pp.Query(ctx, rebind(q), args...)
		require.NoError(t, err, q)
		defer rows.Close()
		for rows.Next() {
			v, err := rows.Values()
			require.NoError(t, err)
			out = append(out, norm(v))
		}
		require.NoError(t, rows.Err(), q)
	}
	return out
}

func norm(v []any) []any {
	for i, x := range v {
		switch y := x.(type) {
		case int32:
			v[i] = int64(y)
		case int16:
			v[i] = int64(y)
		case []byte:
			v[i] = string(y)
		}
	}
	return v
}

// one returns the single value of a one-row, one-column query.
func one(t testing.TB, s Store, q string, args ...any) any {
	t.Helper()
	r := query(t, s, q, args...)
	require.Len(t, r, 1, q)
	require.Len(t, r[0], 1, q)
	return r[0][0]
}

// tbl is the qualified, quoted name of a table of s.
func tbl(s Store, name string) string { return s.(*store).d.tbl(name) }

// cur and hist are s's current and history tables.
func cur(s Store) string  { return tbl(s, s.(*store).table) }
func hist(s Store) string { return tbl(s, s.(*store).hist()) }

// dateArg is the parameter value of a day for s.
func dateArg(s Store, t time.Time) any { return s.(*store).d.dateArg(t) }

// dayStr renders a DATE read back from either engine as YYYY-MM-DD.
func dayStr(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.DateOnly)
	case string:
		return x
	case nil:
		return "<NULL>"
	}
	return fmt.Sprintf("<%T %v>", v, v)
}

// date is a UTC day.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// cust describes one customer row of a hand-made night.
type cust struct {
	id    string
	stage string  // "" = NULL
	days  int64   // days_since_last_purchase; < 0 = NULL
	hv    float64 // historic_value
	clv   float64 // predicted_clv_12m
}

var nightSchema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "lifecycle_stage", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "days_since_last_purchase", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "historic_value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "predicted_clv_12m", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "rfm_r", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "segment", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// customersRecords builds records of at most chunk rows from cs.
func customersRecords(mem memory.Allocator, cs []cust, chunk int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for lo := 0; lo < len(cs); lo += chunk {
		hi := min(lo+chunk, len(cs))
		b := array.NewRecordBuilder(mem, nightSchema)
		for _, c := range cs[lo:hi] {
			b.Field(0).(*array.StringBuilder).Append(c.id)
			if c.stage == "" {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(c.stage)
			}
			if c.days < 0 {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Int64Builder).Append(c.days)
			}
			b.Field(3).(*array.Float64Builder).Append(c.hv)
			b.Field(4).(*array.Float64Builder).Append(c.clv)
			b.Field(5).(*array.Int32Builder).Append(int32(len(c.id) % 5))
			b.Field(6).(*array.StringBuilder).Append("B_mid")
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

var stages = []string{"prospect", "new", "growing", "mature", "declining", "dormant", "churned", "reactivated"}

// syntheticNight makes n customers c0000000… whose stages and recency depend
// on variant, so consecutive nights differ.
func syntheticNight(n, variant int) []cust {
	cs := make([]cust, n)
	for i := range cs {
		cs[i] = cust{
			id:    fmt.Sprintf("c%07d", i),
			stage: stages[(i+variant)%len(stages)],
			days:  int64((i*7 + variant) % 400),
			hv:    float64(i%1000) + 0.5,
			clv:   float64((i+variant)%500) * 1.25,
		}
	}
	return cs
}

// v1Records builds one record with v1 columns only.
func v1Records(mem memory.Allocator, cs []cust) []arrow.RecordBatch {
	schema := arrow.NewSchema(nightSchema.Fields()[:4], nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, c := range cs {
		b.Field(0).(*array.StringBuilder).Append(c.id)
		b.Field(1).(*array.StringBuilder).Append(c.stage)
		b.Field(2).(*array.Int64Builder).Append(c.days)
		b.Field(3).(*array.Float64Builder).Append(c.hv)
	}
	return []arrow.RecordBatch{b.NewRecordBatch()}
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// publishNight publishes cs as the night asOf with a fresh checked allocator.
func publishNight(t testing.TB, s Store, asOf time.Time, runID string, cs []cust) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := customersRecords(mem, cs, 4096)
	defer release(recs)
	require.NoError(t, s.Publish(context.Background(), Publication{RunID: runID, AsOf: asOf, Records: recs}))
}

// intCast is the CAST target of a 64-bit integer for s (MySQL: SIGNED).
func intCast(s Store) string {
	if s.(*store).d.my {
		return "SIGNED"
	}
	return "BIGINT"
}
