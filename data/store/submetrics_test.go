package store

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subCust is a row of a night with the subscription columns.
type subCust struct {
	id, stage, status string // status "" = a buyer
	days              int64  // days_since_last_purchase; < 0 = NULL
	renewal           string // "" = NULL
}

func publishSubNight(t *testing.T, s Store, asOf time.Time, runID string, cs []subCust) {
	t.Helper()
	publishSubNightAs(t, s, Publication{RunID: runID, AsOf: asOf}, cs)
}

// publishSubNightAs publishes cs as p (whose Records it fills).
func publishSubNightAs(t *testing.T, s Store, p Publication, cs []subCust) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "lifecycle_stage", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "days_since_last_purchase", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "subscription_status", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "renewal_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for _, c := range cs {
		b.Field(0).(*array.StringBuilder).Append(c.id)
		b.Field(1).(*array.StringBuilder).Append(c.stage)
		if c.days < 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int64Builder).Append(c.days)
		}
		if c.status == "" {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.StringBuilder).Append(c.status)
		}
		if c.renewal == "" {
			b.Field(4).AppendNull()
		} else {
			d, err := time.Parse(time.DateOnly, c.renewal)
			require.NoError(t, err)
			b.Field(4).(*array.Date32Builder).Append(arrow.Date32FromTime(d))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	p.Records = []arrow.RecordBatch{rec}
	require.NoError(t, s.Publish(context.Background(), p))
}

// TestSubscriberMetrics: lifecycle_metrics of a night mixing buyers and
// subscribers, 100 days after its cohort night. Each cohort customer churns
// by its setting's rule (a buyer: no purchase since; a subscriber:
// cancelled, expired or trial_expired tonight), trial_conversion_rate is over
// the cohort's trials, renewal_rate over its active subscribers whose renewal
// date fell before tonight. Expected values by hand.
func TestSubscriberMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, _, _ := openFresh(t, b, "")
		d0, d1 := date(2024, 1, 1), date(2024, 4, 10)
		publishSubNight(t, s, d0, "n0", []subCust{
			{"b1", "growing", "", 5, ""},
			{"t1", "trial", "trial", -1, ""}, {"t2", "trial", "trial", -1, ""}, {"t3", "trial_expired", "trial_expired", -1, ""},
			{"s1", "active", "active", -1, "2024-01-20"}, {"s2", "active", "active", -1, "2024-01-25"},
			{"s3", "renewal_due", "active", -1, "2024-01-05"}, {"s4", "active", "active", -1, "2024-06-01"},
			{"c1", "cancelled", "cancelled", -1, ""},
		})
		publishSubNight(t, s, d1, "n1", []subCust{
			{"b1", "growing", "", 10, ""},                        // bought since: retained
			{"t1", "new_subscriber", "active", -1, "2024-05-01"}, // converted
			{"t2", "trial_expired", "trial_expired", -1, ""},     // not converted: churned
			{"t3", "active", "active", -1, "2024-04-20"},         // converted after its trial expired
			{"s1", "active", "active", -1, "2024-04-20"},         // renewed
			{"s2", "cancelled", "cancelled", -1, ""},             // did not renew: churned
			{"s3", "active", "active", -1, "2024-05-05"},         // renewed
			{"s4", "active", "active", -1, "2024-06-01"},         // annual, not due yet
			{"c1", "cancelled", "cancelled", -1, ""},             // still cancelled: churned
		})
		rows := query(t, s, `SELECT stage, realized_churn_rate, trial_conversion_rate, renewal_rate FROM `+tbl(s, tMetrics)+
			" WHERE as_of = ? ORDER BY stage", dateArg(s, d1))
		got := map[string][3]any{}
		for _, r := range rows {
			got[r[0].(string)] = [3]any{r[1], r[2], r[3]}
		}
		// Cohort stages at d0 present tonight: growing {b1}, trial_expired {t3},
		// active {s1, s2, s4}, cancelled {c1}; new_subscriber had nobody at d0.
		assert.Equal(t, [3]any{0.0, nil, nil}, got["growing"])
		assert.Equal(t, [3]any{0.0, 1.0, nil}, got["trial_expired"])
		assert.InDelta(t, 1.0/3, got["active"][0], 1e-12)
		assert.Nil(t, got["active"][1])
		assert.InDelta(t, 0.5, got["active"][2], 1e-12, "s1 renewed, s2 not; s4 not due")
		assert.Equal(t, [3]any{1.0, nil, nil}, got["cancelled"])
		assert.Equal(t, [3]any{nil, nil, nil}, got["new_subscriber"])
		// all: churned t2, s2, c1 of 9; converted t1, t3 of 3 trials; renewed s1, s3 of 3 due.
		all := got["all"]
		assert.InDelta(t, 3.0/9, all[0], 1e-12)
		assert.InDelta(t, 2.0/3, all[1], 1e-12)
		assert.InDelta(t, 2.0/3, all[2], 1e-12)
	})
}
