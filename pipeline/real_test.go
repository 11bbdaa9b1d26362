package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline"
)

// peerFigures are the mean test AUCs of bench/peer/churn_peer.py on the
// same folds, from testdata/churn_peer/<name>.json (written by the
// commands in the README's churn-model section).
type peerFigures struct {
	Logreg  float64 `json:"logreg_mean_test_auc"`
	XGBoost float64 `json:"xgboost_mean_test_auc"`
	Folds   []struct {
		TestSnapshot string `json:"test_snapshot"`
	} `json:"folds"`
}

// TestRealHistoriesChurnTargets is issue 13's suite on the shared real
// histories: rolling-origin folds, the never-promote-a-loser rule, bounded
// and calibrated probabilities, the stage model above "stays the same", and
// — where the learnt model is promoted — the AUC target over the best of
// the baselines and the peers on the same test snapshots.
func TestRealHistoriesChurnTargets(t *testing.T) {
	cases := []struct {
		name, path, asOf string
		// promoted: whether a learnt model beats the baselines here (measured,
		// see the README table); a history that met the targets must keep
		// meeting them, one that did not must keep a baseline champion.
		promoted bool
		// meetsAUC: whether the promoted model's mean test AUC reaches the
		// best of the baselines and the peers + 0.005 (measured, README
		// table); the suite fails when that changes either way, so a gain is
		// recorded and a loss is seen.
		meetsAUC bool
	}{
		// Our logit (0.8131) is 0.0018 above the tuned logistic peer (0.8113): below the +0.005.
		{"cdnow_sample", "cdnow/cdnow_sample_interactions.csv", "1998-06-30", true, false},
		// The blend (0.8090) beats both baselines, the peers by less than 0.005 (logreg 0.8079).
		{"cdnow_master", "cdnow_master/cdnow_master_interactions.csv", "1998-06-30", true, false},
		// One year of baskets: the folds' models train on snapshots with 1–4 months of
		// history and lose in Brier to the BG/NBD baseline on the older test snapshots.
		{"dunnhumby", "dunnhumby/completejourney_sample_interactions.csv", "2017-12-31", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// ../shared/data next to the repository root; the test runs in pipeline/.
			path := filepath.Join("..", "..", "shared", "data", c.path)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("shared real data absent (%s): %v", c.path, err)
			}
			if testing.Short() && c.name == "cdnow_master" {
				t.Skip("-short: 23,570 customers")
			}
			h, err := pipeline.LoadHistory(context.Background(), pipeline.Input{Path: path, MaxReject: 0.01,
				Quarantine: filepath.Join(t.TempDir(), "q.csv")}, pipeline.Options{})
			require.NoError(t, err)
			defer h.Release()
			asOf, _ := time.Parse(time.DateOnly, c.asOf)
			rep, model, err := pipeline.Train(context.Background(), h, pipeline.TrainConfig{AsOf: asOf, Seed: 1}, pipeline.Options{})
			require.NoError(t, err)
			sel := rep.Rolling
			require.NotNil(t, sel)
			require.GreaterOrEqual(t, len(sel.Folds), 2, "several test snapshots")

			// The rule, recomputed from the per-snapshot figures.
			chosen, best := sel.Kind(sel.Chosen), sel.Kind(sel.BestBaseline)
			beats := !chosen.Baseline
			for _, r := range sel.Kinds {
				require.Len(t, r.Test, len(sel.Folds), r.Kind)
				if r.Baseline && !chosen.Baseline {
					beats = beats && chosen.MeanAUC > r.MeanAUC && chosen.MeanBrier < r.MeanBrier
				}
				if r.Baseline && r.MeanAUC > best.MeanAUC {
					t.Errorf("best baseline %s, but %s has the higher mean test AUC", best.Kind, r.Kind)
				}
				if r.Baseline && r.MeanBrier < sel.Kind(sel.BaselineChampion).MeanBrier {
					t.Errorf("baseline champion %s, but %s has the lower mean test Brier", sel.BaselineChampion, r.Kind)
				}
			}
			assert.Equal(t, beats, rep.BeatsBaselines, rep.Verdict)
			if beats {
				assert.Equal(t, sel.Chosen, model.Kind)
			} else {
				assert.Equal(t, sel.BaselineChampion, model.Kind, "a loser is never promoted: the baseline of lowest mean test Brier is the champion")
				assert.Contains(t, rep.Verdict, "baseline")
			}
			assert.Equal(t, c.promoted, beats, "measured outcome on %s changed: %s", c.name, rep.Verdict)

			champ := sel.Kind(model.Kind)
			// A champion gbt or logit is refitted on the window ending on the
			// validation snapshot, and the report says so.
			refittable := model.Kind == churn.KindGBT || model.Kind == churn.KindLogit
			assert.Equal(t, refittable, champ.Refitted, "refitted champion %s", model.Kind)
			require.NotEmpty(t, rep.TrainSnapshots)
			assert.Equal(t, champ.Refitted, rep.TrainSnapshots[len(rep.TrainSnapshots)-1] == rep.ValidationSnapshot,
				"the reported training window (%v) is the one the champion was fitted on", rep.TrainSnapshots)
			assert.LessOrEqual(t, champ.MeanECE, 0.03, "mean test ECE of the champion")
			assert.Greater(t, rep.StageAccuracy, rep.StageBaselineAccuracy, "predicted stage beats 'stays the same'")
			for _, p := range rep.Evaluation.P {
				require.True(t, p >= churn.ProbFloor && p <= churn.ProbCeil, "published probability %v outside [%g, %g]", p, churn.ProbFloor, churn.ProbCeil)
			}
			if !beats {
				return
			}
			for _, r := range sel.Kinds {
				if r.Baseline {
					assert.Less(t, champ.MeanBrier, r.MeanBrier, "Brier below the %s baseline", r.Kind)
				}
			}
			target := best.MeanAUC
			b, err := os.ReadFile(filepath.Join("testdata", "churn_peer", c.name+".json"))
			if err == nil {
				var peer peerFigures
				require.NoError(t, json.Unmarshal(b, &peer))
				require.Len(t, peer.Folds, len(sel.Folds), "the peer ran on the same folds")
				for k, f := range peer.Folds {
					require.Equal(t, sel.Folds[k], f.TestSnapshot[:10], "the peer ran on the same test snapshots")
				}
				target = max(target, peer.Logreg, peer.XGBoost)
			} else {
				t.Logf("no peer figures for %s: the target is the best baseline only", c.name)
			}
			met := champ.MeanAUC >= target+0.005
			t.Logf("%s: %s mean test AUC %.4f, target %.4f + 0.005 (best of the baselines and the peers): met %v",
				c.name, model.Kind, champ.MeanAUC, target, met)
			assert.Equal(t, c.meetsAUC, met, "mean test AUC %.4f vs the target %.4f + 0.005: measured outcome changed", champ.MeanAUC, target)
		})
	}
}

