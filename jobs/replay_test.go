package jobs_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestReplayMonthCDNOW replays January 1998 night by night on the CDNOW
// sample (2,357 real customers) with a champion churn model trained as of
// 1997-12-31, then runs 1998-05-01, when every January night is a 90-day
// horizon old (the January runs evaluate nothing: no night is old enough). It checks, against independent recomputations from the
// history table and the raw CSV:
//   - customer_alerts counts equal the stage and risk changes between
//     consecutive history nights (a SQL self-join of the history);
//   - stage_since is the first night of the current stage run in history;
//   - prediction_outcomes (AUC, Brier, ECE, lift@10 %, churn rates,
//     purchases and spend, stage accuracy) equal a recomputation from the
//     published predictions and the CSV's events.
func TestReplayMonthCDNOW(t *testing.T) {
	if testing.Short() {
		t.Skip("32 nightly runs on the CDNOW sample")
	}
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	ctx := context.Background()
	dir := t.TempDir()
	reg := filepath.Join(dir, "models")
	in := pipeline.Input{Path: csvPath, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	_, err := jobs.Train(ctx, jobs.TrainConfig{Input: in, TrainConfig: pipeline.TrainConfig{
		AsOf: time.Date(1997, 12, 31, 0, 0, 0, 0, time.UTC), Registry: reg, Seed: 1, Force: true}}, pipeline.Options{})
	require.NoError(t, err)

	dbPath := filepath.Join(dir, "replay.db")
	var nights []time.Time
	for d := time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC); d.Month() == time.January; d = d.AddDate(0, 0, 1) {
		nights = append(nights, d)
	}
	last := time.Date(1998, 5, 1, 0, 0, 0, 0, time.UTC)
	alertsByNight := map[string]map[string]int{}
	var lastRes pipeline.NightlyResult
	for _, d := range append(nights, last) {
		cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{Input: in, AsOf: d, DB: "sqlite:" + dbPath,
			Registry: reg, Outcomes: pipeline.OutcomeOptions{MaxNights: 40},
			// CDNOW is one acquisition cohort: its tenure features drift past the
			// training reference (PSI gate) as the nights move on.
			ForcePublish: true}}
		res, err := jobs.Nightly(ctx, cfg, pipeline.Options{})
		require.NoError(t, err, d)
		alertsByNight[d.Format(time.DateOnly)] = res.Alerts
		lastRes = res
	}
	db := openDB(t, dbPath)

	// 1. Alerts = changes between consecutive history nights.
	type key struct{ night, alert string }
	stored := map[key]int{}
	rows, err := db.Query(`SELECT as_of, alert, count(*) FROM customer_alerts GROUP BY 1, 2`)
	require.NoError(t, err)
	for rows.Next() {
		var n, a string
		var c int
		require.NoError(t, rows.Scan(&n, &a, &c))
		stored[key{n, a}] = c
	}
	require.NoError(t, rows.Err())
	rows.Close()
	recomputed := map[key]int{}
	rows, err = db.Query(`
WITH nights AS (SELECT DISTINCT as_of FROM customer_predictions_history),
pairs AS (SELECT n.as_of AS cur, (SELECT max(p.as_of) FROM nights p WHERE p.as_of < n.as_of) AS prev FROM nights n)
SELECT pr.cur,
  sum(c.churn_risk = 'high' AND o.churn_risk IS NOT NULL AND o.churn_risk <> 'high'),
  sum(c.churn_risk = 'high' AND c.value_tier IN ('A', 'B') AND o.churn_risk IS NOT NULL
      AND NOT (o.churn_risk = 'high' AND o.value_tier IN ('A', 'B'))),
  sum(c.lifecycle_stage = 'declining' AND o.lifecycle_stage <> 'declining'),
  sum(c.lifecycle_stage = 'dormant' AND o.lifecycle_stage <> 'dormant'),
  sum(c.lifecycle_stage = 'reactivated' AND o.lifecycle_stage <> 'reactivated')
FROM pairs pr
JOIN customer_predictions_history c ON c.as_of = pr.cur
JOIN customer_predictions_history o ON o.as_of = pr.prev AND o.customer_id = c.customer_id
GROUP BY pr.cur`)
	require.NoError(t, err)
	codes := []string{pipeline.AlertRiskHigh, pipeline.AlertHighValueAtRisk, pipeline.AlertEnteredDeclining,
		pipeline.AlertEnteredDormant, pipeline.AlertReactivated}
	for rows.Next() {
		var n string
		v := make([]int, 5)
		require.NoError(t, rows.Scan(&n, &v[0], &v[1], &v[2], &v[3], &v[4]))
		for i, c := range codes {
			if v[i] > 0 {
				recomputed[key{n, c}] = v[i]
			}
		}
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Equal(t, recomputed, stored, "customer_alerts = changes in history")
	total := map[string]int{}
	for k, c := range stored {
		total[k.alert] += c
		assert.Equal(t, c, alertsByNight[k.night][k.alert], "run result of %s", k.night)
	}
	t.Logf("alerts over the replay: %v", total)
	for _, c := range []string{pipeline.AlertRiskHigh, pipeline.AlertEnteredDormant, pipeline.AlertReactivated} {
		assert.Positive(t, total[c], "a month of CDNOW nights has %s alerts", c)
	}
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_alerts WHERE as_of = '1998-01-01'`), "the first night has no previous night")

	// 2. stage_since carried through history.
	type run struct {
		stage, since string
	}
	cur := map[string]run{}
	rows, err = db.Query(`SELECT as_of, customer_id, lifecycle_stage, stage_since FROM customer_predictions_history ORDER BY as_of`)
	require.NoError(t, err)
	checked := 0
	for rows.Next() {
		var n, id, st, since string
		require.NoError(t, rows.Scan(&n, &id, &st, &since))
		r, ok := cur[id]
		if !ok || r.stage != st {
			r = run{st, n}
		}
		cur[id] = r
		require.Equal(t, r.since, since, "stage_since of %s on %s", id, n)
		checked++
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Equal(t, 32*2357, checked)

	// 3. prediction_outcomes = a recomputation from history and the raw events.
	ev := readEvents(t, csvPath)
	assert.Equal(t, 31, count(t, db, `SELECT count(DISTINCT as_of) FROM prediction_outcomes`), "every January night evaluated")
	assert.Zero(t, count(t, db, `SELECT count(*) FROM prediction_outcomes WHERE as_of > '1998-01-31'`), "nights younger than a horizon wait")
	for _, n := range nights {
		checkOutcome(t, db, ev, n)
	}
	require.Len(t, lastRes.Outcomes, 31, "the 1998-05-01 run evaluated the 31 January nights, now a horizon old")
	assert.Equal(t, "1998-01-31", lastRes.Outcomes[0].AsOf.Format(time.DateOnly), "newest first")
	assert.NotEmpty(t, lastRes.Retrain.Reason)
	t.Logf("retrain advice: %+v", lastRes.Retrain)
}

// events is the CSV's purchases: per customer, the amounts by day.
type events map[string]map[string]float64

func readEvents(t *testing.T, path string) events {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	require.NoError(t, err)
	require.Equal(t, []string{"customer_id", "event_time", "event_type", "amount"}, head)
	out := events{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Equal(t, "purchase", rec[2])
		amt, err := strconv.ParseFloat(rec[3], 64)
		require.NoError(t, err)
		if out[rec[0]] == nil {
			out[rec[0]] = map[string]float64{}
		}
		out[rec[0]][rec[1][:10]] += amt
	}
	return out
}

// window returns purchase days and spend in (from, to].
func (e events) window(id string, from, to time.Time) (days int, spend float64) {
	a, b := from.Format(time.DateOnly), to.Format(time.DateOnly)
	for d, amt := range e[id] {
		if d > a && d <= b {
			days++
			spend += amt
		}
	}
	return days, spend
}

func checkOutcome(t *testing.T, db *sql.DB, ev events, night time.Time) {
	t.Helper()
	n := night.Format(time.DateOnly)
	end := night.AddDate(0, 0, 90)
	type row struct {
		id           string
		p, ep, avg   sql.NullFloat64
		y            float64
		days         int
		spend        float64
		pstage, real sql.NullString
	}
	rs, err := db.Query(`SELECT h.customer_id, h.churn_probability, h.expected_purchases_90d, h.expected_avg_spend,
	h.predicted_stage, e.lifecycle_stage
	FROM customer_predictions_history h LEFT JOIN customer_predictions_history e ON e.as_of = ? AND e.customer_id = h.customer_id
	WHERE h.as_of = ? AND h.days_since_last_purchase IS NOT NULL`, end.Format(time.DateOnly), n)
	require.NoError(t, err)
	var all []row
	for rs.Next() {
		var r row
		require.NoError(t, rs.Scan(&r.id, &r.p, &r.ep, &r.avg, &r.pstage, &r.real))
		r.days, r.spend = ev.window(r.id, night, end)
		if r.days == 0 {
			r.y = 1
		}
		all = append(all, r)
	}
	require.NoError(t, rs.Err())
	rs.Close()
	require.Equal(t, 2357, len(all), "every CDNOW customer is a buyer")

	// Pairwise AUC (ties one half), Brier, right-closed 10-bin ECE, lift of the top ⌈10 %⌉ by (p desc, id).
	var pos, neg []float64
	var brier, predP, realP, predS, realS, churned float64
	for _, r := range all {
		require.True(t, r.p.Valid)
		if r.y == 1 {
			pos = append(pos, r.p.Float64)
		} else {
			neg = append(neg, r.p.Float64)
		}
		brier += (r.p.Float64 - r.y) * (r.p.Float64 - r.y)
		churned += r.y
		predP += r.ep.Float64
		realP += float64(r.days)
		predS += r.ep.Float64 * r.avg.Float64
		realS += r.spend
	}
	var wins float64
	for _, a := range pos {
		for _, b := range neg {
			switch {
			case a > b:
				wins++
			case a == b:
				wins += 0.5
			}
		}
	}
	auc := wins / float64(len(pos)*len(neg))
	var cnt, sp, sy [10]float64
	for _, r := range all {
		b := int(math.Ceil(r.p.Float64*10)) - 1
		b = max(0, min(9, b))
		cnt[b]++
		sp[b] += r.p.Float64
		sy[b] += r.y
	}
	var ece float64
	for b := range cnt {
		if cnt[b] > 0 {
			ece += math.Abs(sp[b]-sy[b]) / float64(len(all))
		}
	}
	sorted := append([]row(nil), all...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].p.Float64 != sorted[j].p.Float64 {
			return sorted[i].p.Float64 > sorted[j].p.Float64
		}
		return sorted[i].id < sorted[j].id
	})
	k := int(math.Ceil(0.1 * float64(len(all))))
	var top float64
	for _, r := range sorted[:k] {
		top += r.y
	}
	lift := (top / float64(k)) / (churned / float64(len(all)))

	var got struct {
		customers                                   int
		auc, brier, ece, lift, rate, pp, rp, ps, rs float64
		stageN                                      int
		acc                                         sql.NullFloat64
		version                                     string
	}
	require.NoError(t, db.QueryRow(`SELECT customers, churn_auc, churn_brier, churn_ece, churn_lift_10, realized_churn_rate,
	predicted_purchases, realized_purchases, predicted_spend, realized_spend, stage_customers, stage_accuracy, model_version
	FROM prediction_outcomes WHERE as_of = ? AND clv_decile = 0`, n).Scan(&got.customers, &got.auc, &got.brier, &got.ece,
		&got.lift, &got.rate, &got.pp, &got.rp, &got.ps, &got.rs, &got.stageN, &got.acc, &got.version), n)
	assert.Equal(t, len(all), got.customers, n)
	assert.InDelta(t, auc, got.auc, 1e-9, "AUC %s", n)
	assert.InDelta(t, brier/float64(len(all)), got.brier, 1e-9, "Brier %s", n)
	assert.InDelta(t, ece, got.ece, 1e-9, "ECE %s", n)
	assert.InDelta(t, lift, got.lift, 1e-9, "lift@10 %% %s", n)
	assert.InDelta(t, churned/float64(len(all)), got.rate, 1e-12, n)
	assert.InDelta(t, predP, got.pp, 1e-6, n)
	assert.InDelta(t, realP, got.rp, 1e-9, n)
	assert.InDelta(t, predS, got.ps, 1e-6, n)
	assert.InDelta(t, realS, got.rs, 1e-6, n)
	assert.NotEqual(t, "none", got.version)
	// The stage 90 days later is published only for the last January night (1998-05-01).
	if all[0].real.Valid {
		hit := 0
		for _, r := range all {
			if r.pstage.String == r.real.String {
				hit++
			}
		}
		assert.InDelta(t, float64(hit)/float64(len(all)), got.acc.Float64, 1e-12, "stage accuracy %s", n)
		t.Logf("%s: AUC %.4f Brier %.4f ECE %.4f lift %.2f churn %.3f purchases %.0f/%.0f spend %.0f/%.0f stage accuracy %.3f",
			n, got.auc, got.brier, got.ece, got.lift, got.rate, got.pp, got.rp, got.ps, got.rs, got.acc.Float64)
	}
	// Deciles partition the night's buyers.
	assert.Equal(t, len(all), count(t, db, `SELECT CAST(sum(customers) AS INTEGER) FROM prediction_outcomes WHERE as_of = ? AND clv_decile > 0`, n))
}
