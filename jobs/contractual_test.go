package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/models/sbg"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestDemoContractual runs the contractual demo (5,000 customers, seed 1)
// and checks the acceptance: every subscriber stage is published
// with its labels, the subscription columns are filled for subscribers and
// null for buyers, the sBG recovers the generator's α = 1, β = 6 within 3
// standard errors, and the supervised cancel model beats both "days to
// period end" and the sBG alone on the held-out subscribers.
func TestDemoContractual(t *testing.T) {
	dir := t.TempDir()
	res, err := jobs.DemoContractual(context.Background(), jobs.DemoConfig{Dir: dir, Customers: 5000, Seed: 1}, pipeline.Options{})
	require.NoError(t, err)
	assert.Positive(t, res.Synth.Buyers, "a mixed history")
	db := openDB(t, res.DB)
	for _, l := range subscription.Labels() {
		assert.Positive(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = ?`, string(l.Code)), l.Code)
		assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM stage_labels WHERE code = ? AND label_zh <> ''`, string(l.Code)), l.Code)
	}
	// Subscribers ("S…") all have a status; buyers ("B…") none.
	assert.Equal(t, int(res.Synth.Subscribers), count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status IS NOT NULL`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE customer_id LIKE 'B%' AND subscription_status IS NOT NULL`))
	// Active subscribers: renewal date, P(renew), DERL and residual CLV.
	active := count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'`)
	require.Positive(t, active)
	assert.Equal(t, active, count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'
		AND renewal_date >= as_of AND p_renew_next > 0 AND p_renew_next < 1 AND expected_residual_lifetime > 0 AND residual_clv > 0
		AND churn_probability IS NOT NULL AND segment IS NOT NULL`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage IN ('trial', 'trial_expired') AND p_renew_next IS NOT NULL`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'cancelled' AND residual_clv <> 0`))

	subs := res.Nightly.Run.Details["subscriptions"].(map[string]any)
	fit, ok := subs["retention"].(sbg.FitResult)
	require.True(t, ok)
	// synth.DefaultContractual: α = 1.0, β = 6.0.
	for name, want := range map[string]float64{"alpha": 1.0, "beta": 6.0} {
		assert.InDelta(t, want, fit.Params[name], 3*fit.StdErr[name], "%s = %.3f ± %.3f", name, fit.Params[name], fit.StdErr[name])
	}
	rep := subs["cancel_model"].(pipeline.SubscriberChurnReport)
	t.Logf("cancel model: %+v", rep)
	assert.Empty(t, rep.Skipped)
	assert.Greater(t, rep.AUC, rep.AUCDaysToEnd+0.05, "beats days to period end")
	assert.Greater(t, rep.AUC, rep.AUCSBG+0.05, "beats the sBG alone")
	assert.Less(t, rep.ECE, 0.05, "calibrated")
}

// TestTrainContractualCancelModel: `train` on a synthetic subscription
// history also trains the subscribers' cancel model on point-in-time
// snapshots, which beats "days to period end" and the sBG alone on its test
// snapshot and is stored in the registry version; the nightly then scores
// the subscribers with the champion's cancel model and says so. A champion
// without one (an older registry version) makes the night fit its own and
// record why; one expecting other columns or another horizon is an error;
// a stored baseline (what train keeps when the candidate loses) scores.
func TestTrainContractualCancelModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.parquet")
	start, end := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	_, err := jobs.SynthContractual(ctx, jobs.SynthConfig{Customers: 5000, Start: start, End: end, Seed: 1, Out: hist}, nil)
	require.NoError(t, err)
	in := pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	regDir := filepath.Join(dir, "models")
	rep, err := jobs.Train(ctx, jobs.TrainConfig{Input: in, TrainConfig: pipeline.TrainConfig{AsOf: end, HorizonDays: 90, Registry: regDir}}, pipeline.Options{})
	require.NoError(t, err)
	require.NotNil(t, rep.CancelModel)
	cr := rep.CancelModel
	t.Logf("cancel model: %s", cr.Verdict)
	require.Empty(t, cr.Skipped)
	assert.True(t, cr.BeatsBaselines, cr.Verdict)
	assert.Equal(t, cancel.KindLogit, cr.Kind)
	lg := cr.Candidate(cancel.KindLogit)
	require.NotNil(t, lg)
	for _, kind := range []string{cancel.KindDaysToEnd, cancel.KindSBG} {
		b := cr.Candidate(kind)
		require.NotNil(t, b, kind)
		assert.Greater(t, lg.AUC, b.AUC+0.05, "test AUC vs %s", kind)
		assert.Less(t, lg.Brier, b.Brier, "test Brier vs %s", kind)
	}
	assert.Less(t, lg.ECE, 0.05)
	assert.Positive(t, cr.TestPositives)
	// The snapshots: test = as-of − 30 days, validation 30 days before, training before that.
	assert.Equal(t, "2025-12-01", cr.TestSnapshot)
	assert.Equal(t, []string{"2025-12-01", "2025-11-01", "2025-10-02"}, cr.TestSnapshots, "3 rolling origins, one horizon apart")
	for _, kind := range []string{cancel.KindLogit, cancel.KindDaysToEnd, cancel.KindSBG} {
		assert.Len(t, cr.Candidate(kind).Folds, 3, kind)
	}
	assert.Equal(t, "2025-11-01", cr.ValidationSnapshot)
	require.NotEmpty(t, cr.TrainSnapshots)
	assert.Less(t, cr.TrainSnapshots[len(cr.TrainSnapshots)-1], cr.ValidationSnapshot)

	reg, err := registry.Open(regDir)
	require.NoError(t, err)
	art, err := reg.Load(registry.Champion)
	require.NoError(t, err)
	require.Equal(t, rep.ModelVersion, art.Version)
	require.NotEmpty(t, art.CancelModel, "the version stores the cancel model")
	var cm cancel.Model
	require.NoError(t, json.Unmarshal(art.CancelModel, &cm))
	assert.Equal(t, cancel.KindLogit, cm.Kind)

	night := func(name string, sub pipeline.SubscriptionOptions) (pipeline.SubscriberChurnReport, *sql.DB, error) {
		db := filepath.Join(dir, name+".db")
		res, err := jobs.Nightly(ctx, jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{Input: in, AsOf: end, DB: "sqlite:" + db,
			Registry: regDir, Subscriptions: sub}}, pipeline.Options{})
		if err != nil {
			return pipeline.SubscriberChurnReport{}, nil, err
		}
		subs, ok := res.Run.Details["subscriptions"].(map[string]any)
		require.True(t, ok)
		r, ok := subs["cancel_model"].(pipeline.SubscriberChurnReport)
		require.True(t, ok)
		return r, openDB(t, db), nil
	}
	activeScored := `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active' AND churn_probability > 0 AND churn_probability < 1 AND COALESCE(model_version, '') = ?`

	// 1. The champion's cancel model scores the night.
	r, db, err := night("champion", pipeline.SubscriptionOptions{})
	require.NoError(t, err)
	assert.Equal(t, "champion "+rep.ModelVersion, r.Source)
	assert.Equal(t, cancel.KindLogit, r.Kind)
	assert.Empty(t, r.Reason)
	assert.InDelta(t, lg.AUC, r.AUC, 1e-12, "the recorded figures are the training test snapshots'")
	assert.Equal(t, cr.TestSnapshots, r.TestSnapshots)
	active := count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'`)
	require.Positive(t, active)
	assert.Equal(t, active, count(t, db, activeScored, rep.ModelVersion))

	// A night configured for another horizon refuses the champion's model.
	_, _, err = night("horizon", pipeline.SubscriptionOptions{HorizonDays: 60})
	require.ErrorIs(t, err, pipeline.ErrRegistry)
	assert.Contains(t, err.Error(), "within 30 days")

	// 2. An old-format version (no cancel_model key) as champion: fitted tonight, recorded.
	old := *art
	old.Version, old.CreatedAt, old.CancelModel = "", time.Time{}, nil
	vOld, err := reg.Register(&old)
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(regDir, "versions", vOld+".json"))
	require.NoError(t, err)
	require.NotContains(t, string(raw), "cancel_model")
	require.NoError(t, reg.SetAlias(registry.Champion, vOld, "test: an old version", true))
	r, db, err = night("old", pipeline.SubscriptionOptions{})
	require.NoError(t, err)
	assert.Equal(t, pipeline.CancelFittedTonight, r.Source)
	assert.Contains(t, r.Reason, vOld+" has no cancel model")
	assert.Empty(t, r.Skipped)
	assert.Equal(t, active, count(t, db, activeScored, ""), "still scored, by the model fitted tonight")

	// 3. A cancel model expecting other columns: a clear error.
	bad := cm
	bad.Features = append([]string{"days_to_renewal"}, cm.Features[1:]...)
	badArt := old
	badArt.Version, badArt.CancelModel = "", mustJSON(t, bad)
	vBad, err := reg.Register(&badArt)
	require.NoError(t, err)
	require.NoError(t, reg.SetAlias(registry.Champion, vBad, "test: other columns", true))
	_, _, err = night("bad", pipeline.SubscriptionOptions{})
	require.ErrorIs(t, err, pipeline.ErrRegistry)
	assert.ErrorIs(t, err, cancel.ErrFeatures)
	assert.Contains(t, err.Error(), "days_to_renewal")

	// 4. A stored baseline ("days to period end", calibrated): P(cancel) is
	// a function of the renewal date alone, decreasing with it.
	base := cancel.Model{Kind: cancel.KindDaysToEnd, Features: cm.Features, HorizonDays: 30, Platt: &calibrate.Platt{A: 0.1, B: -2},
		Report: cancel.Report{Kind: cancel.KindDaysToEnd, Verdict: "test baseline"}}
	baseArt := old
	baseArt.Version, baseArt.CancelModel = "", mustJSON(t, base)
	vBase, err := reg.Register(&baseArt)
	require.NoError(t, err)
	require.NoError(t, reg.SetAlias(registry.Champion, vBase, "test: a baseline cancel model", true))
	r, db, err = night("baseline", pipeline.SubscriptionOptions{})
	require.NoError(t, err)
	assert.Equal(t, "champion "+vBase, r.Source)
	assert.Equal(t, cancel.KindDaysToEnd, r.Kind)
	assert.Equal(t, active, count(t, db, activeScored, vBase))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM (SELECT renewal_date FROM customer_predictions WHERE subscription_status = 'active'
		GROUP BY renewal_date HAVING count(DISTINCT churn_probability) > 1)`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions a JOIN customer_predictions b
		ON a.subscription_status = 'active' AND b.subscription_status = 'active' AND a.renewal_date < b.renewal_date
		WHERE a.churn_probability <= b.churn_probability`))

	// 5. Training again against that champion (the same buyer model, the
	// baseline cancel model): both cancel models are scored on the
	// candidate's cancel test snapshots and the logistic one is promoted.
	tc := jobs.TrainConfig{Input: in, TrainConfig: pipeline.TrainConfig{AsOf: end, HorizonDays: 90, Registry: regDir}}
	rep5, err := jobs.Train(ctx, tc, pipeline.Options{})
	require.NoError(t, err)
	require.NotNil(t, rep5.Promotion)
	t.Logf("train against the baseline champion: %s", rep5.Promotion.Reason)
	assert.True(t, rep5.Promotion.Promote, rep5.Promotion.Reason)
	assert.Contains(t, rep5.Promotion.Reason, "buyer model: candidate AUC")
	assert.Contains(t, rep5.Promotion.Reason, "vs champion "+vBase+"'s")
	assert.Contains(t, rep5.Promotion.Reason, "both scored on the candidate's test snapshots 2025-12-01, 2025-11-01")
	assert.Equal(t, rep5.ModelVersion, rep5.Champion)
	saved, err := reg.LoadCancelTests(rep5.ModelVersion)
	require.NoError(t, err)
	assert.Len(t, saved.Snapshots, 3)

	// 6. A train without the cancel model does not replace a champion with
	// one (the subscribers would lose it), unless forced.
	tc.Subscriptions.Disabled = true
	rep6, err := jobs.Train(ctx, tc, pipeline.Options{})
	require.NoError(t, err)
	require.NotNil(t, rep6.Promotion)
	assert.False(t, rep6.Promotion.Promote, rep6.Promotion.Reason)
	assert.Contains(t, rep6.Promotion.Reason, "cancel model: the candidate has no cancel model and champion "+rep5.ModelVersion+" has one")
	assert.Equal(t, rep5.ModelVersion, rep6.Champion)
	tc.Force = true
	rep7, err := jobs.Train(ctx, tc, pipeline.Options{})
	require.NoError(t, err)
	assert.True(t, rep7.Promotion.Promote)
	assert.True(t, rep7.Promotion.Forced)
	assert.Equal(t, rep7.ModelVersion, rep7.Champion)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
