package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 14 item 3: where the tables go on PostgreSQL.

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pgWith returns the PostgreSQL URL dsn with the query parameter k=v added.
func pgWith(t *testing.T, dsn, k, v string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx does not decode + as a space
	return u.String()
}

// pgRelations lists the tables and indexes of a schema.
func pgRelations(t *testing.T, dsn, schema string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relkind IN ('r', 'i', 'u') ORDER BY 1`, schema)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

// pgTestTarget returns a fresh schema name and a fresh table name, and
// drops, at cleanup, the schema and whatever a store that ignored the
// schema left in public under the table's names (also "schema.table"
// literally). The connection is opened inside the cleanup, so it is still
// open when the DROPs run.
func pgTestTarget(t *testing.T, dsn string) (schema, table string) {
	t.Helper()
	schema, table = "churnpipe_test_"+randHex(6), "t_"+randHex(4)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, name := range []string{table, schema + "." + table} {
			for _, suffix := range []string{"", "_history"} {
				_, _ = conn.Exec(ctx, "DROP TABLE IF EXISTS public."+ident(name+suffix))
			}
			for _, aux := range []string{tRuns, tMigrations} {
				_, _ = conn.Exec(ctx, "DELETE FROM public."+ident(aux)+" WHERE target_table = $1", name)
			}
		}
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(schema)+" CASCADE"); err != nil {
			t.Errorf("cleanup: drop schema %s: %v", schema, err)
		}
	})
	return schema, table
}

// useTarget migrates, records a run and publishes a night through s.
func useTarget(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.Migrate(ctx))
	run := &Run{AsOf: date(2024, 3, 1)}
	require.NoError(t, s.StartRun(ctx, run))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := customersRecords(mem, syntheticNight(10, 0), 100)
	defer release(recs)
	require.NoError(t, s.Publish(ctx, Publication{RunID: run.ID, AsOf: run.AsOf, Records: recs, Run: run}))
}

// TestPostgresSchemaFromDSNAndTable: search_path in the DSN (as a parameter
// or in options) and a dotted table put every table — prediction, history,
// ledger, migrations — in that schema, none in public; two sources naming
// different schemas, and a search_path that names no schema, are refused
// before anything is created.
func TestPostgresSchemaFromDSNAndTable(t *testing.T) {
	dsn := pgDSN(t)
	ctx := context.Background()
	cases := []struct {
		name string
		open func(schema, table string) (string, Options)
	}{
		{"search_path", func(schema, table string) (string, Options) {
			return pgWith(t, dsn, "search_path", schema), Options{Table: table}
		}},
		{"search_path with public after it", func(schema, table string) (string, Options) {
			return pgWith(t, dsn, "search_path", schema+", public"), Options{Table: table}
		}},
		{"options", func(schema, table string) (string, Options) {
			return pgWith(t, dsn, "options", "-c search_path="+schema), Options{Table: table}
		}},
		{"dotted table", func(schema, table string) (string, Options) {
			return dsn, Options{Table: schema + "." + table}
		}},
		{"all three agree", func(schema, table string) (string, Options) {
			return pgWith(t, dsn, "search_path", schema), Options{Table: schema + "." + table, Schema: schema}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			schema, table := pgTestTarget(t, dsn)
			d, opt := tc.open(schema, table)
			s, err := Open(ctx, d, opt)
			require.NoError(t, err)
			defer s.Close()
			useTarget(t, s)
			rels := pgRelations(t, dsn, schema)
			for _, want := range []string{table, table + "_history", tRuns, tMigrations, tAlerts} {
				assert.Contains(t, rels, want, "in schema %s", schema)
			}
			public := pgRelations(t, dsn, "public")
			for _, bad := range []string{table, table + "_history", schema + "." + table} {
				assert.NotContains(t, public, bad, "nothing goes to public")
			}
			assert.Equal(t, int64(10), one(t, s, "SELECT count(*) FROM "+ident(schema)+"."+ident(table)))
			assert.Equal(t, int64(1), one(t, s, "SELECT count(*) FROM "+ident(schema)+"."+ident(tRuns)+" WHERE status = 'succeeded'"))
		})
	}

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		schema, table := pgTestTarget(t, dsn)
		for _, c := range []struct {
			dsn  string
			opt  Options
			want string
		}{
			{pgWith(t, dsn, "search_path", schema), Options{Table: table, Schema: schema + "_x"}, "search_path"},
			{pgWith(t, dsn, "options", "-c search_path="+schema), Options{Table: table, Schema: schema + "_x"}, "search_path"},
			{pgWith(t, dsn, "search_path", schema), Options{Table: schema + "_x." + table}, "search_path"},
			{dsn, Options{Table: schema + "." + table, Schema: schema + "_x"}, "give one of them"},
			{dsn, Options{Table: "a.b." + table}, "SCHEMA.TABLE"},
			{dsn, Options{Table: "." + table}, "SCHEMA.TABLE"},
			{dsn, Options{Table: schema + "."}, "SCHEMA.TABLE"},
			{pgWith(t, dsn, "search_path", `"$user", public`), Options{Table: table}, "--schema"},
			{pgWith(t, dsn, "search_path", ""), Options{Table: table}, "--schema"},
		} {
			s, err := Open(ctx, c.dsn, c.opt)
			if !assert.ErrorIs(t, err, ErrInvalidTarget, "%s %+v", RedactDSN(c.dsn), c.opt) {
				if s != nil {
					s.Close()
				}
				continue
			}
			assert.Contains(t, err.Error(), c.want)
		}
		assert.Empty(t, pgRelations(t, dsn, schema))
		assert.Empty(t, pgRelations(t, dsn, schema+"_x"))
	})
}

// TestTableNameLimits: PostgreSQL truncates names over 63 bytes, and the
// store appends up to 24 bytes (TABLE_history_customer_id_idx): a 39-byte
// table migrates with every derived name intact, 40 bytes (also 20 two-byte
// characters) is refused; MySQL counts 64 characters; SQLite has no limit
// but no schemas either (a dotted table is refused).
func TestTableNameLimits(t *testing.T) {
	require.Equal(t, 39, MaxTableBytes)
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgDSN(t)
		schema, _ := pgTestTarget(t, dsn)
		for _, long := range []string{strings.Repeat("x", 40), strings.Repeat("é", 20), strings.Repeat("y", 63)} {
			s, err := Open(ctx, dsn, Options{Schema: schema, Table: long})
			if assert.ErrorIs(t, err, ErrInvalidTarget, long) {
				assert.Contains(t, err.Error(), "at most 39 bytes")
			} else if s != nil {
				s.Close()
			}
		}
		_, err := Open(ctx, dsn, Options{Schema: strings.Repeat("s", 64)})
		assert.ErrorIs(t, err, ErrInvalidTarget, "a 64-byte schema")
		assert.Empty(t, pgRelations(t, dsn, schema), "nothing created")

		table := "t" + strings.Repeat("é", 19) // 39 bytes
		require.Len(t, table, 39)
		s, err := Open(ctx, dsn, Options{Schema: schema, Table: table})
		require.NoError(t, err)
		defer s.Close()
		useTarget(t, s)
		rels := pgRelations(t, dsn, schema)
		for _, suffix := range derivedSuffixes {
			if suffix == "_staging" || suffix == "_value_tier_idx" { // dropped after the publication, by migration v4
				assert.NotContains(t, rels, table+suffix)
				continue
			}
			assert.Contains(t, rels, table+suffix, "created untruncated")
		}
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		b := backends[2]
		require.Equal(t, "mysql", b.name)
		dsn, opt := b.fresh(t, "")
		for _, long := range []string{strings.Repeat("x", 41), strings.Repeat("é", 41)} {
			opt.Table = long
			s, err := Open(ctx, dsn, opt)
			if assert.ErrorIs(t, err, ErrInvalidTarget, long) {
				assert.Contains(t, err.Error(), "at most 40 characters")
			} else if s != nil {
				s.Close()
			}
		}
		opt.Table = strings.Repeat("é", 40)
		s, err := Open(ctx, dsn, opt)
		require.NoError(t, err)
		defer s.Close()
		useTarget(t, s)
		// DATABASE.TABLE names the database, as Options.Schema does.
		opt2 := Options{Table: opt.Schema + ".other"}
		s2, err := Open(ctx, dsn, opt2)
		require.NoError(t, err)
		defer s2.Close()
		require.NoError(t, s2.Migrate(ctx))
		assert.Equal(t, int64(1), one(t, s2, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'other'", opt.Schema))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "p.db")
		_, err := Open(ctx, "sqlite:"+path, Options{Table: "crm.t"})
		require.ErrorIs(t, err, ErrInvalidTarget)
		assert.Contains(t, err.Error(), "SQLite has no schemas")
		assert.NoFileExists(t, path)
		s, err := Open(ctx, "sqlite:"+path, Options{Table: strings.Repeat("z", 100)})
		require.NoError(t, err)
		defer s.Close()
		useTarget(t, s)
	})
}

// TestDerivedSuffixes: every table or index name the migrations derive
// from the target table's name ends in one of derivedSuffixes, so the
// length check covers it.
func TestDerivedSuffixes(t *testing.T) {
	const table = "TGT"
	re := regexp.MustCompile(`"` + table + `([^"]*)"`)
	for _, d := range []dialect{{pg: true, schema: "s"}, {my: true, schema: "s"}, {}} {
		for _, m := range migrations {
			if m.stmts == nil {
				continue
			}
			for _, stmt := range m.stmts(d, table) {
				for _, sub := range re.FindAllStringSubmatch(stmt, -1) {
					assert.True(t, slices.Contains(derivedSuffixes, sub[1]), "migration %d derives %q", m.version, table+sub[1])
				}
			}
		}
	}
	longest := ""
	for _, s := range derivedSuffixes {
		if len(s) > len(longest) {
			longest = s
		}
	}
	assert.Equal(t, longestDerived, longest)
	assert.Equal(t, utf8.RuneCountInString(longest), len(longest))
}

func TestPgSearchPath(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
		err    bool
	}{
		{map[string]string{}, "", false},
		{map[string]string{"search_path": "crm"}, "crm", false},
		{map[string]string{"search_path": "CRM, public"}, "crm", false},
		{map[string]string{"search_path": `"CRM x", public`}, "CRM x", false},
		{map[string]string{"search_path": `"$user", public`}, "", true},
		{map[string]string{"search_path": ""}, "", true},
		{map[string]string{"options": "-c search_path=crm"}, "crm", false},
		{map[string]string{"options": "-csearch_path=crm -c statement_timeout=5s"}, "crm", false},
		{map[string]string{"options": "--search-path=crm"}, "crm", false},
		{map[string]string{"options": "-c statement_timeout=5s"}, "", false},
		{map[string]string{"options": "-c search_path=a -c search_path=b"}, "b", false},
	} {
		got, _, err := pgSearchPath(c.params)
		if c.err {
			assert.ErrorIs(t, err, ErrInvalidTarget, "%v", c.params)
			continue
		}
		require.NoError(t, err, "%v", c.params)
		assert.Equal(t, c.want, got, "%v", c.params)
	}
}
