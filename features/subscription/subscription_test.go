package subscription

import (
	"fmt"
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

type ev struct {
	id, day, typ string
	amount       float64 // NaN = null
}

func record(t *testing.T, mem memory.Allocator, evs []ev) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, data.EventSchema)
	defer b.Release()
	for _, e := range evs {
		d, err := time.Parse(time.DateOnly, e.day)
		require.NoError(t, err)
		b.Field(0).(*array.StringBuilder).Append(e.id)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(d.UnixMilli()))
		b.Field(2).(*array.StringBuilder).Append(e.typ)
		if math.IsNaN(e.amount) {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(e.amount)
		}
	}
	return b.NewRecordBatch()
}

// TestStates: one customer per rule, as-of 2025-06-30 (the stage rules of
// doc.go with the default thresholds; expected values by hand).
func TestStates(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	n := math.NaN()
	evs := []ev{
		// trial 5 days ago
		{"trial", "2025-06-25", "trial_start", n},
		// trial 20 days ago, never paid
		{"trial_exp", "2025-06-10", "trial_start", n},
		// trial then subscribe, first period
		{"new", "2025-06-01", "trial_start", n}, {"new", "2025-06-15", "subscribe", 20},
		// subscribed, 2 renewals, period ends 2025-07-04 (30-day gaps): renewal due
		{"due", "2025-04-05", "subscribe", 20}, {"due", "2025-05-05", "renew", 20}, {"due", "2025-06-04", "renew", 20},
		// renewals, period ends 2025-07-20: active, plan downgrade
		{"act", "2025-03-22", "subscribe", 50}, {"act", "2025-04-21", "renew", n}, {"act", "2025-05-21", "renew", n},
		{"act", "2025-06-20", "renew", n}, {"act", "2025-06-22", "plan_change", 30}, {"act", "2025-06-29", "visit", n},
		// cancelled: notice given in the current period
		{"canc", "2025-06-10", "subscribe", 20}, {"canc", "2025-06-20", "cancel", n},
		// lapsed: no renewal 40 days after the period start
		{"lapse", "2025-05-01", "subscribe", 20},
		// won back: ended in March, resubscribed a month ago, then renewed once
		{"wb", "2025-01-01", "subscribe", 20}, {"wb", "2025-01-15", "cancel", n}, {"wb", "2025-01-31", "expire", n},
		{"wb", "2025-05-20", "subscribe", 20}, {"wb", "2025-06-19", "renew", n},
		// left-truncated: history starts with renew
		{"trunc", "2025-06-12", "renew", 10},
		// usage only: not contractual
		{"buyer", "2025-06-12", "visit", n}, {"buyer", "2025-06-13", "purchase", 10},
		// after the as-of day: ignored
		{"future", "2025-07-02", "subscribe", 20},
	}
	asOf := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	b, err := NewBuilder(asOf, Rules{})
	require.NoError(t, err)
	rec := record(t, mem, evs)
	require.NoError(t, b.Add(rec))
	rec.Release()
	states := b.Finish()
	got := map[string]State{}
	for _, s := range states {
		got[s.ID] = s
	}
	assert.NotContains(t, got, "buyer")
	assert.NotContains(t, got, "future")
	r := DefaultRules()
	day := data.DayOf(asOf.UnixMilli())
	cases := []struct {
		id       string
		status   string
		stage    Stage
		renewals int
		toEnd    int32
	}{
		{"trial", StatusTrial, Trial, 0, 0},
		{"trial_exp", StatusTrialExpired, TrialExpired, 0, 0},
		{"new", StatusActive, NewSubscriber, 0, 15},
		{"due", StatusActive, RenewalDue, 2, 4},
		{"act", StatusActive, Active, 3, 20},
		{"canc", StatusCancelled, Cancelled, 0, 10},
		{"lapse", StatusExpired, Cancelled, 0, -30},
		{"wb", StatusActive, WonBack, 1, 19},
		{"trunc", StatusActive, Active, 0, 12},
	}
	for _, tc := range cases {
		s, ok := got[tc.id]
		require.True(t, ok, tc.id)
		assert.Equal(t, tc.status, s.Status, tc.id)
		assert.Equal(t, tc.stage, r.Stage(s, day, math.NaN()), tc.id)
		if cur, ok := s.Current(); ok {
			assert.Equal(t, tc.renewals, cur.Renewals, tc.id)
			assert.Equal(t, tc.toEnd, s.DaysToPeriodEnd, tc.id)
		}
	}
	assert.Equal(t, 30.0, got["act"].Amount)
	assert.Equal(t, 1, got["act"].Downgrades)
	assert.Equal(t, int32(1), got["act"].Visits30)
	assert.Len(t, got["wb"].Spells, 2)
	assert.True(t, got["wb"].Spells[0].Ended)
	assert.True(t, got["trunc"].Spells[0].LeftTruncated)
	// at_risk overrides renewal_due and active for a subscriber.
	assert.Equal(t, AtRisk, r.Stage(got["due"], day, 0.7))
	assert.Equal(t, Cancelled, r.Stage(got["canc"], day, 0.99))
	assert.Len(t, Labels(), 8)
	for _, l := range Labels() {
		assert.NotEmpty(t, l.Chinese, l.Code)
	}
}

func TestRulesValidate(t *testing.T) {
	assert.ErrorIs(t, Rules{TrialDays: -1}.WithDefaults().Validate(), ErrRules)
	assert.ErrorIs(t, Rules{HighRisk: 2}.WithDefaults().Validate(), ErrRules)
	assert.NoError(t, DefaultRules().Validate())
}

// TestFinishSizedBySubscribers: the states of a history of many usage-only
// customers and one subscriber take one state's room, not one per customer
// (the builder follows every customer with usage until Finish).
func TestFinishSizedBySubscribers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	evs := []ev{{"sub", "2025-06-01", "subscribe", 20}}
	for i := range 1000 {
		evs = append(evs, ev{id: fmt.Sprintf("visitor%04d", i), day: "2025-06-10", typ: "visit", amount: math.NaN()})
	}
	b, err := NewBuilder(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), Rules{})
	require.NoError(t, err)
	rec := record(t, mem, evs)
	require.NoError(t, b.Add(rec))
	rec.Release()
	states := b.Finish()
	require.Len(t, states, 1)
	assert.Equal(t, "sub", states[0].ID)
	assert.Equal(t, 1, cap(states), "capacity for the subscribers only")
}
