package sqlsource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
)

// testDB is a connection to the test PostgreSQL server and a fresh schema
// of random name, dropped when the test ends.
type testDB struct {
	dsn    string
	conn   *pgx.Conn
	schema string
}

// newTestDB skips (or fails in CI) without CHURNPIPE_TEST_POSTGRES.
func newTestDB(t testing.TB) *testDB {
	t.Helper()
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "connect to the test PostgreSQL")
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "sqlsource_test_" + hex.EncodeToString(b[:])
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+quoteIdent(schema))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+quoteIdent(schema)+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	return &testDB{dsn: dsn, conn: conn, schema: schema}
}

// exec runs statements, failing the test on error.
func (db *testDB) exec(t testing.TB, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		_, err := db.conn.Exec(context.Background(), s)
		require.NoError(t, err, s)
	}
}

// q returns the schema-qualified, quoted name of a table of the test schema.
func (db *testDB) q(table string) string {
	return pgx.Identifier{db.schema, table}.Sanitize()
}

// loadCDNOW copies the CDNOW canonical CSV into table (customer_id text,
// event_time date, event_type text, amount numeric) with COPY … FROM STDIN
// and returns the CSV's path. It skips the test when the shared data are
// absent.
func (db *testDB) loadCDNOW(t testing.TB, table string) string {
	t.Helper()
	path := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	db.exec(t, "CREATE TABLE "+db.q(table)+" (customer_id text, event_time date, event_type text, amount numeric)")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tag, err := db.conn.PgConn().CopyFrom(context.Background(), f,
		"COPY "+db.q(table)+" (customer_id, event_time, event_type, amount) FROM STDIN WITH (FORMAT csv, HEADER true)")
	require.NoError(t, err)
	require.EqualValues(t, 6919, tag.RowsAffected())
	return path
}

// event is one canonical row.
type event struct {
	ID     string
	MS     int64
	Type   string
	Amount float64
	Valid  bool // amount not null
}

type stream interface {
	Next() bool
	Record() arrow.RecordBatch
	Err() error
}

// collect reads a whole stream and returns its rows and batch sizes.
func collect(t testing.TB, s stream) (rows []event, batches []int) {
	t.Helper()
	for s.Next() {
		rec := s.Record()
		id := rec.Column(0).(*array.String)
		tm := rec.Column(1).(*array.Timestamp)
		ty := rec.Column(2).(*array.String)
		am := rec.Column(3).(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			e := event{ID: id.Value(i), MS: int64(tm.Value(i)), Type: ty.Value(i)}
			if am.IsValid(i) {
				e.Amount, e.Valid = am.Value(i), true
			}
			rows = append(rows, e)
		}
		batches = append(batches, int(rec.NumRows()))
	}
	require.NoError(t, s.Err())
	return rows, batches
}

func sortEvents(rows []event) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.MS != b.MS {
			return a.MS < b.MS
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Valid != b.Valid {
			return !a.Valid
		}
		return a.Amount < b.Amount
	})
}

// msOf is the expected event_time of a UTC wall-clock time.
func msOf(y int, mo time.Month, d, h, mi, s, ms int) int64 {
	return time.Date(y, mo, d, h, mi, s, ms*1e6, time.UTC).UnixMilli()
}
