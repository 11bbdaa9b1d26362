package jobs_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/pipeline"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// writeSubscriberOnly writes a synthetic subscription history without one-off
// buyers (the contractual generator with BuyerShare 0): a pure subscription
// business.
func writeSubscriberOnly(t *testing.T, path string, customers int, start, end time.Time) synth.ContractualStats {
	t.Helper()
	cfg := synth.DefaultContractual(customers, start, end, 1)
	cfg.BuyerShare = 0
	require.NoError(t, cfg.Validate())
	fw, err := data.CreateFile(path, data.EventSchema, data.WriteOptions{Alloc: memory.DefaultAllocator})
	require.NoError(t, err)
	st, err := synth.GenerateContractual(context.Background(), cfg, memory.DefaultAllocator, func(rec arrow.RecordBatch) error { return fw.Write(rec) })
	require.NoError(t, err)
	require.NoError(t, fw.Close())
	return st
}

// TestTrainSubscriberOnly: `train` on a history of subscribers only (too few
// one-off buyers for the buyer churn model) stores a cancel-only version and
// says so; it becomes the champion; two consecutive nightlies score the
// subscribers with its cancel model ("champion vN"), leave the churn columns
// of non-subscribers null, and no gate blocks them (the churn_columns gate
// had no buyer churn scores to lose); a second train is promoted by the
// cancel models' rule; the report and the retrain check say there is no
// buyer model.
func TestTrainSubscriberOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.parquet")
	start, end := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	st := writeSubscriberOnly(t, hist, 5000, start, end)
	require.Zero(t, st.Buyers, "no one-off buyer")
	require.Positive(t, st.Subscribers)
	in := pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")}
	regDir := filepath.Join(dir, "models")
	tc := jobs.TrainConfig{Input: in, TrainConfig: pipeline.TrainConfig{AsOf: end, HorizonDays: 90, Registry: regDir}}

	rep, err := jobs.Train(ctx, tc, pipeline.Options{})
	require.NoError(t, err, "the cancel model alone makes a version")
	t.Logf("buyer model: %s", rep.BuyerModel)
	assert.Equal(t, string(registry.KindNone), rep.ModelKind)
	assert.Contains(t, rep.BuyerModel, "not trained")
	assert.Contains(t, rep.BuyerModel, "need at least 500")
	require.NotNil(t, rep.CancelModel)
	require.Empty(t, rep.CancelModel.Skipped)
	assert.True(t, rep.CancelModel.BeatsBaselines, rep.CancelModel.Verdict)
	require.NotEmpty(t, rep.ModelVersion)
	require.NotNil(t, rep.Promotion)
	assert.True(t, rep.Promotion.Promote, rep.Promotion.Reason)
	assert.False(t, rep.Promotion.Forced)
	assert.Equal(t, rep.ModelVersion, rep.Champion)

	reg, err := registry.Open(regDir)
	require.NoError(t, err)
	art, err := reg.Load(registry.Champion)
	require.NoError(t, err)
	assert.Equal(t, rep.ModelVersion, art.Version)
	assert.Equal(t, registry.KindNone, art.Kind)
	assert.False(t, art.HasBuyerModel())
	assert.NotEmpty(t, art.CancelModel)
	assert.Empty(t, art.FeatureNames)

	// Two consecutive nights on one database.
	db := filepath.Join(dir, "crm.db")
	for k, asOf := range []time.Time{end.AddDate(0, 0, -1), end} {
		res, err := jobs.Nightly(ctx, jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{Input: in, AsOf: asOf, DB: "sqlite:" + db,
			Registry: regDir}}, pipeline.Options{})
		require.NoError(t, err, "night %d", k)
		assert.NotEqual(t, gate.Block, res.Gates.Status, "night %d: %+v", k, res.Gates)
		var cc *gate.Result
		for i := range res.Gates.Results {
			assert.NotEqual(t, gate.Block, res.Gates.Results[i].Status, "night %d: %s: %s", k, res.Gates.Results[i].Name, res.Gates.Results[i].Message)
			if res.Gates.Results[i].Name == pipeline.CheckChurnColumns {
				cc = &res.Gates.Results[i]
			}
		}
		require.NotNil(t, cc, "night %d has the churn_columns check", k)
		if k == 1 { // night 0 is the last succeeded run
			assert.Contains(t, cc.Message, "holds only the subscribers' cancel model), none in the last succeeded run either")
		}
		assert.NotContains(t, res.Run.Details, "model_version", "no buyer churn scores")
		subs, ok := res.Run.Details["subscriptions"].(map[string]any)
		require.True(t, ok)
		r, ok := subs["cancel_model"].(pipeline.SubscriberChurnReport)
		require.True(t, ok)
		assert.Equal(t, "champion "+rep.ModelVersion, r.Source, "night %d", k)
		assert.Empty(t, r.Reason)
		assert.Contains(t, res.Run.Details["retrain_check"], "no buyer churn model")

		sdb := openDB(t, db)
		active := count(t, sdb, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'`)
		require.Positive(t, active)
		assert.Equal(t, active, count(t, sdb, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'
			AND churn_probability > 0 AND churn_probability < 1 AND model_version = ?`, rep.ModelVersion))
		assert.Zero(t, count(t, sdb, `SELECT count(*) FROM customer_predictions WHERE subscription_status IS NULL AND churn_probability IS NOT NULL`))
	}

	// The retrain check and the report say there is no buyer model.
	adv, err := jobs.CheckRetrain(ctx, jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{Registry: regDir, DB: "sqlite:" + db}})
	require.NoError(t, err)
	assert.False(t, adv.Recommended)
	assert.Contains(t, adv.Reason, "no buyer churn model")
	_, err = jobs.ChurnReport(regDir, registry.Champion, filepath.Join(dir, "report"))
	require.ErrorIs(t, err, pipeline.ErrNoBuyerModel)
	assert.Equal(t, jobs.ExitUsage, jobs.ExitCode(err))

	// A second train on the same history: the cancel models' rule (same mean test AUC) promotes it.
	rep2, err := jobs.Train(ctx, tc, pipeline.Options{})
	require.NoError(t, err)
	require.NotNil(t, rep2.Promotion)
	assert.True(t, rep2.Promotion.Promote, rep2.Promotion.Reason)
	assert.Contains(t, rep2.Promotion.Reason, "cancel model mean test AUC")
	assert.Contains(t, rep2.Promotion.Reason, "both scored on the candidate's test snapshots", "the champion's cancel model is re-scored on the candidate's rows")
	assert.Equal(t, rep2.ModelVersion, rep2.Champion)

	// The candidate's cancel test rows are saved with it; a version holding
	// the calibrated days_to_period_end baseline instead of the logistic
	// model is clearly worse on them and refused by models promote.
	tests, err := reg.LoadCancelTests(rep2.ModelVersion)
	require.NoError(t, err)
	require.Len(t, tests.Snapshots, len(rep2.CancelModel.TestSnapshots))
	champ, err := reg.Load(registry.Champion)
	require.NoError(t, err)
	cm, err := registry.CancelModelOf(champ)
	require.NoError(t, err)
	require.Equal(t, cancel.KindLogit, cm.Kind)
	require.Greater(t, cm.Report.Candidate(cancel.KindLogit).AUC, cm.Report.Candidate(cancel.KindDaysToEnd).AUC+0.02,
		"the logistic cancel model clearly beats the days-to-period-end baseline")
	worse := *cm
	worse.Kind, worse.Logit = cancel.KindDaysToEnd, nil
	older := tests.Snapshots[len(tests.Snapshots)-1]
	z := make([]float64, len(older.X))
	for i, x := range older.X {
		z[i] = -x[slices.Index(worse.Features, cancel.FeatureDaysToEnd)]
	}
	worse.Platt, err = calibrate.FitPlatt(z, older.Y, nil, false)
	require.NoError(t, err)
	worse.Report.Kind = cancel.KindDaysToEnd
	require.NoError(t, worse.Validate())
	wb, err := json.Marshal(&worse)
	require.NoError(t, err)
	wa := *champ
	wa.CancelModel = wb
	vWorse, err := reg.Register(&wa)
	require.NoError(t, err)
	require.NoError(t, reg.SaveCancelTests(vWorse, tests))
	d, err := reg.Promote(vWorse, "", registry.DefaultRule, false)
	require.NoError(t, err)
	t.Logf("second train: %s; the baseline: %s", rep2.Promotion.Reason, d.Reason)
	assert.False(t, d.Promote, d.Reason)
	assert.Contains(t, d.Reason, "cancel model: candidate mean test AUC")
	assert.Contains(t, d.Reason, "below it")

	// A champion whose report claims a high AUC on easy snapshots of its own
	// (the same weak baseline): the next train scores it on the candidate's
	// snapshots, where it is worse, and promotes the candidate.
	claim := worse
	claim.Report = cancel.Report{HorizonDays: worse.HorizonDays, Kind: cancel.KindDaysToEnd, TestSnapshot: "2025-03-01", TestSnapshots: []string{"2025-03-01"},
		Candidates: []cancel.Candidate{{Kind: cancel.KindDaysToEnd, Baseline: true, AUC: 0.995, ECE: 0.01,
			Folds: []cancel.FoldFigures{{TestSnapshot: "2025-03-01", AUC: 0.995, ECE: 0.01}}}}}
	require.Greater(t, claim.Report.Candidate(cancel.KindDaysToEnd).AUC, rep2.CancelModel.Candidate(rep2.CancelModel.Kind).AUC+0.005,
		"recorded figures alone would keep this champion")
	ca := *champ
	ca.CancelModel, err = json.Marshal(&claim)
	require.NoError(t, err)
	vClaim, err := reg.Register(&ca)
	require.NoError(t, err)
	require.NoError(t, reg.SetAlias(registry.Champion, vClaim, "test: a champion claiming a high AUC", true))
	rep3, err := jobs.Train(ctx, tc, pipeline.Options{})
	require.NoError(t, err)
	t.Logf("against the claiming champion: %s", rep3.Promotion.Reason)
	assert.True(t, rep3.Promotion.Promote, rep3.Promotion.Reason)
	assert.False(t, rep3.Promotion.Forced)
	assert.Contains(t, rep3.Promotion.Reason, "vs champion "+vClaim+"'s")
	assert.Contains(t, rep3.Promotion.Reason, "both scored on the candidate's test snapshots")
	assert.Equal(t, rep3.ModelVersion, rep3.Champion)
}
