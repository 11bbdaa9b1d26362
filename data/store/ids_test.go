package store

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// distinctIDs differ only in case, accents or normalization: one customer
// each in the source system.
var distinctIDs = []string{"A", "a", "café", "cafe", "cafe\u0301", "CAFÉ", "ß", "ss", "İ", "i"}

// TestCustomerIDsCompareByteForByte is issue 14 item 10: ids that differ
// only in case or accents are different customers on every engine (on
// main, MySQL/MariaDB's default collation made 'café' = 'cafe' a duplicate
// primary key and failed the night), in the current and history tables and
// in customer_alerts.
func TestCustomerIDsCompareByteForByte(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		var cs []cust
		var alerts []Alert
		for i, id := range distinctIDs {
			cs = append(cs, cust{id: id, stage: stages[i%len(stages)], days: int64(i), hv: 1})
			alerts = append(alerts, Alert{CustomerID: id, Alert: "risk_high", ChurnProbability: 0.5})
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		for _, night := range []int{1, 2} {
			recs := customersRecords(mem, cs, 100)
			err := s.Publish(ctx, Publication{RunID: "r", AsOf: date(2024, 5, night), Records: recs, Alerts: alerts})
			release(recs)
			require.NoError(t, err, "night %d", night)
		}
		var got []string
		for _, r := range query(t, s, "SELECT customer_id FROM "+cur(s)) {
			got = append(got, r[0].(string))
		}
		slices.Sort(got)
		want := slices.Clone(distinctIDs)
		slices.Sort(want)
		assert.Equal(t, want, got, "every id stored as given")
		assert.Equal(t, int64(2*len(distinctIDs)), one(t, s, "SELECT count(*) FROM "+hist(s)))
		assert.Equal(t, int64(2*len(distinctIDs)), one(t, s, "SELECT count(*) FROM "+tbl(s, tAlerts)))
		assert.Equal(t, int64(1), one(t, s, "SELECT count(*) FROM "+cur(s)+" WHERE customer_id = ?", "cafe"), "an equality matches one id")
		// The transitions see every customer in both nights: none is "gone" or "none".
		assert.Equal(t, int64(len(distinctIDs)), one(t, s, "SELECT CAST(sum(customers) AS "+intCast(s)+") FROM "+tbl(s, tTransitions)+
			" WHERE as_of = "+s.(*store).d.dateP()+" AND from_stage <> 'none' AND to_stage <> 'gone'", dateArg(s, date(2024, 5, 2))))
	})
}

// TestMySQLBinaryIDsMigration: a MySQL/MariaDB sink left at migration 8
// with the default collation gets utf8mb4_bin for customer_id of the
// current, history and customer_alerts tables from migration 9, keeping its
// rows; then ids that differ only in case publish.
func TestMySQLBinaryIDsMigration(t *testing.T) {
	b := backends[2]
	require.Equal(t, "mysql", b.name)
	ctx := context.Background()
	dsn, opt := b.fresh(t, "")
	s, err := Open(ctx, dsn, opt)
	require.NoError(t, err)
	defer s.Close()
	st := s.(*store)
	require.NoError(t, st.eng.inTx(ctx, true, func(q querier) error {
		_, err := q.exec(ctx, migrationsTableDDL(st.d))
		return err
	}))
	require.NoError(t, st.migrateTo(ctx, 8))
	collations := func() []any {
		var out []any
		for _, t2 := range []string{st.table, st.hist(), tAlerts} {
			out = append(out, one(t, s, `SELECT collation_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = 'customer_id'`,
				st.d.schema, t2))
		}
		return out
	}
	before := collations()
	require.NotEqual(t, myBinaryCollation, before[0], "v8 leaves the database's default collation")
	publishNight(t, s, date(2024, 5, 1), "r1", []cust{{id: "A", stage: "new", hv: 1}, {id: "b", stage: "new", hv: 2}})
	err = s.Publish(ctx, Publication{RunID: "r2", AsOf: date(2024, 5, 2), Records: customersRecords(memory.NewGoAllocator(),
		[]cust{{id: "A", stage: "new"}, {id: "a", stage: "new"}}, 10)})
	require.ErrorIs(t, err, ErrDuplicateCustomer, "the default collation: 'A' = 'a'")

	require.NoError(t, s.Migrate(ctx))
	assert.Equal(t, []any{myBinaryCollation, myBinaryCollation, myBinaryCollation}, collations())
	assert.Equal(t, int64(2), one(t, s, "SELECT count(*) FROM "+hist(s)), "rows kept")
	assert.Equal(t, "NO", one(t, s, `SELECT is_nullable FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = 'customer_id'`,
		st.d.schema, st.hist()))
	publishNight(t, s, date(2024, 5, 2), "r2", []cust{{id: "A", stage: "new"}, {id: "a", stage: "new"}})
	assert.Equal(t, int64(2), one(t, s, "SELECT count(*) FROM "+cur(s)))
	assert.Equal(t, int64(1), one(t, s, "SELECT count(*) FROM "+tbl(s, tMigrations)+" WHERE version = 9"))
	require.NoError(t, s.Migrate(ctx), "idempotent")

	// A second target table in the same database: its migration 9 alters its own tables, not customer_alerts again.
	o2 := opt
	o2.Table = "second"
	s2, err := Open(ctx, dsn, o2)
	require.NoError(t, err)
	defer s2.Close()
	require.NoError(t, s2.Migrate(ctx))
	assert.Equal(t, myBinaryCollation, one(t, s2, `SELECT collation_name FROM information_schema.columns WHERE table_schema = ? AND table_name = 'second' AND column_name = 'customer_id'`, st.d.schema))
}