// TestRealAttributesDunnhumby joins the dunnhumby demographics (801 of
// 2,405 households, categorical with NA) to the design matrix: the model
// records the attributes it expects, and a night without the file is a
// clear error.
func TestRealAttributesDunnhumby(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "dunnhumby")
	path, attrs := filepath.Join(dir, "completejourney_sample_interactions.csv"), filepath.Join(dir, "completejourney_demographics.csv")
	if _, err := os.Stat(attrs); err != nil {
		t.Skipf("shared real data absent: %v", err)
	}
	h, err := pipeline.LoadHistory(context.Background(), pipeline.Input{Path: path, MaxReject: 0.01,
		Quarantine: filepath.Join(t.TempDir(), "q.csv")}, pipeline.Options{})
	require.NoError(t, err)
	defer h.Release()
	reg := filepath.Join(t.TempDir(), "models")
	asOf := time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC)
	rep, model, err := pipeline.Train(context.Background(), h, pipeline.TrainConfig{AsOf: asOf, Seed: 1, Registry: reg, Attributes: attrs}, pipeline.Options{})
	require.NoError(t, err)
	require.NotNil(t, model.Attributes)
	assert.Equal(t, "household_id", model.Attributes.Key)
	assert.Contains(t, rep.Attributes, "attr_age=65+")
	assert.Contains(t, rep.Attributes, churn.AttrMissing)
	if model.Kind != rep.Rolling.BaselineChampion {
		assert.True(t, rep.BeatsBaselines, rep.Verdict)
	}

	_, err = pipeline.LoadChampionWith(reg, "")
	require.ErrorIs(t, err, pipeline.ErrAttributes)
	assert.Contains(t, err.Error(), "--attributes")
	ch, err := pipeline.LoadChampionWith(reg, attrs)
	require.NoError(t, err)
	assert.Equal(t, rep.ModelVersion, ch.Version)

	// The night scores with the attributes joined; without the file it stops before publishing.
	nc := pipeline.NightlyConfig{Input: pipeline.Input{Path: path, MaxReject: 0.01, Quarantine: filepath.Join(t.TempDir(), "q2.csv")},
		AsOf: asOf, DB: "sqlite:" + filepath.Join(t.TempDir(), "p.db"), Registry: reg, Attributes: attrs}
	res, err := pipeline.Nightly(context.Background(), nc, pipeline.Options{})
	require.NoError(t, err)
	assert.Equal(t, rep.ModelVersion, res.Run.Details["model_version"])
	nc.Attributes = ""
	_, err = pipeline.Nightly(context.Background(), nc, pipeline.Options{})
	assert.ErrorIs(t, err, pipeline.ErrAttributes)
}
