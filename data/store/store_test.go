package store

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishReadBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		// Columns the prediction table lacks, to check the bool and timestamp mappings end to end.
		boolT, tsT := "INTEGER", "TEXT"
		if s.(*store).d.pg {
			boolT, tsT = "BOOLEAN", "TIMESTAMPTZ"
		}
		if s.(*store).d.my {
			boolT, tsT = "BOOLEAN", "DATETIME(6)" // BOOLEAN is TINYINT(1)
		}
		for _, tb := range []string{cur(s), hist(s)} {
			query(t, s, "ALTER TABLE "+tb+" ADD COLUMN flag "+boolT)
			query(t, s, "ALTER TABLE "+tb+" ADD COLUMN seen_at "+tsT)
		}

		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "customer_id", Type: arrow.BinaryTypes.String},
			{Name: "lifecycle_stage", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "rfm_r", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			{Name: "days_since_last_purchase", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "historic_value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "first_purchase_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
			{Name: "top_reasons", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			{Name: "seen_at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		}, nil)
		rb := array.NewRecordBuilder(mem, schema)
		defer rb.Release()
		rb.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c", "d"}, nil)
		rb.Field(1).(*array.StringBuilder).AppendValues([]string{"new", "", "mature", "dormant"}, []bool{true, false, true, true})
		rb.Field(2).(*array.Int32Builder).AppendValues([]int32{5, 0, 1, 3}, []bool{true, false, true, true})
		rb.Field(3).(*array.Int64Builder).AppendValues([]int64{2, 0, 40, 400}, []bool{true, false, true, true})
		rb.Field(4).(*array.Float64Builder).AppendValues([]float64{12.5, math.NaN(), math.Inf(1), 0}, []bool{true, true, true, false})
		d0 := date(2023, 12, 31)
		rb.Field(5).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(d0), 0, 0, 0}, []bool{true, false, true, false})
		rb.Field(6).(*array.StringBuilder).AppendValues([]string{`["recency"]`, "", "", ""}, []bool{true, false, false, false})
		rb.Field(7).(*array.BooleanBuilder).AppendValues([]bool{true, false, false, false}, []bool{true, true, false, false})
		seen := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)
		rb.Field(8).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(seen.UnixMilli()), 0, 0, 0}, []bool{true, false, false, false})
		rec := rb.NewRecordBatch()
		defer rec.Release()

		asOf := time.Date(2024, 3, 1, 17, 30, 0, 0, time.FixedZone("X", 3600)) // time of day ignored
		before := time.Now().Add(-time.Second)
		require.NoError(t, s.Publish(ctx, Publication{RunID: "run-1", AsOf: asOf, Records: []arrow.RecordBatch{rec}}))

		rows := query(t, s, `SELECT customer_id, as_of, run_id, lifecycle_stage, rfm_r, days_since_last_purchase, historic_value,
			first_purchase_date, top_reasons, flag, seen_at, updated_at, p_alive, churn_probability FROM `+cur(s)+` ORDER BY customer_id`)
		require.Len(t, rows, 4)
		for _, r := range rows {
			assert.Equal(t, "2024-03-01", dayStr(r[1]), "as_of is the UTC day of AsOf")
			assert.Equal(t, "run-1", r[2])
			assert.Nil(t, r[12], "p_alive absent from the records → NULL")
			assert.Nil(t, r[13], "churn_probability absent from the records → NULL")
			upd, err := asTime(r[11])
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), upd, time.Since(before)+time.Second)
		}
		a, bb, c, d := rows[0], rows[1], rows[2], rows[3]
		assert.Equal(t, "a", a[0])
		assert.Equal(t, "new", a[3])
		assert.Equal(t, int64(5), a[4])
		assert.Equal(t, int64(2), a[5])
		assert.Equal(t, 12.5, a[6])
		assert.Equal(t, "2023-12-31", dayStr(a[7]))
		assert.Equal(t, `["recency"]`, a[8])
		assert.Nil(t, bb[3], "null string → NULL")
		assert.Nil(t, bb[4], "null int32 → NULL")
		assert.Nil(t, bb[5], "null int64 → NULL")
		assert.Nil(t, bb[6], "NaN → NULL")
		assert.Nil(t, bb[7], "null date → NULL")
		assert.Nil(t, c[6], "+Inf → NULL")
		assert.Equal(t, "1970-01-01", dayStr(c[7]), "date32 0 is the epoch")
		assert.Nil(t, d[6], "null float → NULL")
		if s.(*store).d.pg {
			assert.Equal(t, true, a[9])
			assert.Equal(t, false, bb[9])
			assert.Equal(t, seen, a[10].(time.Time).UTC())
		} else if s.(*store).d.my {
			assert.Equal(t, int64(1), a[9])
			assert.Equal(t, int64(0), bb[9])
			assert.Equal(t, seen, a[10].(time.Time).UTC(), "DATETIME(6) written and read in UTC")
		} else {
			assert.Equal(t, int64(1), a[9])
			assert.Equal(t, int64(0), bb[9])
			assert.Equal(t, "2024-01-02T03:04:05.006000000Z", a[10], "RFC 3339 UTC, nine fractional digits")
		}
		assert.Nil(t, c[9], "null bool → NULL")
		assert.Nil(t, bb[10], "null timestamp → NULL")

		// History holds the same night; a first night moves everyone from "none".
		assert.Equal(t, int64(4), one(t, s, "SELECT count(*) FROM "+hist(s)+" WHERE as_of = ?", dateArg(s, asOf)))
		tr := query(t, s, "SELECT from_stage, to_stage, customers FROM "+tbl(s, tTransitions)+" ORDER BY to_stage")
		assert.Equal(t, [][]any{{"none", "dormant", int64(1)}, {"none", "mature", int64(1)}, {"none", "new", int64(1)}, {"none", "unknown", int64(1)}}, tr)
	})
}

func TestPublishErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		asOf := date(2024, 5, 1)
		publishNight(t, s, asOf, "good", syntheticNight(10, 0))

		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		mk := func(names ...string) arrow.RecordBatch {
			fields := make([]arrow.Field, len(names))
			for i, n := range names {
				fields[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String}
			}
			rb := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
			defer rb.Release()
			for i := range names {
				rb.Field(i).(*array.StringBuilder).AppendValues([]string{"x1", "x1"}, nil)
			}
			return rb.NewRecordBatch()
		}
		cases := []struct {
			name string
			rec  arrow.RecordBatch
			is   error  // sentinel, or nil for a plain error
			msg  string // substring of the message
		}{
			{"unknown column", mk("customer_id", "bogus col"), ErrUnknownColumn, `"bogus col"`},
			{"store-filled column", mk("customer_id", "as_of"), nil, `"as_of" is filled by the store`},
			{"no customer_id", mk("segment"), nil, `no "customer_id"`},
			{"duplicate customer", mk("customer_id"), ErrDuplicateCustomer, "customer_id"},
		}
		for _, c := range cases {
			err := s.Publish(ctx, Publication{RunID: "bad", AsOf: date(2024, 5, 2), Records: []arrow.RecordBatch{c.rec}})
			c.rec.Release()
			require.Error(t, err, c.name)
			if c.is != nil {
				assert.ErrorIs(t, err, c.is, c.name)
			}
			assert.Contains(t, err.Error(), c.msg, c.name)
		}
		err := s.Publish(ctx, Publication{RunID: "bad", AsOf: date(2024, 5, 2)})
		assert.ErrorIs(t, err, ErrEmptyPublication)

		// Every failed publication left the good night in place.
		r := query(t, s, "SELECT count(*), min(as_of), max(as_of), min(run_id) FROM "+cur(s))
		assert.Equal(t, int64(10), r[0][0])
		assert.Equal(t, "2024-05-01", dayStr(r[0][1]))
		assert.Equal(t, "2024-05-01", dayStr(r[0][2]))
		assert.Equal(t, "good", r[0][3])
		assert.Equal(t, int64(0), one(t, s, "SELECT count(*) FROM "+hist(s)+" WHERE as_of <> ?", dateArg(s, asOf)))
	})
}

