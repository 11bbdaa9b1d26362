package store

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backfillNight is night k (0…3) of a small history: 60 customers, some
// joining late, stages, recencies and subscription statuses moving from
// night to night.
func backfillNight(k int) []subCust {
	stages := []string{"new", "growing", "mature", "declining", "churned"}
	subs := []string{"active", "cancelled", "trial", "trial_expired", "active"}
	var cs []subCust
	for i := range 60 {
		if i%10 > 6+k { // customers 7–9 of each ten join over the nights
			continue
		}
		c := subCust{id: fmt.Sprintf("c%02d", i), stage: stages[(i+k*(i%3+1))%len(stages)], days: int64((i*37 + k*41) % 200)}
		if i%4 == 0 {
			c.status = subs[(i/4+k)%len(subs)]
			c.days = -1
			if c.status == "active" {
				c.renewal = date(2024, 1, 1).AddDate(0, 0, 30*k+i%50).Format(time.DateOnly)
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// figures are a store's stage_transitions and lifecycle_metrics, as
// comparable rows (days as YYYY-MM-DD, rates rounded to 1e-12).
func figures(t *testing.T, s Store) (transitions, metrics [][]any) {
	t.Helper()
	transitions = query(t, s, `SELECT as_of, from_stage, to_stage, customers FROM `+tbl(s, tTransitions)+
		` ORDER BY as_of, from_stage, to_stage`)
	metrics = query(t, s, `SELECT as_of, stage, customers, share, realized_churn_rate, retention_rate, trial_conversion_rate, renewal_rate FROM `+
		tbl(s, tMetrics)+` ORDER BY as_of, stage`)
	for _, rows := range [][][]any{transitions, metrics} {
		for _, r := range rows {
			r[0] = dayStr(r[0])
			for j, v := range r {
				if f, ok := v.(float64); ok {
					r[j] = math.Round(f*1e12) / 1e12
				}
			}
		}
	}
	return transitions, metrics
}

// TestBackfillRecomputesLaterNights (issue 14 item 4): a night published
// after later nights (Publication.HistoryOnly) leaves the database with the
// figures that publishing the nights in order gives — the next night's
// stage_transitions are against the backfilled night, and the nights whose
// 90-day cohort night it now is have their lifecycle_metrics recomputed —
// while the current table keeps the newest night. The expected figures are
// the in-order database's, on the same backend.
func TestBackfillRecomputesLaterNights(t *testing.T) {
	// Night 1 (Feb 1) is the backfill. Its next night is Apr 1 (transitions);
	// May 5 and May 20 have their cohort night (as_of − 90: Feb 5, Feb 20)
	// change from Jan 1 to Feb 1; Jan 1's own figures do not change.
	days := []time.Time{date(2024, 1, 1), date(2024, 2, 1), date(2024, 4, 1), date(2024, 5, 5), date(2024, 5, 20)}
	night := func(i int) []subCust { return backfillNight(min(i, 3)) }
	eachBackend(t, func(t *testing.T, b backend) {
		inOrder, _, _ := openFresh(t, b, "")
		for i, d := range days {
			publishSubNight(t, inOrder, d, fmt.Sprintf("r%d", i), night(i))
		}
		wantTr, wantMe := figures(t, inOrder)

		s, _, _ := openFresh(t, b, "")
		for i, d := range days {
			if i != 1 {
				publishSubNight(t, s, d, fmt.Sprintf("r%d", i), night(i))
			}
		}
		beforeTr, beforeMe := figures(t, s)
		require.NotEqual(t, wantTr, beforeTr, "the later nights' transitions depend on the missing night")
		require.NotEqual(t, wantMe, beforeMe, "the later nights' metrics depend on the missing night")

		publishSubNightAs(t, s, Publication{RunID: "r1", AsOf: days[1], HistoryOnly: true}, night(1))
		gotTr, gotMe := figures(t, s)
		assert.Equal(t, wantTr, gotTr, "stage_transitions after the backfill")
		assert.Equal(t, wantMe, gotMe, "lifecycle_metrics after the backfill")
		assert.Equal(t, "2024-05-20", dayStr(one(t, s, `SELECT DISTINCT as_of FROM `+cur(s))), "the current table keeps the newest night")
		assert.Equal(t, one(t, inOrder, `SELECT count(*) FROM `+hist(inOrder)), one(t, s, `SELECT count(*) FROM `+hist(s)))
	})
}
