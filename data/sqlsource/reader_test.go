package sqlsource

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

// TestCDNOWMatchesCSV: the CDNOW history copied into PostgreSQL reads back,
// through a table and through queries with other column types, as exactly
// the rows data.Open reads from the CSV file.
func TestCDNOWMatchesCSV(t *testing.T) {
	db := newTestDB(t)
	path := db.loadCDNOW(t, "cdnow")

	fr, err := data.Open(path, data.Options{})
	require.NoError(t, err)
	want, _ := collect(t, fr)
	fr.Release()
	require.Len(t, want, 6919, "the CSV reader's row count (README: 6,919 rows)")
	sortEvents(want)

	cases := []struct {
		name string
		opt  Options
	}{
		{"table", Options{Table: db.schema + ".cdnow"}},
		{"query same types", Options{Query: "SELECT * FROM " + db.q("cdnow")}},
		// bigint ids, timestamptz at UTC midnight, float8 amounts, a renamed
		// and upper-cased event type column.
		{"query other types", Options{
			Query: `SELECT customer_id::bigint AS cid, (event_time::timestamp AT TIME ZONE 'UTC') AS at,
			        upper(event_type) AS kind, amount::float8 AS amount FROM ` + db.q("cdnow"),
			Map: map[string]string{"customer_id": "cid", "event_time": "at", "event_type": "kind"},
		}},
		// text columns: the time as RFC 3339 text, the amount as text.
		{"query text columns", Options{
			Query: `SELECT customer_id, to_char(event_time, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS event_time,
			        event_type, amount::text AS amount FROM ` + db.q("cdnow"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tc.opt.Alloc = mem
			r, err := Open(context.Background(), db.dsn, tc.opt)
			require.NoError(t, err)
			defer r.Release()
			assert.True(t, r.Schema().Equal(data.EventSchema))
			got, _ := collect(t, r)
			st := r.Stats()
			assert.EqualValues(t, 6919, st.RowsRead)
			assert.EqualValues(t, 0, st.RowsRejected)
			assert.Equal(t, 1, st.Files)
			sortEvents(got)
			require.Len(t, got, len(want))
			for i := range want {
				if !assert.Equal(t, want[i], got[i], "row %d (sorted)", i) {
					break
				}
			}
		})
	}
}

// TestBatchBoundaries: BatchSize 100 on 6,919 rows gives 69 batches of 100
// and one of 19, all freed.
func TestBatchBoundaries(t *testing.T) {
	db := newTestDB(t)
	db.loadCDNOW(t, "cdnow")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := Open(context.Background(), db.dsn, Options{Table: db.schema + ".cdnow", BatchSize: 100, Alloc: mem})
	require.NoError(t, err)
	rows, batches := collect(t, r)
	r.Release()
	require.Len(t, batches, 70)
	for i, n := range batches[:69] {
		assert.Equal(t, 100, n, "batch %d", i)
	}
	assert.Equal(t, 19, batches[69])
	assert.Len(t, rows, 6919)
	assert.False(t, r.Next(), "Next after Release")
	r.Release() // again: no-op
}

// endless is a query whose rows never end (ProjectSet streams them).
const endless = "SELECT generate_series(1, 1000000000000)::text AS customer_id, now() AS event_time"

// TestReleaseEarly: releasing after one batch of an endless result stops
// the query at once (draining it would never end); the allocator is left
// empty.
func TestReleaseEarly(t *testing.T) {
	db := newTestDB(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := Open(context.Background(), db.dsn, Options{Query: endless, BatchSize: 10, Alloc: mem})
	require.NoError(t, err)
	require.True(t, r.Next())
	assert.EqualValues(t, 10, r.Record().NumRows())
	done := make(chan struct{})
	go func() { r.Release(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Release did not return within 10 s: it drains the result instead of stopping the query")
	}
	assert.EqualValues(t, 10, r.Stats().RowsRead)
}

// TestContextCancel: cancelling Open's context makes Next fail, even in an
// endless result.
func TestContextCancel(t *testing.T) {
	db := newTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := Open(ctx, db.dsn, Options{Query: endless, BatchSize: 1000})
	require.NoError(t, err)
	defer r.Release()
	require.True(t, r.Next())
	time.AfterFunc(100*time.Millisecond, cancel)
	for r.Next() {
	}
	require.Error(t, r.Err())
	assert.ErrorIs(t, r.Err(), context.Canceled)
}

// TestColumnMapping: other names and PostgreSQL types, mapped to the
// canonical columns. Expected values are the inserted literals converted by
// hand to UTC milliseconds (time.Date) and decimal text.
func TestColumnMapping(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, "CREATE TABLE "+db.q("crm")+` (n int, cust bigint, ts timestamptz, local timestamp, day date,
		kind varchar(20), amt numeric(14,2), amt_f real, cuid uuid)`,
		"INSERT INTO "+db.q("crm")+` VALUES
		(1, 42, '2024-03-05 10:20:30.1239+02', '2024-03-05 10:20:30.5', '2024-03-05', ' Return ', -12.50, 1.5, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
		(2, 7, '1999-12-31 23:59:59.9995+00', '1999-12-31 23:59:59.9995', '1900-01-01', NULL, NULL, NULL, NULL),
		(3, 9007199254740993, '2200-12-31 23:59:59+00', '1970-01-01 00:00:00', '2200-12-31', 'Visit', 123456789012.34, -0.25, '00000000-0000-0000-0000-000000000000')`)
	order := " ORDER BY n"
	base := map[string]string{"customer_id": "cust", "event_type": "kind", "amount": "amt"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		opt  Options
		want []event
	}{
		{"timestamptz", Options{Query: "SELECT * FROM " + db.q("crm") + order, Map: with(map[string]string{"event_time": "ts"})}, []event{
			{"42", msOf(2024, 3, 5, 8, 20, 30, 123), "return", -12.5, true},
			{"7", msOf(1999, 12, 31, 23, 59, 59, 999), "purchase", 0, false}, // floor of .9995 s
			{"9007199254740993", msOf(2200, 12, 31, 23, 59, 59, 0), "visit", 123456789012.34, true},
		}},
		{"timestamp as UTC", Options{Query: "SELECT * FROM " + db.q("crm") + order, Map: with(map[string]string{"event_time": "local"})}, []event{
			{"42", msOf(2024, 3, 5, 10, 20, 30, 500), "return", -12.5, true},
			{"7", msOf(1999, 12, 31, 23, 59, 59, 999), "purchase", 0, false},
			{"9007199254740993", 0, "visit", 123456789012.34, true},
		}},
		{"date, real amounts, uuid ids", Options{Query: "SELECT * FROM " + db.q("crm") + order,
			Map: with(map[string]string{"customer_id": "cuid", "event_time": "day", "amount": "amt_f"})}, []event{
			{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", msOf(2024, 3, 5, 0, 0, 0, 0), "return", 1.5, true},
			{"00000000-0000-0000-0000-000000000000", msOf(2200, 12, 31, 0, 0, 0, 0), "visit", -0.25, true},
		}},
		{"integer amounts", Options{Query: "SELECT * FROM " + db.q("crm") + order,
			Map: with(map[string]string{"event_time": "day", "amount": "n"})}, []event{
			{"42", msOf(2024, 3, 5, 0, 0, 0, 0), "return", 1, true},
			{"7", msOf(1900, 1, 1, 0, 0, 0, 0), "purchase", 2, true},
			{"9007199254740993", msOf(2200, 12, 31, 0, 0, 0, 0), "visit", 3, true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := data.NewQuarantine(&bytes.Buffer{})
			tc.opt.Quarantine = q
			r, err := Open(context.Background(), db.dsn, tc.opt)
			require.NoError(t, err)
			defer r.Release()
			got, _ := collect(t, r)
			assert.Equal(t, tc.want, got)
			// The uuid case: the row with a NULL uuid is the one rejected.
			assert.EqualValues(t, 3-len(tc.want), r.Stats().RowsRejected)
		})
	}

	// The table form selects the mapped columns by name.
	r, err := Open(context.Background(), db.dsn, Options{Table: db.schema + ".crm", Map: with(map[string]string{"event_time": "day"})})
	require.NoError(t, err)
	got, _ := collect(t, r)
	r.Release()
	sortEvents(got)
	assert.Equal(t, []event{
		{"42", msOf(2024, 3, 5, 0, 0, 0, 0), "return", -12.5, true},
		{"7", msOf(1900, 1, 1, 0, 0, 0, 0), "purchase", 0, false},
		{"9007199254740993", msOf(2200, 12, 31, 0, 0, 0, 0), "visit", 123456789012.34, true},
	}, got)
}

// TestColumnErrors: a missing mapped column, a missing required column and
// a column of the wrong type are errors from Open that say what is wrong.
func TestColumnErrors(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, "CREATE TABLE "+db.q("crm")+" (cust text, ts timestamptz, flag boolean, n int)")
	table := db.schema + ".crm"
	cases := []struct {
		name  string
		opt   Options
		is    error
		parts []string
	}{
		{"missing mapped", Options{Table: table, Map: map[string]string{"customer_id": "cust", "event_time": "ts", "amount": "price"}},
			data.ErrMissingColumn, []string{"postgres:" + table, `"amount"`, `"price"`, `"cust"`, `"ts"`, `"flag"`, `"n"`}},
		{"missing required", Options{Table: table, Map: map[string]string{"customer_id": "cust"}},
			data.ErrMissingColumn, []string{"postgres:" + table, `"event_time"`, `"cust"`}},
		{"wrong type", Options{Table: table, Map: map[string]string{"customer_id": "cust", "event_time": "n"}},
			data.ErrColumnType, []string{"postgres:" + table, `"n"`, "event_time", "int4"}},
		{"boolean amount", Options{Query: "SELECT * FROM " + db.q("crm"), Map: map[string]string{"customer_id": "cust", "event_time": "ts", "amount": "flag"}},
			data.ErrColumnType, []string{"postgres:query", `"flag"`, "bool"}},
		{"unknown canonical", Options{Table: table, Map: map[string]string{"customer": "cust"}},
			nil, []string{`"customer"`}},
		{"duplicate column", Options{Query: "SELECT cust AS customer_id, cust AS customer_id, ts AS event_time FROM " + db.q("crm")},
			data.ErrDuplicateColumn, []string{"customer_id"}},
		{"no such table", Options{Table: db.schema + ".nope"}, nil, []string{"postgres:" + db.schema + ".nope", "does not exist"}},
		{"not a select", Options{Query: "SELEC 1"}, nil, []string{"syntax error"}},
		{"read only", Options{Query: "DELETE FROM " + db.q("crm") + " RETURNING cust AS customer_id, ts AS event_time"}, nil, []string{"read-only"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(context.Background(), db.dsn, tc.opt)
			if r != nil { // a statement the server refuses only when it runs
				for r.Next() {
				}
				err = r.Err()
				r.Release()
			}
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			for _, p := range tc.parts {
				assert.Contains(t, err.Error(), p)
			}
		})
	}
}

// TestBadRowsQuarantined: bad rows go to the quarantine with their 1-based
// row number in the result and the canonical column; good rows go on.
func TestBadRowsQuarantined(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, "CREATE TABLE "+db.q("ev")+" (n int, customer_id text, event_time timestamptz, event_type text, amount numeric)",
		"INSERT INTO "+db.q("ev")+` VALUES
		(1, 'a', '2020-01-01 00:00:00+00', 'purchase', 10),
		(2, '', '2020-01-02 00:00:00+00', NULL, 1),
		(3, 'b', NULL, NULL, 1),
		(4, 'c', '2020-01-03 00:00:00+00', NULL, 'NaN'),
		(5, '  ', '2020-01-04 00:00:00+00', NULL, 1),
		(6, NULL, '2020-01-05 00:00:00+00', NULL, 1),
		(7, 'd', '1899-12-31 23:59:59+00', NULL, 1),
		(8, 'e', '2020-01-06 00:00:00+00', NULL, 1e16),
		(9, 'f', 'infinity', NULL, 1),
		(10, 'g', '2020-01-07 00:00:00+00', NULL, 'Infinity'),
		(11, 'h', '2020-01-08 00:00:00+00', ' Support ', -3.25)`)
	var buf bytes.Buffer
	q := data.NewQuarantine(&buf)
	r, err := Open(context.Background(), db.dsn, Options{Query: "SELECT * FROM " + db.q("ev") + " ORDER BY n", Quarantine: q, BatchSize: 2})
	require.NoError(t, err)
	got, _ := collect(t, r)
	r.Release()
	require.NoError(t, q.Close())
	assert.Equal(t, []event{
		{"a", msOf(2020, 1, 1, 0, 0, 0, 0), "purchase", 10, true},
		{"h", msOf(2020, 1, 8, 0, 0, 0, 0), "support", -3.25, true},
	}, got)
	assert.Equal(t, data.Stats{Files: 1, RowsRead: 11, RowsRejected: 9}, r.Stats())

	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 10)
	assert.Equal(t, []string{"source_file", "line", "column", "reason", "raw"}, recs[0])
	want := []struct{ line, col, reason string }{
		{"2", "customer_id", "empty customer_id"},
		{"3", "event_time", "null event_time"},
		{"4", "amount", `non-finite amount "NaN"`},
		{"5", "customer_id", "empty customer_id"},
		{"6", "customer_id", "empty customer_id"},
		{"7", "event_time", `implausible time "1899-12-31T23:59:59Z"`},
		{"8", "amount", `implausible amount "10000000000000000"`},
		{"9", "event_time", `implausible time "infinity"`},
		{"10", "amount", `non-finite amount "Infinity"`},
	}
	for i, w := range want {
		rec := recs[i+1]
		assert.Equal(t, "postgres:query", rec[0], "row %d", i)
		assert.Equal(t, w.line, rec[1], "row %d", i)
		assert.Equal(t, w.col, rec[2], "row %d", i)
		assert.Contains(t, rec[3], w.reason, "row %d", i)
	}
	assert.Equal(t, "c,2020-01-03T00:00:00Z,,NaN", recs[3][4], "raw of row 4")

	// Without a quarantine the first bad row stops the reader.
	r, err = Open(context.Background(), db.dsn, Options{Table: db.schema + ".ev"})
	require.NoError(t, err)
	defer r.Release()
	for r.Next() {
	}
	var pe *data.ParseError
	require.ErrorAs(t, r.Err(), &pe)
	assert.ErrorIs(t, r.Err(), data.ErrEmptyID)
	assert.Equal(t, "postgres:"+db.schema+".ev", pe.File)
	assert.Equal(t, "customer_id", pe.Column)
	assert.EqualValues(t, 1, r.Stats().RowsRejected)
}

// TestQuotedTableNames: table names with a space, a quote, upper case or a
// dot work, written bare or SQL-quoted.
func TestQuotedTableNames(t *testing.T) {
	db := newTestDB(t)
	for _, name := range []string{"ev ents", `we"ird`, "Events", "a.b"} {
		db.exec(t, "CREATE TABLE "+db.q(name)+" (customer_id text, event_time date)",
			"INSERT INTO "+db.q(name)+" VALUES ('"+strings.ReplaceAll(name, "'", "''")+"', '2021-06-01')")
	}
	cases := []struct{ table, id string }{
		{db.schema + ".ev ents", "ev ents"},
		{db.schema + `."ev ents"`, "ev ents"},
		{`"` + db.schema + `" . "ev ents"`, "ev ents"},
		{db.schema + `."we""ird"`, `we"ird`},
		{db.schema + ".Events", "Events"},
		{db.schema + `."a.b"`, "a.b"},
	}
	for _, tc := range cases {
		t.Run(tc.table, func(t *testing.T) {
			r, err := Open(context.Background(), db.dsn, Options{Table: tc.table})
			require.NoError(t, err)
			defer r.Release()
			got, _ := collect(t, r)
			assert.Equal(t, []event{{tc.id, msOf(2021, 6, 1, 0, 0, 0, 0), "purchase", 0, false}}, got)
		})
	}
	// An injection attempt is only a name that does not exist.
	_, err := Open(context.Background(), db.dsn, Options{Table: db.schema + ".x; DROP TABLE victim; --"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `x; DROP TABLE victim; --" does not exist`)
	var n int
	require.NoError(t, db.conn.QueryRow(context.Background(), "SELECT count(*) FROM "+db.q("ev ents")).Scan(&n))
	assert.Equal(t, 1, n)
}

// TestNumericText: the binary numeric decoder writes exactly what
// PostgreSQL's numeric_out writes, for values of many scales and weights.
func TestNumericText(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	rows, err := db.conn.Query(ctx, `SELECT x, x::text FROM (
		SELECT * FROM (VALUES
		(0::numeric), (0.00), (1), (-1), (29.33), (-29.33), (0.0001), (0.00001), (-0.000000012345),
		(10000), (9999.9999), (12345678901234567890.123456789), (1e20), (1e-20), (123.4500),
		(100000000), (0.1), ('NaN'), ('Infinity'), ('-Infinity')) c(x)
		UNION ALL SELECT round(((random() - 0.5) * 10 ^ (g % 30 - 10))::numeric, g % 17) FROM generate_series(1, 2000) g) v(x)`)
	require.NoError(t, err)
	defer rows.Close()
	var buf []byte
	n := 0
	for rows.Next() {
		vals := rows.RawValues()
		require.Equal(t, int16(1), rows.FieldDescriptions()[0].Format, "numeric comes in binary")
		buf, err = appendNumeric(buf[:0], vals[0])
		require.NoError(t, err)
		assert.Equal(t, string(vals[1]), string(buf))
		n++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, 2020, n)
}