func TestMigrations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn, opt := b.fresh(t, "")
		s, err := Open(ctx, dsn, opt)
		require.NoError(t, err)
		defer s.Close()
		// Bring the database to v1 only, as an old release would have left it.
		require.NoError(t, s.(*store).eng.inTx(ctx, true, func(q querier) error {
			if s.(*store).d.pg {
				if _, err := q.exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident(opt.Schema)); err != nil {
					return err
				}
			}
			_, err := q.exec(ctx, migrationsTableDDL(s.(*store).d))
			return err
		}))
		require.NoError(t, s.(*store).migrateTo(ctx, 1))
		cols := func() map[string]bool {
			cs, err := s.(*store).eng.columns(ctx, s.(*store).table)
			require.NoError(t, err)
			m := map[string]bool{}
			for _, c := range cs {
				m[c.name] = true
			}
			return m
		}
		assert.Len(t, cols(), 16, "v1 spine has 16 columns")
		assert.False(t, cols()["p_alive"])
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		v1 := v1Records(mem, syntheticNight(5, 0))
		require.NoError(t, s.Publish(ctx, Publication{RunID: "v1", AsOf: date(2024, 1, 1), Records: v1}))
		release(v1)
		// The v1 table rejects the CLV and churn columns.
		recs := customersRecords(mem, syntheticNight(5, 1), 100) // has "segment" (v3)
		err = s.Publish(ctx, Publication{RunID: "v1b", AsOf: date(2024, 1, 2), Records: recs})
		assert.ErrorIs(t, err, ErrUnknownColumn)
		assert.Contains(t, err.Error(), `"predicted_clv_12m"`, "the first unknown column is named")

		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Migrate(ctx), "idempotent")
		rc, err := s.(*store).eng.columns(ctx, tRuns)
		require.NoError(t, err)
		var runCols []string
		for _, c := range rc {
			runCols = append(runCols, c.name)
		}
		assert.Contains(t, runCols, "rows_identical", "v5 adds pipeline_runs.rows_identical")
		c := cols()
		assert.Len(t, c, len(predictionColumns), "v1 16 + v2 6 + v3 6 columns + later migrations")
		for _, n := range []string{"p_alive", "predicted_clv_12m", "churn_probability", "top_reasons", "model_version"} {
			assert.True(t, c[n], n)
		}
		r := query(t, s, "SELECT count(*), count(p_alive), min(run_id) FROM "+cur(s))
		assert.Equal(t, []any{int64(5), int64(0), "v1"}, r[0], "v1 rows survive the upgrade, new columns NULL")
		require.NoError(t, s.Publish(ctx, Publication{RunID: "v3", AsOf: date(2024, 1, 2), Records: recs}))
		release(recs)
		assert.Equal(t, int64(5), one(t, s, "SELECT count(*) FROM "+cur(s)+" WHERE segment = 'B_mid'"))

		v := query(t, s, "SELECT version, description FROM "+tbl(s, tMigrations)+" WHERE target_table = ? ORDER BY version", DefaultTable)
		require.Len(t, v, len(migrations))
		for i, row := range v {
			assert.Equal(t, int64(migrations[i].version), row[0])
			assert.NotEmpty(t, row[1])
		}
		assert.Equal(t, []string{"customer_id", "lifecycle_stage", "segment"}, indexedColumns(t, s),
			"v4 dropped the value_tier index of the upgraded table")
		// A fresh database migrates straight to the latest version and a second Store sees nothing to do.
		s2, _, _ := openFresh(t, b, "")
		require.NoError(t, s2.Migrate(ctx))
		assert.Equal(t, int64(len(migrations)), one(t, s2, "SELECT count(*) FROM "+tbl(s2, tMigrations)))
		publishNight(t, s2, date(2024, 1, 1), "r1", syntheticNight(5, 0))
		publishNight(t, s2, date(2024, 1, 2), "r2", syntheticNight(5, 1))
		assert.Equal(t, []string{"customer_id", "lifecycle_stage", "segment"}, indexedColumns(t, s2),
			"the current table keeps its customer, stage and segment indexes across publications")
	})
}

