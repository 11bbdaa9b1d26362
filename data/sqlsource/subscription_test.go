package sqlsource

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

// TestSubscriptionColumns: subscription_id (text, bigint next to a bigint
// customer_id and event_id, uuid) and period_end (date, timestamptz, text)
// from PostgreSQL, by name and mapped, in the canonical schema; a
// period_end before the event or unparsable is quarantined with its row,
// column and reason.
func TestSubscriptionColumns(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, "CREATE TABLE "+db.q("subs")+` (n int, customer_id bigint, event_time date, event_type text,
		event_id bigint, subscription_id text, contract bigint, cuid uuid, period_end date, paid_until timestamptz, end_text text)`,
		"INSERT INTO "+db.q("subs")+` VALUES
		(1, 11, '2025-06-01', 'subscribe', 900001, 'S1', 77, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2025-07-01', '2025-07-01 00:00:00+00', '2025-07-01'),
		(2, 12, '2025-06-01', 'visit', 900002, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, 13, '2025-06-02', 'renew', 900003, 'S3', 78, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '2025-05-31', '2025-05-31 23:00:00+00', 'soon')`)
	jul1 := msOf(2025, 7, 1, 0, 0, 0, 0)
	cases := []struct {
		name   string
		opt    Options
		sub    string
		reason string
	}{
		{"text and date by name", Options{Query: "SELECT n, customer_id, event_time, event_type, event_id, subscription_id, period_end FROM " + db.q("subs") + " ORDER BY n"},
			"S1", "period_end before the event (2025-06-02)"},
		{"bigint and timestamptz mapped", Options{Table: db.schema + ".subs",
			Map: map[string]string{"subscription_id": "contract", "period_end": "paid_until"}}, "77", "period_end before the event (2025-06-02)"},
		{"uuid and text mapped", Options{Query: "SELECT * FROM " + db.q("subs") + " ORDER BY n",
			Map: map[string]string{"subscription_id": "cuid", "period_end": "end_text"}}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `unparsable time`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var buf bytes.Buffer
			q := data.NewQuarantine(&buf)
			tc.opt.Quarantine, tc.opt.Alloc = q, mem
			r, err := Open(context.Background(), db.dsn, tc.opt)
			require.NoError(t, err)
			defer r.Release()
			sc := r.Schema()
			require.True(t, sc.Equal(data.EventSchemaOf(data.OptEventID|data.OptSubscriptionID|data.OptPeriodEnd)), sc.String())
			type row struct {
				id, eid, sub string
				end          int64
			}
			var got []row
			for r.Next() {
				rec := r.Record()
				ids := rec.Column(0).(*array.String)
				eids := rec.Column(data.ColumnIndex(sc, data.ColEventID)).(*array.String)
				subs := rec.Column(data.ColumnIndex(sc, data.ColSubscriptionID)).(*array.String)
				ends := rec.Column(data.ColumnIndex(sc, data.ColPeriodEnd)).(*array.Timestamp)
				for i := 0; i < int(rec.NumRows()); i++ {
					w := row{id: ids.Value(i), eid: eids.Value(i), end: -1}
					if subs.IsValid(i) {
						w.sub = subs.Value(i)
					}
					if ends.IsValid(i) {
						w.end = int64(ends.Value(i))
					}
					got = append(got, w)
				}
			}
			require.NoError(t, r.Err())
			require.NoError(t, q.Close())
			assert.ElementsMatch(t, []row{{"11", "900001", tc.sub, jul1}, {"12", "900002", "", -1}}, got)
			recs, err := csv.NewReader(&buf).ReadAll()
			require.NoError(t, err)
			require.Len(t, recs, 2)
			assert.Equal(t, "3", recs[1][1])
			assert.Equal(t, "period_end", recs[1][2])
			assert.Contains(t, recs[1][3], tc.reason)
			assert.EqualValues(t, 1, r.Stats().RowsRejected)
		})
	}
}
