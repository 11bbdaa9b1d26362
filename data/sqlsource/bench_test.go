package sqlsource

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

const benchRows = 1_000_000

// loadBench copies benchRows generated events into table with COPY:
// 50,000 customers "c00000".., times over 2023–2024 in whole seconds,
// 90 % purchases, amounts with two decimals as numeric(12,2) (amount) and
// double precision (amount_f), and the customer number as bigint (cid).
func (db *testDB) loadBench(b *testing.B, table string) {
	db.exec(b, "CREATE TABLE "+db.q(table)+` (customer_id text, cid bigint, event_time timestamptz,
		event_type text, amount numeric(12,2), amount_f double precision)`)
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	n, err := db.conn.CopyFrom(context.Background(), pgx.Identifier{db.schema, table},
		[]string{"customer_id", "cid", "event_time", "event_type", "amount", "amount_f"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == benchRows {
				return nil, nil
			}
			i++
			c := rng.IntN(50_000)
			typ := "purchase"
			if rng.IntN(10) == 0 {
				typ = "visit"
			}
			cents := rng.Int64N(100_000)
			var num pgtype.Numeric
			if err := num.Scan(fmt.Sprintf("%d.%02d", cents/100, cents%100)); err != nil {
				return nil, err
			}
			return []any{fmt.Sprintf("c%05d", c), int64(c), t0.Add(time.Duration(rng.IntN(2*365*86400)) * time.Second),
				typ, num, float64(cents) / 100}, nil
		}))
	require.NoError(b, err)
	require.EqualValues(b, benchRows, n)
	db.exec(b, "ANALYZE "+db.q(table))
}

// BenchmarkReadPostgres reads 1,000,000 rows (loaded once by COPY) into
// Arrow batches and reports rows/s:
//
//	CHURNPIPE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench ReadPostgres -benchtime 3x ./data/sqlsource
func BenchmarkReadPostgres(b *testing.B) {
	db := newTestDB(b)
	db.loadBench(b, "events")
	cases := []struct {
		name string
		opt  Options
	}{
		{"table/text-id,timestamptz,numeric", Options{Table: db.schema + ".events"}},
		{"table/bigint-id,timestamptz,float8", Options{Table: db.schema + ".events",
			Map: map[string]string{"customer_id": "cid", "amount": "amount_f"}}},
		{"query/text-id,timestamptz,numeric", Options{Query: "SELECT customer_id, event_time, event_type, amount FROM " + db.q("events")}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(b, 0)
			tc.opt.Alloc = mem
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				r, err := Open(context.Background(), db.dsn, tc.opt)
				require.NoError(b, err)
				var rows int64
				for r.Next() {
					rows += r.Record().NumRows()
				}
				require.NoError(b, r.Err())
				r.Release()
				require.EqualValues(b, benchRows, rows)
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