// indexedColumns lists the first column of every index of s's current table,
// sorted, from the engine's catalog.
func indexedColumns(t *testing.T, s Store) []string {
	t.Helper()
	st := s.(*store)
	var rows [][]any
	if st.d.pg {
		rows = query(t, s, `SELECT a.attname::text FROM pg_index i
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indrelid = CAST(? AS regclass) ORDER BY 1`, cur(s))
	} else if st.d.my {
		rows = query(t, s, `SELECT column_name FROM information_schema.statistics
	WHERE table_schema = ? AND table_name = ? AND seq_in_index = 1 ORDER BY 1`, st.d.schema, st.table)
	} else {
		rows = query(t, s, `SELECT ii.name FROM sqlite_master m, pragma_index_info(m.name) ii
	WHERE m.type = 'index' AND m.tbl_name = ? AND ii.seqno = 0 ORDER BY 1`, st.table)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r[0].(string))
	}
	return out
}

func TestRerunSameAsOf(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		asOf := date(2024, 6, 30)
		for i, n := range []int{50, 40} { // the rerun publishes fewer customers
			run := &Run{AsOf: asOf, RowsRead: int64(1000 + i), Details: map[string]any{"attempt": i, "model": "m1"}}
			require.NoError(t, s.StartRun(ctx, run))
			assert.Equal(t, StatusRunning, run.Status)
			assert.NotEmpty(t, run.ID)
			assert.False(t, run.StartedAt.IsZero())
			publishNight(t, s, asOf, run.ID, syntheticNight(n, i))
			run.Status, run.Customers = StatusSucceeded, int64(n)
			require.NoError(t, s.FinishRun(ctx, run))
			time.Sleep(2 * time.Millisecond) // distinct started_at
		}
		assert.Equal(t, int64(40), one(t, s, "SELECT count(*) FROM "+hist(s)+" WHERE as_of = ?", dateArg(s, asOf)))
		assert.Equal(t, int64(40), one(t, s, "SELECT count(*) FROM "+cur(s)))
		assert.Equal(t, int64(2), one(t, s, "SELECT count(*) FROM "+tbl(s, tRuns)))
		assert.Equal(t, int64(40), one(t, s, "SELECT CAST(sum(customers) AS "+intCast(s)+") FROM "+tbl(s, tTransitions)+" WHERE from_stage = 'none'"),
			"no earlier night: the rerun's transitions are all from none, not from the replaced first run")
		assert.Equal(t, int64(40), one(t, s, "SELECT CAST(sum(customers) AS "+intCast(s)+") FROM "+tbl(s, tTransitions)))
		assert.Equal(t, int64(40), one(t, s, "SELECT customers FROM "+tbl(s, tMetrics)+" WHERE stage = 'all'"))

		last, ok, err := s.LastRun(ctx, StatusSucceeded)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, int64(1001), last.RowsRead)
		assert.Equal(t, int64(40), last.Customers)
		assert.Equal(t, asOf, last.AsOf)
		assert.Equal(t, map[string]any{"attempt": 1.0, "model": "m1"}, last.Details)
		assert.False(t, last.FinishedAt.IsZero())
		_, ok, err = s.LastRun(ctx, StatusBlocked)
		require.NoError(t, err)
		assert.False(t, ok)

		bad := &Run{ID: last.ID, Status: "done"}
		assert.Error(t, s.FinishRun(ctx, bad), "unknown status")
		assert.Error(t, s.FinishRun(ctx, &Run{ID: "nope", Status: StatusFailed}), "unknown run")
	})
}

