package jobs_test

import (
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestMixedHistory runs one night on a history that mixes contractual
// accounts and one-off buyers: a synthetic subscription business (Parquet,
// no subscription columns) and a CSV file beside it with subscription_id
// and period_end. Every customer is handled by the documented rule (a
// subscription event on or before the as-of day makes a subscriber),
// recomputed here from the raw rows: subscribers get a subscriber stage and
// the subscription columns, buyers a buyer stage, their RFM and CLV columns
// and no subscription column. The CSV's accounts check several
// subscriptions, a given period_end, a buyer who later subscribed, one who
// subscribes after the as-of day, and a quarantined period_end.
func TestMixedHistory(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	require.NoError(t, os.MkdirAll(hist, 0o755))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	asOf := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	st, err := jobs.SynthContractual(context.Background(), jobs.SynthConfig{Customers: 1500, Start: start, End: asOf, Seed: 7,
		Out: filepath.Join(hist, "a-synth.parquet")}, nil)
	require.NoError(t, err)
	require.Positive(t, st.Buyers)
	require.Positive(t, st.Subscribers)
	csv := "customer_id,event_time,event_type,amount,subscription_id,period_end\n" +
		// two subscriptions: the monthly one cancelled, the annual one active
		"M-multi,2025-11-10,subscribe,30,S1,\n" +
		"M-multi,2025-12-10,renew,30,S1,\n" +
		"M-multi,2025-12-20,subscribe,12,S2,2026-12-20\n" +
		"M-multi,2025-12-22,cancel,,S1,\n" +
		// two-month, then three-month periods: given period ends
		"M-given,2025-10-01,subscribe,40,,2025-12-01\n" +
		"M-given,2025-12-01,renew,40,,2026-03-01\n" +
		// bought twice, then subscribed: a subscriber with buyer columns too
		"M-bought,2025-03-01,purchase,50,,\n" +
		"M-bought,2025-06-01,purchase,20,,\n" +
		"M-bought,2025-12-15,subscribe,25,P1,\n" +
		// bought, subscribes after the as-of day: a buyer tonight
		"M-later,2025-05-01,purchase,20,,\n" +
		"M-later,2025-11-20,purchase,35,,\n" +
		"M-later,2026-01-05,subscribe,25,P2,\n" +
		// usage only: neither
		"M-usage,2025-12-01,visit,,,\n" +
		// a period end before its event: quarantined (line 15)
		"M-bad,2025-12-01,renew,10,X,2025-11-01\n"
	csvPath := filepath.Join(hist, "b-crm.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(csv), 0o644))

	// The documented rule, from the raw rows.
	r, err := data.Open(hist, data.Options{Quarantine: data.NewQuarantine(&strings.Builder{})})
	require.NoError(t, err)
	subscriber, seen := map[string]bool{}, map[string]bool{}
	last := data.DayOf(asOf.UnixMilli())
	for r.Next() {
		rec := r.Record()
		ids, ts, ty := rec.Column(0).(*array.String), rec.Column(1).(*array.Timestamp), rec.Column(2).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			if data.DayOf(int64(ts.Value(i))) > last {
				continue
			}
			id := strings.Clone(ids.Value(i))
			seen[id] = true
			if subscription.IsSubscriptionEvent(ty.Value(i)) {
				subscriber[id] = true
			}
		}
	}
	require.NoError(t, r.Err())
	r.Release()
	require.True(t, subscriber["M-multi"] && subscriber["M-bought"] && !subscriber["M-later"] && !subscriber["M-usage"])

	cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")},
		AsOf:  asOf, DB: "sqlite:" + filepath.Join(dir, "p.db")}}
	res, err := jobs.Nightly(context.Background(), cfg, pipeline.Options{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Run.RowsRejected, "the bad period_end")
	q, err := os.ReadFile(filepath.Join(dir, "q.csv"))
	require.NoError(t, err)
	assert.Contains(t, string(q), csvPath+",15,period_end,")
	assert.Contains(t, string(q), "period_end before the event")

	db := openDB(t, filepath.Join(dir, "p.db"))
	rows, err := db.Query(`SELECT customer_id, lifecycle_stage, subscription_status, renewal_date, p_renew_next,
		expected_residual_lifetime, residual_clv, churn_probability, rfm_score, p_alive, predicted_clv_12m, purchase_days,
		churn_percentile, clv_percentile, value_tier
		FROM customer_predictions`)
	require.NoError(t, err)
	defer rows.Close()
	type pred struct {
		stage                      string
		status, renewal, rfm       sql.NullString
		pRenew, derl, rclv, pc, pa sql.NullFloat64
		clv                        sql.NullFloat64
		days                       sql.NullInt64
		churnPct, clvPct           sql.NullFloat64
		tier                       string
	}
	got := map[string]pred{}
	for rows.Next() {
		var id string
		var p pred
		require.NoError(t, rows.Scan(&id, &p.stage, &p.status, &p.renewal, &p.pRenew, &p.derl, &p.rclv, &p.pc, &p.rfm, &p.pa, &p.clv, &p.days, &p.churnPct, &p.clvPct, &p.tier))
		got[id] = p
	}
	require.NoError(t, rows.Err())
	delete(seen, "M-bad") // its only row was quarantined
	require.Len(t, got, len(seen), "every customer published")

	var nSub, nBuyer int
	for id, p := range got {
		if subscriber[id] {
			nSub++
			assert.True(t, subscription.Valid(subscription.Stage(p.stage)), "%s: subscriber stage %q", id, p.stage)
			assert.True(t, p.status.Valid, "%s: subscription_status", id)
			if p.status.String != subscription.StatusTrial && p.status.String != subscription.StatusTrialExpired {
				assert.True(t, p.pc.Valid, "%s: churn_probability (P(cancel))", id)
			}
			if p.status.String == subscription.StatusActive {
				assert.True(t, p.renewal.Valid && p.pRenew.Valid && p.derl.Valid && p.rclv.Valid, "%s: active subscriber columns", id)
			}
			continue
		}
		nBuyer++
		assert.True(t, lifecycle.Valid(lifecycle.Stage(p.stage)), "%s: buyer stage %q", id, p.stage)
		assert.False(t, p.status.Valid || p.renewal.Valid || p.pRenew.Valid || p.derl.Valid || p.rclv.Valid, "%s: no subscription column", id)
		if p.days.Int64 > 0 {
			assert.True(t, p.rfm.Valid && p.pa.Valid && p.clv.Valid, "%s: buyer columns", id)
		}
	}
	assert.Equal(t, len(subscriber), nSub)
	assert.Positive(t, nBuyer)
	t.Logf("%d subscribers, %d buyers (synth: %d subscribers, %d buyers)", nSub, nBuyer, st.Subscribers, st.Buyers)

	// Ranks and tiers per setting: subscribers' P(cancel) and residual CLV
	// among subscribers, buyers' CLV and ABC tiers among buyers.
	isSub := func(id string) bool { return subscriber[id] }
	isBuyer := func(id string) bool { return !subscriber[id] && got[id].days.Int64 > 0 }
	check := func(name string, among func(string) bool, val func(pred) (float64, bool), pct func(pred) sql.NullFloat64) {
		var vals []float64
		for id, p := range got {
			if v, ok := val(p); ok && among(id) {
				vals = append(vals, v)
			}
		}
		require.Greater(t, len(vals), 1, name)
		for id, p := range got {
			v, ok := val(p)
			if !among(id) || !ok {
				continue
			}
			lower := 0
			for _, w := range vals {
				if w < v {
					lower++
				}
			}
			require.True(t, pct(p).Valid, "%s: %s", name, id)
			require.InDelta(t, 100*float64(lower)/float64(len(vals)-1), pct(p).Float64, 1e-6, "%s: %s", name, id)
		}
	}
	check("subscribers' churn_percentile", isSub, func(p pred) (float64, bool) { return p.pc.Float64, p.pc.Valid },
		func(p pred) sql.NullFloat64 { return p.churnPct })
	check("subscribers' clv_percentile", isSub, func(p pred) (float64, bool) { return p.rclv.Float64, p.rclv.Valid },
		func(p pred) sql.NullFloat64 { return p.clvPct })
	check("buyers' clv_percentile", isBuyer, func(p pred) (float64, bool) { return p.clv.Float64, p.clv.Valid },
		func(p pred) sql.NullFloat64 { return p.clvPct })
	buyers, tierA := 0, 0
	for id, p := range got {
		if isBuyer(id) {
			buyers++
			if p.tier == "A" {
				tierA++
			}
		}
	}
	assert.Equal(t, (buyers+4)/5, tierA, "the top 20 %% of the buyers are tier A")

	multi := got["M-multi"]
	assert.Equal(t, "active", multi.status.String, "a cancel of one subscription leaves the account active")
	assert.Equal(t, "2026-12-20", multi.renewal.String[:10], "the active subscription's period end")
	assert.Equal(t, string(subscription.NewSubscriber), multi.stage)
	assert.InDelta(t, 12*multi.derl.Float64, multi.rclv.Float64, 0.01, "residual CLV of the active subscription only")
	assert.Equal(t, "2026-03-01", got["M-given"].renewal.String[:10])
	assert.Equal(t, string(subscription.Active), got["M-given"].stage)
	bought := got["M-bought"]
	assert.Equal(t, string(subscription.NewSubscriber), bought.stage)
	assert.True(t, bought.rfm.Valid && bought.pa.Valid, "a subscriber's purchases keep their buyer columns")
	later := got["M-later"]
	assert.True(t, lifecycle.Valid(lifecycle.Stage(later.stage)), "subscribes after the as-of day: a buyer tonight")
	assert.False(t, later.status.Valid)
	assert.True(t, later.pa.Valid && !math.IsNaN(later.pa.Float64))
	assert.Equal(t, string(lifecycle.Prospect), got["M-usage"].stage)
	assert.False(t, got["M-usage"].status.Valid)
}
