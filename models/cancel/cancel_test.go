package cancel_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/logit"
)

var names = []string{cancel.FeatureDaysToEnd, "visits_30d", cancel.FeatureSBG}

var opts = cancel.Options{Features: names, Transforms: []logit.Transform{logit.Identity, logit.Log1p, logit.Identity}, HorizonDays: 30}

func fold(test string, train, val, ts cancel.Set) cancel.Fold {
	return cancel.Fold{Test: test, Train: train, Val: val, TestSet: ts}
}

// rows draws n subscribers: days to the period end uniform on 0..30, visits
// Poisson-like around 8, the sBG's P(cancel next) on 0.05..0.3, labelled by
// a logistic law whose weights on (low visits, few days to the end) are
// wVisits and wDays.
func rows(r *rand.Rand, n int, wVisits, wDays float64) cancel.Set {
	var s cancel.Set
	for range n {
		dte := float64(r.IntN(31))
		visits := math.Floor(r.ExpFloat64() * 8)
		sbg := 0.05 + 0.25*r.Float64()
		z := -2.5 + wVisits*(2-math.Log1p(visits)) + wDays*(15-dte)/15
		y := 0.0
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
		}
		s.X = append(s.X, []float64{dte, visits, sbg})
		s.Y = append(s.Y, y)
	}
	return s
}

// TestTrainBeatsBaselines: cancellations driven by usage; the logistic
// model wins on the test rows, is stored, and predicts within the bounds.
func TestTrainBeatsBaselines(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, rep, err := cancel.Train([]cancel.Fold{fold("2025-12-01", rows(r, 4000, 2, 0.3), rows(r, 2000, 2, 0.3), rows(r, 2000, 2, 0.3)),
		fold("2025-11-01", rows(r, 4000, 2, 0.3), rows(r, 2000, 2, 0.3), rows(r, 2000, 2, 0.3))}, opts)
	require.NoError(t, err)
	require.Len(t, rep.Candidates, 3)
	assert.True(t, rep.BeatsBaselines, rep.Verdict)
	assert.Equal(t, cancel.KindLogit, m.Kind)
	assert.Equal(t, cancel.KindLogit, rep.Kind)
	c, d, s := rep.Candidate(cancel.KindLogit), rep.Candidate(cancel.KindDaysToEnd), rep.Candidate(cancel.KindSBG)
	assert.Greater(t, c.AUC, d.AUC)
	assert.Greater(t, c.AUC, s.AUC)
	assert.Less(t, c.Brier, d.Brier)
	assert.Less(t, c.ECE, 0.05)
	assert.Contains(t, rep.Verdict, "beats both baselines over 2 test snapshots")
	assert.Equal(t, []string{"2025-12-01", "2025-11-01"}, rep.TestSnapshots)
	require.Len(t, c.Folds, 2)
	assert.InDelta(t, (c.Folds[0].AUC+c.Folds[1].AUC)/2, c.AUC, 1e-12, "the mean over the folds")
	assert.InDelta(t, (c.Folds[0].Brier+c.Folds[1].Brier)/2, c.Brier, 1e-12)
	for _, x := range [][]float64{{0, 0, 0.3}, {30, 500, 0.05}} {
		p := m.Predict(x)
		assert.GreaterOrEqual(t, p, cancel.ProbFloor)
		assert.LessOrEqual(t, p, cancel.ProbCeil)
	}
	assert.Greater(t, m.Predict([]float64{5, 0, 0.2}), m.Predict([]float64{5, 40, 0.2}), "fewer visits, more likely to cancel")

	// Round trip through JSON (the registry stores it so).
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var back cancel.Model
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.Validate())
	x := []float64{3, 2, 0.1}
	assert.Equal(t, m.Predict(x), back.Predict(x))
	assert.Equal(t, rep.Verdict, back.Report.Verdict)
}

// TestTrainLoserNotStored: the usage signal of the training snapshots is
// gone by the validation and test snapshots, where only the days to the
// period end matter: the logistic model loses, the calibrated "days to
// period end" baseline is the model and the verdict says so.
func TestTrainLoserNotStored(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, rep, err := cancel.Train([]cancel.Fold{fold("2025-12-01", rows(r, 4000, 2.5, 0), rows(r, 2000, 0, 2.5), rows(r, 2000, 0, 2.5))}, opts)
	require.NoError(t, err)
	assert.False(t, rep.BeatsBaselines)
	assert.Equal(t, cancel.KindDaysToEnd, m.Kind, rep.Verdict)
	assert.Equal(t, cancel.KindDaysToEnd, rep.Kind)
	assert.Nil(t, m.Logit, "the loser is not stored")
	assert.Contains(t, rep.Verdict, "does not beat the baselines")
	assert.Contains(t, rep.Verdict, "days_to_period_end baseline")
	assert.Less(t, rep.Candidate(cancel.KindLogit).AUC, rep.Candidate(cancel.KindDaysToEnd).AUC)
	assert.Less(t, rep.Candidate(cancel.KindDaysToEnd).Brier, rep.Candidate(cancel.KindSBG).Brier, "the fallback is the baseline of lowest Brier")
	// Calibrated: fewer days to the end, a higher probability.
	assert.Greater(t, m.Predict([]float64{1, 5, 0.1}), m.Predict([]float64{29, 5, 0.1}))
	assert.Less(t, rep.Candidate(cancel.KindDaysToEnd).ECE, 0.05)
}

func TestTrainTooFew(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	good := fold("2025-11-01", rows(r, 4000, 2, 0), rows(r, 2000, 2, 0), rows(r, 2000, 2, 0))
	thin := fold("2025-12-01", rows(r, 4000, 2, 0), rows(r, 30, 2, 0), rows(r, 2000, 2, 0))
	_, rep, err := cancel.Train([]cancel.Fold{thin, good}, opts)
	require.ErrorIs(t, err, cancel.ErrTooFewData, "the newest fold lacks data")
	assert.Contains(t, rep.Skipped, "validation")
	// An older fold that lacks data is dropped.
	_, rep, err = cancel.Train([]cancel.Fold{good, thin}, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"2025-11-01"}, rep.TestSnapshots)
	assert.Len(t, rep.Candidate(cancel.KindLogit).Folds, 1)
}

func TestCheckFeatures(t *testing.T) {
	m := &cancel.Model{Kind: cancel.KindSBG, Features: names}
	require.NoError(t, m.CheckFeatures(names))
	err := m.CheckFeatures(names[:2])
	require.ErrorIs(t, err, cancel.ErrFeatures)
	assert.Contains(t, err.Error(), "expects 3 columns")
}