// TestTransitionsAndMetrics checks stage_transitions and lifecycle_metrics on
// two nights 100 days apart, with expectations computed by hand below.
func TestTransitionsAndMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, _, _ := openFresh(t, b, "")
		d0, d1 := date(2024, 1, 1), date(2024, 4, 10) // 100 days apart
		require.Equal(t, 100.0, d1.Sub(d0).Hours()/24)
		publishNight(t, s, d0, "n0", []cust{
			{"a", "new", 3, 10, 100}, {"b", "growing", 10, 20, 200}, {"c", "mature", 20, 30, 300}, {"d", "declining", 60, 40, 400},
		})
		publishNight(t, s, d1, "n1", []cust{
			{"a", "growing", 5, 12, 110},   // bought 5 days ago: after d0 → retained
			{"b", "growing", 100, 20, 150}, // last purchase exactly d0: not after → churned
			{"c", "dormant", 120, 30, 0},   // last purchase before d0 → churned
			{"e", "new", 1, 8, 80},         // new customer
		}) // d is gone

		tr := query(t, s, "SELECT from_stage, to_stage, customers FROM "+tbl(s, tTransitions)+
			" WHERE as_of = ? ORDER BY from_stage, to_stage", dateArg(s, d1))
		assert.Equal(t, [][]any{
			{"declining", "gone", int64(1)},
			{"growing", "growing", int64(1)},
			{"mature", "dormant", int64(1)},
			{"new", "growing", int64(1)},
			{"none", "new", int64(1)},
		}, tr)

		type metric struct {
			customers                   int64
			share, churn, retention     any
			avgHistoric, avgPredictedCL any
		}
		get := func(day time.Time) map[string]metric {
			m := map[string]metric{}
			for _, r := range query(t, s, `SELECT stage, customers, share, realized_churn_rate, retention_rate, avg_historic_value,
				avg_predicted_clv FROM `+tbl(s, tMetrics)+" WHERE as_of = ?", dateArg(s, day)) {
				m[r[0].(string)] = metric{r[1].(int64), r[2], r[3], r[4], r[5], r[6]}
			}
			return m
		}
		// Night 1: cohort night = newest ≤ d1−90d = d0 (cohort a,b,c,d; d absent now, so a,b,c).
		// by d0 stage: new {a: retained} → 0; growing {b: churned} → 1; mature {c} → 1; all: 2/3.
		m := get(d1)
		require.Len(t, m, 4)
		assert.Equal(t, metric{2, 0.5, 1.0, 0.0, 16.0, 130.0}, m["growing"], "a,b now growing; churn of d0's growing cohort {b}")
		assert.Equal(t, metric{1, 0.25, nil, nil, 30.0, 0.0}, m["dormant"], "nobody was dormant at d0")
		assert.Equal(t, metric{1, 0.25, 0.0, 1.0, 8.0, 80.0}, m["new"], "d0's new cohort {a} retained")
		all := m["all"]
		assert.Equal(t, int64(4), all.customers)
		assert.Equal(t, 1.0, all.share)
		assert.InDelta(t, 2.0/3, all.churn, 1e-12)
		assert.InDelta(t, 1.0/3, all.retention, 1e-12)
		assert.Equal(t, 17.5, all.avgHistoric)
		assert.Equal(t, 85.0, all.avgPredictedCL)
		// Night 0: no night 90 days earlier → realized churn NULL.
		m = get(d0)
		require.Len(t, m, 5)
		assert.Nil(t, m["all"].churn)
		assert.Nil(t, m["all"].retention)
		assert.Equal(t, int64(4), m["all"].customers)
	})
}

func TestQuotedTableName(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const name = `cust "pred" x`
		s, dsn, opt := openFresh(t, b, name)
		publishNight(t, s, date(2024, 2, 1), "r1", syntheticNight(30, 0))
		publishNight(t, s, date(2024, 2, 2), "r2", syntheticNight(20, 1))
		assert.Equal(t, int64(20), one(t, s, `SELECT count(*) FROM `+tbl(s, name)))
		assert.Equal(t, int64(50), one(t, s, `SELECT count(*) FROM `+tbl(s, name+"_history")))
		run := &Run{AsOf: date(2024, 2, 2)}
		require.NoError(t, s.StartRun(ctx, run))
		last, ok, err := s.LastRun(ctx, "")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, run.ID, last.ID)
		assert.Equal(t, name, one(t, s, "SELECT target_table FROM "+tbl(s, tRuns)))
		rel, err := s.TryLock(ctx)
		require.NoError(t, err)
		require.NoError(t, rel())
		// The default table of the same database is independent.
		opt.Table = ""
		other, err := Open(ctx, dsn, opt)
		require.NoError(t, err)
		defer other.Close()
		require.NoError(t, other.Migrate(ctx))
		_, ok, err = other.LastRun(ctx, "")
		require.NoError(t, err)
		assert.False(t, ok, "runs are per target table")
	})
}

