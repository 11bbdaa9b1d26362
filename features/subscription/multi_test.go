package subscription

import (
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

// sev2 is an event with the optional subscription_id and period_end ("" = null).
type sev2 struct {
	id, day, typ string
	amount       float64 // NaN = null
	sub, end     string
}

func record2(t *testing.T, mem memory.Allocator, evs []sev2) arrow.RecordBatch {
	t.Helper()
	sc := data.EventSchemaOf(data.OptSubscriptionID | data.OptPeriodEnd)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	day := func(s string) int64 {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d.UnixMilli()
	}
	for _, e := range evs {
		b.Field(0).(*array.StringBuilder).Append(e.id)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(day(e.day)))
		b.Field(2).(*array.StringBuilder).Append(e.typ)
		if math.IsNaN(e.amount) {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(e.amount)
		}
		if e.sub == "" {
			b.Field(4).AppendNull()
		} else {
			b.Field(4).(*array.StringBuilder).Append(e.sub)
		}
		if e.end == "" {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(day(e.end)))
		}
	}
	return b.NewRecordBatch()
}

// TestSeveralSubscriptionsAndPeriodEnd: accounts with several
// subscriptions are handled per subscription (the nearest active
// subscription's period end is the renewal date; a cancel of one does not
// cancel the account while another is active; the account exits and is won
// back at the account level), and period_end overrides the period inferred
// from the cadence. As-of 2025-06-30; expected values by hand.
func TestSeveralSubscriptionsAndPeriodEnd(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	n := math.NaN()
	evs := []sev2{
		// S1 monthly, notice given; S2 annual (period_end), active: the account is active,
		// renews on S2's period end, its recurring amount is S2's.
		{"two", "2025-05-05", "subscribe", 20, "S1", ""}, {"two", "2025-06-04", "renew", n, "S1", ""},
		{"two", "2025-06-20", "subscribe", 10, "S2", "2026-06-20"}, {"two", "2025-06-25", "cancel", n, "S1", ""},
		// Two active: the nearest period end is the renewal date (S2's inferred 07-10,
		// not S1's given 09-01); amounts add up.
		{"near", "2025-06-01", "subscribe", 60, "Q", "2025-09-01"}, {"near", "2025-06-10", "subscribe", 15, "M", ""},
		// Both on notice: cancelled, the account exits on the later cancel (the first
		// fell while the other was still paid without notice).
		{"both", "2025-06-03", "subscribe", 20, "A", ""}, {"both", "2025-06-05", "subscribe", 20, "B", ""},
		{"both", "2025-06-10", "cancel", n, "A", ""}, {"both", "2025-06-12", "cancel", n, "B", ""},
		// S1 ended in March; S2 began in May: won back at the account level.
		{"switch", "2025-03-01", "subscribe", 20, "S1", ""}, {"switch", "2025-03-15", "cancel", n, "S1", ""},
		{"switch", "2025-05-20", "subscribe", 25, "S2", ""}, {"switch", "2025-06-19", "renew", n, "S2", ""},
		// Plan switch: S1 cancelled on the day S2 began: no exit, not won back.
		{"plan", "2025-04-10", "subscribe", 20, "S1", ""}, {"plan", "2025-05-10", "cancel", n, "S1", ""},
		{"plan", "2025-05-10", "subscribe", 30, "S2", ""}, {"plan", "2025-06-09", "renew", n, "S2", ""},
		// One subscription, period_end on the renewal: a six-month period, not renewal_due
		// (inferred from the cadence it would end 2025-07-02).
		{"given", "2025-05-01", "subscribe", 20, "", ""}, {"given", "2025-06-01", "renew", 20, "", "2025-12-01"},
		// The same cadence without period_end: renewal due.
		{"cadence", "2025-05-01", "subscribe", 20, "", ""}, {"cadence", "2025-06-01", "renew", 20, "", ""},
		// period_end on a subscribe keeps a quarterly period from lapsing after 33 days.
		{"quarter", "2025-05-01", "subscribe", 90, "", "2025-08-01"},
		// A 30-day trial (period_end) is still running after the default 14 days.
		{"trial30", "2025-06-01", "trial_start", n, "", "2025-07-01"},
	}
	asOf := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	b, err := NewBuilder(asOf, Rules{})
	require.NoError(t, err)
	rec := record2(t, mem, evs)
	require.NoError(t, b.Add(rec))
	rec.Release()
	got := map[string]State{}
	for _, s := range b.Finish() {
		got[s.ID] = s
	}
	day := func(s string) int32 {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return data.DayOf(d.UnixMilli())
	}
	r := DefaultRules()
	asOfDay := day("2025-06-30")
	cases := []struct {
		id, status, sub string
		stage           Stage
		end             string
		amount          float64
		lastExit        string
		subs            int
	}{
		{"two", StatusActive, "S2", NewSubscriber, "2026-06-20", 10, "", 2},
		{"near", StatusActive, "M", NewSubscriber, "2025-07-10", 75, "", 2},
		{"both", StatusCancelled, "A", Cancelled, "2025-07-03", 40, "2025-06-12", 2},
		{"switch", StatusActive, "S2", WonBack, "2025-07-19", 25, "2025-03-31", 2},
		{"plan", StatusActive, "S2", Active, "2025-07-09", 30, "", 2},
		{"given", StatusActive, "", Active, "2025-12-01", 20, "", 0},
		{"cadence", StatusActive, "", RenewalDue, "2025-07-02", 20, "", 0},
		{"quarter", StatusActive, "", NewSubscriber, "2025-08-01", 90, "", 0},
	}
	for _, tc := range cases {
		s, ok := got[tc.id]
		require.True(t, ok, tc.id)
		assert.Equal(t, tc.status, s.Status, tc.id)
		assert.Equal(t, tc.sub, s.SubscriptionID, tc.id)
		assert.Equal(t, tc.stage, r.Stage(s, asOfDay, math.NaN()), tc.id)
		assert.Equal(t, day(tc.end), s.PeriodEnd, "%s: renewal date", tc.id)
		assert.Equal(t, day(tc.end)-asOfDay, s.DaysToPeriodEnd, tc.id)
		assert.Equal(t, tc.amount, s.Amount, tc.id)
		wantExit := int32(-1)
		if tc.lastExit != "" {
			wantExit = day(tc.lastExit)
		}
		assert.Equal(t, wantExit, s.LastExit, "%s: account exit", tc.id)
		assert.Len(t, s.Subscriptions, tc.subs, tc.id)
	}
	// Every subscription's spells are kept for the retention model; the
	// current spell is the primary's.
	two := got["two"]
	require.Len(t, two.Spells, 2)
	assert.True(t, two.Spells[0].Notice, "S1 on notice")
	cur, ok := two.Current()
	require.True(t, ok)
	assert.Equal(t, day("2025-06-20"), cur.Start)
	assert.Equal(t, 0, cur.Renewals)
	assert.Equal(t, StatusCancelled, two.Subscriptions[0].Status)
	assert.Equal(t, StatusActive, two.Subscriptions[1].Status)
	assert.Equal(t, int32(365), two.PeriodDays)
	assert.Equal(t, day("2025-05-20"), got["switch"].WonBackDay)
	assert.False(t, got["plan"].WonBack)
	assert.Equal(t, StatusTrial, got["trial30"].Status)
	assert.Equal(t, Trial, r.Stage(got["trial30"], asOfDay, math.NaN()))
}