func TestTryLock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s1, dsn, opt := openFresh(t, b, "")
		s2, err := Open(ctx, dsn, opt)
		require.NoError(t, err)
		defer s2.Close()

		rel1, err := s1.TryLock(ctx)
		require.NoError(t, err)
		_, err = s1.TryLock(ctx)
		assert.ErrorIs(t, err, ErrLocked, "the same Store cannot lock twice")
		start := time.Now()
		_, err = s2.TryLock(ctx)
		assert.ErrorIs(t, err, ErrLocked)
		assert.Less(t, time.Since(start), 2*time.Second, "fails fast")
		assert.False(t, IsTransient(err))

		require.NoError(t, rel1())
		require.NoError(t, rel1(), "release is idempotent")
		rel2, err := s2.TryLock(ctx)
		require.NoError(t, err, "a released lock can be re-taken")
		require.NoError(t, s2.Close(), "Close releases the lock")
		_ = rel2
		rel3, err := s1.TryLock(ctx)
		require.NoError(t, err)
		require.NoError(t, rel3())
	})
}

// TestReadersSeeWholeNights publishes 20 nights of different sizes while a
// reader on its own connection checks that every read sees exactly one
// complete night.
func TestReadersSeeWholeNights(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, dsn, opt := openFresh(t, b, "")
		reader, err := Open(ctx, dsn, opt) // the CRM: other connections
		require.NoError(t, err)
		defer reader.Close()

		const nights = 20
		day0 := date(2024, 1, 1)
		size := func(k int) int { return 200 + (k*7919)%1500 }
		sizes := map[string]int64{}
		for k := range nights {
			sizes[day0.AddDate(0, 0, k).Format(time.DateOnly)] = int64(size(k))
		}
		publishNight(t, s, day0, "n0", syntheticNight(size(0), 0))

		var reads, bad atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := "SELECT count(*), count(DISTINCT as_of), min(as_of) FROM " + cur(reader)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := query(t, reader, q)[0]
				n, distinct, asOf := r[0].(int64), r[1].(int64), dayStr(r[2])
				reads.Add(1)
				if n == 0 || distinct != 1 || sizes[asOf] != n {
					bad.Add(1)
					t.Errorf("read %d rows, %d distinct as_of, min as_of %s (size %d)", n, distinct, asOf, sizes[asOf])
				}
			}
		}()
		for k := 1; k < nights; k++ {
			publishNight(t, s, day0.AddDate(0, 0, k), "n", syntheticNight(size(k), k))
		}
		close(stop)
		wg.Wait()
		t.Logf("%d reads during %d publishes", reads.Load(), nights-1)
		assert.Greater(t, reads.Load(), int64(nights), "the reader ran during the publishes")
		assert.Zero(t, bad.Load())
		assert.Equal(t, int64(size(nights-1)), one(t, s, "SELECT count(*) FROM "+cur(s)))
		var total int64
		for _, n := range sizes {
			total += n
		}
		assert.Equal(t, total, one(t, s, "SELECT count(*) FROM "+hist(s)))
	})
}

func TestPutLabels(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		require.NoError(t, s.PutLabels(ctx, "stage_labels", []Label{
			{"new", "New", "新客户", "onboard"}, {"dormant", "Dormant", "沉睡", "win back"},
		}))
		require.NoError(t, s.PutLabels(ctx, "stage_labels", []Label{{"dormant", "Dormant", "沉睡客户", "win-back offer"}}))
		require.NoError(t, s.PutLabels(ctx, "segment_labels", []Label{{Code: "A_high", English: "High value, high risk"}}))
		assert.Equal(t, [][]any{{"dormant", "Dormant", "沉睡客户", "win-back offer"}, {"new", "New", "新客户", "onboard"}},
			query(t, s, "SELECT code, label_en, label_zh, action FROM "+tbl(s, tStageLabels)+" ORDER BY code"))
		assert.Equal(t, [][]any{{"A_high", "High value, high risk", nil}},
			query(t, s, "SELECT code, label_en, label_zh FROM "+tbl(s, tSegLabels)))
		err := s.PutLabels(ctx, "pipeline_runs", nil)
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), "stage_labels"))
		assert.False(t, errors.Is(err, ErrLocked))
	})
}

// TestPostgresFiguresMatchReference checks that PostgreSQL's transitions and
// metrics (SELECTs on the staging table, computed on a second connection
// during the swap) equal, bit for bit, those of the single-pass INSERT
// queries that SQLite runs against the current table, on nights whose float
// sums are not exact.
func TestPostgresFiguresMatchReference(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, _, _ := openFresh(t, b, "")
		st := s.(*store)
		if !st.d.pg {
			t.Skip("PostgreSQL only")
		}
		night := func(n, v int) []cust {
			cs := syntheticNight(n, v)
			for i := range cs {
				cs[i].hv = float64(i)*0.1 + 1.0/3
				cs[i].clv = math.Sqrt(float64(i + v))
			}
			return cs
		}
		d0, d1 := date(2024, 1, 1), date(2024, 4, 1)
		publishNight(t, s, d0, "n0", night(3000, 0))
		publishNight(t, s, d1, "n1", night(2500, 3)[100:]) // 100 new ids missing, 500 gone
		ctx := context.Background()
		// Reference rows under target_table "ref", as the pre-staging code wrote them.
		q := pgQ{st.eng.(*pgEngine).pp}
		_, err := q.exec(ctx, transitionsInsertSQL(st.d, hist(s), cur(s)), "ref", d1, d0, d0)
		require.NoError(t, err)
		_, err = q.exec(ctx, metricsInsertSQL(st.d, hist(s), cur(s), true, true), int64(91), d0, "ref", d1)
		require.NoError(t, err)
		for _, c := range []struct{ table, cols string }{
			{tTransitions, "from_stage, to_stage, customers"},
			{tMetrics, "stage, customers, share, realized_churn_rate, retention_rate, avg_historic_value, avg_predicted_clv, trial_conversion_rate, renewal_rate"},
		} {
			sel := "SELECT " + c.cols + " FROM " + tbl(s, c.table) + " WHERE target_table = ? AND as_of = ? ORDER BY 1, 2"
			want := query(t, s, sel, "ref", d1)
			require.NotEmpty(t, want)
			assert.Equal(t, want, query(t, s, sel, st.table, d1), c.table)
		}
	})
}

// TestPostgresOneConnectionPool publishes through a pool of one connection:
// the figures' second connection must not come from the pool, or the swap
// would wait for itself.
func TestPostgresOneConnectionPool(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if b.name != "postgres" {
			t.Skip("PostgreSQL only")
		}
		dsn, opt := b.fresh(t, "")
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := Open(ctx, dsn+sep+"pool_max_conns=1", opt)
		require.NoError(t, err)
		defer s.Close()
		require.NoError(t, s.Migrate(ctx))
		publishNight(t, s, date(2024, 1, 1), "n0", syntheticNight(20, 0))
		publishNight(t, s, date(2024, 1, 2), "n1", syntheticNight(15, 1))
		assert.Equal(t, int64(15), one(t, s, "SELECT CAST(sum(customers) AS "+intCast(s)+") FROM "+tbl(s, tTransitions)+
			" WHERE as_of = ? AND to_stage <> 'gone'", dateArg(s, date(2024, 1, 2))))
		require.NoError(t, ctx.Err())
	})
}

// Two target tables in one database share pipeline_runs: the migration that
// adds a ledger column runs once per target table and must add it once.
func TestMigrationsTwoTablesShareTheLedger(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s1, dsn, opt := openFresh(t, b, "crm_a")
		opt.Table = "crm_b"
		s2, err := Open(ctx, dsn, opt)
		require.NoError(t, err)
		defer s2.Close()
		require.NoError(t, s2.Migrate(ctx), "the second table's migrations find rows_identical there")
		for _, s := range []Store{s1, s2} {
			require.NoError(t, s.StartRun(ctx, &Run{ID: "r-" + s.(*store).table, StartedAt: time.Now(), Status: StatusRunning}))
			r := &Run{ID: "r-" + s.(*store).table, Status: StatusSucceeded, RowsIdentical: 7}
			require.NoError(t, s.FinishRun(ctx, r))
			last, ok, err := s.LastRun(ctx, StatusSucceeded)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, int64(7), last.RowsIdentical)
		}
	})
}
