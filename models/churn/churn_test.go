package churn_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/metrics"
	"github.com/churnpipe/churnpipe/models/season"
)

func TestThresholds(t *testing.T) {
	th := churn.DefaultThresholds()
	require.NoError(t, th.Validate())
	cases := []struct {
		p    float64
		want churn.Risk
	}{{0, churn.RiskLow}, {0.2999, churn.RiskLow}, {0.3, churn.RiskMedium}, {0.5999, churn.RiskMedium}, {0.6, churn.RiskHigh}, {1, churn.RiskHigh}}
	for _, c := range cases {
		assert.Equal(t, c.want, th.Band(c.p), "p=%v", c.p)
	}
	assert.ErrorIs(t, churn.Thresholds{Medium: 0.7, High: 0.6}.Validate(), churn.ErrThresholds)
	assert.Equal(t, "A_high", churn.Segment("A", churn.RiskHigh))
	codes := map[string]bool{}
	for _, l := range churn.SegmentLabels() {
		codes[l.Code] = true
		assert.NotEmpty(t, l.Chinese)
		assert.NotEmpty(t, l.Action)
	}
	for _, tier := range []string{"A", "B", "C"} {
		for _, r := range []churn.Risk{churn.RiskLow, churn.RiskMedium, churn.RiskHigh} {
			assert.True(t, codes[churn.Segment(tier, r)], "segment %s_%s has a label", tier, r)
		}
	}
}

// synthetic builds a learnable churn problem: the first feature (recency)
// raises churn, the second (frequency) lowers it.
func synthetic(n int, seed uint64, names []string) churn.Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := mat.NewDense(n, len(names), nil)
	y := make([]float64, n)
	st := make([]float64, n)
	for i := 0; i < n; i++ {
		rec, freq := rng.Float64()*300, float64(rng.IntN(20))
		X.Set(i, 0, rec)
		X.Set(i, 1, freq)
		for j := 2; j < len(names); j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		p := 1 / (1 + math.Exp(-(rec/60 - freq/4 - 1)))
		if rng.Float64() < p {
			y[i] = 1
			st[i] = 1
		}
	}
	return churn.Set{X: X, Churn: y, Stage: st}
}

func TestTrainReasonsAndJSON(t *testing.T) {
	names := []string{"days_since_last_purchase", "purchase_days", "noise_a", churn.ExtraBGNBDProbNoPurchase, churn.ExtraSeasonSin}
	train, val := synthetic(3000, 1, names), synthetic(1500, 2, names)
	m, cands, err := churn.Train(train, val, names, nil, []string{"growing", "churned"}, churn.TrainOptions{HorizonDays: 90, Seed: 1})
	require.NoError(t, err)
	require.Len(t, cands, len(churn.AllCandidates))
	for _, c := range cands {
		if c.Kind == churn.KindBTYD {
			continue // the synthetic "BG/NBD" column is noise
		}
		assert.Greater(t, c.AUC, 0.7, c.Kind)
	}
	require.False(t, churn.IsBaseline(m.Kind), "a learnt model beats one noisy column: %s", m.Kind)

	// A long-absent, one-time customer: recency and frequency are the top reasons, the season never.
	x := []float64{290, 0, 0, 0.5, 0.5}
	p := m.Probability(x)
	assert.Greater(t, p, 0.8)
	rs := m.Reasons(x, 3)
	require.NotEmpty(t, rs)
	require.GreaterOrEqual(t, len(rs), 2)
	assert.ElementsMatch(t, []string{"days_since_last_purchase", "purchase_days"}, []string{rs[0].Feature, rs[1].Feature})
	for i, r := range rs {
		assert.NotEqual(t, churn.ExtraSeasonSin, r.Feature)
		assert.Positive(t, r.Contribution)
		if i > 0 {
			assert.LessOrEqual(t, r.Contribution, rs[i-1].Contribution, "largest first")
		}
	}
	assert.Equal(t, "churned", m.PredictStage(x))

	// Never exactly 0 or 1, however extreme the customer.
	for _, r := range [][]float64{{1e6, 0, 0, 1, 0}, {0, 1e6, 0, 0, 0}, {-1e6, 1e6, 1e6, -1, 0}} {
		q := m.Probability(r)
		assert.GreaterOrEqual(t, q, churn.ProbFloor)
		assert.LessOrEqual(t, q, churn.ProbCeil)
	}

	// The Scorer gives Probability and Reasons at once, bit for bit, for every kind.
	fs, err := churn.FitCandidates(train, val, names, nil, churn.TrainOptions{HorizonDays: 90, Seed: 1})
	require.NoError(t, err)
	for _, f := range fs {
		sc := f.Model.NewScorer()
		for _, r := range [][]float64{x, {3, 12, 0.4, 0.1, 0.5}, {math.NaN(), 2, 0, math.NaN(), -0.5}, {45, 1, 2, 0.3, 0}} {
			gp, gr := sc.Score(r, 3)
			assert.Equal(t, f.Model.Probability(r), gp, "%s %v", f.Model.Kind, r)
			assert.Equal(t, f.Model.Reasons(r, 3), gr, "%s %v", f.Model.Kind, r)
			assert.False(t, math.IsNaN(gp), "%s imputes missing values", f.Model.Kind)
		}
	}

	// Round trip through JSON (the registry stores the model so).
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var back churn.Model
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.Init())
	assert.InDelta(t, p, back.Probability(x), 1e-12)
	require.NoError(t, back.CheckSchema(names))
	assert.ErrorIs(t, back.CheckSchema(names[:4]), churn.ErrSchemaMismatch)
}

// shifted builds a set whose churn follows column col: the test sets of
// TestRollingOriginNeverPromotesALoser follow recency (column 0) while the
// training and validation sets follow noise_a (column 2), so the learnt
// models win on validation and lose on test.
func shifted(n int, seed uint64, col int) churn.Set {
	rng := rand.New(rand.NewPCG(seed, 9))
	X := mat.NewDense(n, 4, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		X.Set(i, 0, rng.Float64()*300)
		X.Set(i, 1, float64(rng.IntN(20)))
		X.Set(i, 2, rng.NormFloat64())
		X.Set(i, 3, rng.Float64())
		z := 2*X.At(i, 2) + X.At(i, 0)/150 - 1 // recency matters a little everywhere
		if col == 0 {
			z = X.At(i, 0)/50 - 3
		}
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return churn.Set{X: X, Churn: y}
}

func TestRollingOriginNeverPromotesALoser(t *testing.T) {
	names := []string{"days_since_last_purchase", "purchase_days", "noise_a", churn.ExtraBGNBDProbNoPurchase}
	var folds []churn.Fold
	for k := uint64(0); k < 2; k++ {
		folds = append(folds, churn.Fold{Test: fmt.Sprintf("fold%d", k), Train: shifted(2000, 10*k+1, 2),
			Val: shifted(1000, 10*k+2, 2), TestSet: shifted(1000, 10*k+3, 0)})
	}
	sel, m, err := churn.RollingOrigin(folds, names, nil, nil, churn.TrainOptions{Seed: 1})
	require.NoError(t, err)
	chosen := sel.Kind(sel.Chosen)
	require.NotNil(t, chosen)
	assert.False(t, chosen.Baseline, "validation follows noise_a: a learnt model wins there")
	assert.False(t, sel.Beats)
	assert.Equal(t, churn.KindRecency, sel.Champion, "the test labels follow recency")
	assert.Equal(t, churn.KindRecency, m.Kind)
	assert.Contains(t, sel.Verdict, "LOSES TO A BASELINE")
	require.Len(t, chosen.Test, 2, "one test result per fold")
	for _, r := range sel.Kinds {
		assert.LessOrEqual(t, r.AUCCI[0], r.MeanAUC, r.Kind)
		assert.GreaterOrEqual(t, r.AUCCI[1], r.MeanAUC, r.Kind)
	}
	// The baseline champion is calibrated: probabilities rise with recency, within the bounds.
	lo, hi := m.Probability([]float64{1, 0, 0, 0}), m.Probability([]float64{299, 0, 0, 0})
	assert.Less(t, lo, hi)

	// Same folds, labels that follow the learnt signal everywhere: the model is promoted.
	for k := range folds {
		folds[k].TestSet = shifted(1000, 10*uint64(k)+3, 2)
	}
	sel, m, err = churn.RollingOrigin(folds, names, nil, nil, churn.TrainOptions{Seed: 1})
	require.NoError(t, err)
	assert.True(t, sel.Beats, sel.Verdict)
	assert.Equal(t, sel.Chosen, m.Kind)
}

func TestTrainRefusesTooFewData(t *testing.T) {
	names := []string{"a", "b"}
	small := synthetic(100, 3, names)
	_, _, err := churn.Train(small, small, names, nil, nil, churn.TrainOptions{})
	assert.ErrorIs(t, err, churn.ErrTooFewData)
	assert.Contains(t, err.Error(), "need at least 500")
}

// TestLogitRidgeGridReachesStrongPenalty: with few training rows and 250
// noise columns the validation snapshot prefers a strong ridge; the default
// grid offers it (it stopped at 1e-2, where the noise is fitted).
func TestLogitRidgeGridReachesStrongPenalty(t *testing.T) {
	names := []string{"days_since_last_purchase", "purchase_days", churn.ExtraBGNBDProbNoPurchase}
	for j := 0; j < 250; j++ {
		names = append(names, fmt.Sprintf("noise_%d", j))
	}
	train, val := synthetic(520, 3, names), synthetic(3000, 4, names)
	fs, err := churn.FitCandidates(train, val, names, nil, churn.TrainOptions{HorizonDays: 90, Seed: 1,
		Candidates: []string{churn.KindLogit, churn.KindBTYD}})
	require.NoError(t, err)
	require.Equal(t, churn.KindLogit, fs[0].Model.Kind)
	assert.GreaterOrEqual(t, fs[0].Model.Logit.L2, 0.1, "the strong ridge wins on validation")
	for _, p := range fs[0].Model.PredictAll(val.X) {
		require.True(t, p >= churn.ProbFloor && p <= churn.ProbCeil)
	}
}

// regime builds a churn problem whose logit is wRec·recency/60 + wNoise·noise_a − 1:
// a history whose drivers change over time when two regimes are used.
func regime(n int, seed uint64, names []string, wRec, wNoise float64) churn.Set {
	rng := rand.New(rand.NewPCG(seed, 3))
	X := mat.NewDense(n, len(names), nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		rec, a := rng.Float64()*300, rng.NormFloat64()
		X.Set(i, 0, rec)
		X.Set(i, 1, float64(rng.IntN(20)))
		X.Set(i, 2, a)
		X.Set(i, 3, rng.Float64())
		if rng.Float64() < 1/(1+math.Exp(-(wRec*rec/60+wNoise*a-1))) {
			y[i] = 1
		}
	}
	return churn.Set{X: X, Churn: y}
}

// TestRefitCandidates: refitting on the window moved forward keeps the
// hyper-parameters chosen on validation, leaves the baselines and the blend alone,
// re-centres the calibration on the validation snapshot's churn rate, and —
// when the drivers of churn changed between the windows — tests better than
// the fit on the older window.
func TestRefitCandidates(t *testing.T) {
	names := []string{"days_since_last_purchase", "purchase_days", "noise_a", churn.ExtraBGNBDProbNoPurchase}
	old := regime(4000, 1, names, 0.4, 1.5) // churn driven mostly by noise_a
	newer := regime(4000, 2, names, 1, 0.1) // then by recency
	val, test := regime(2000, 3, names, 1, 0.1), regime(2000, 4, names, 1, 0.1)
	o := churn.TrainOptions{HorizonDays: 90, Seed: 1}
	fs, err := churn.FitCandidates(old, val, names, nil, o)
	require.NoError(t, err)
	rs, err := churn.RefitCandidates(fs, newer, val, names, o)
	require.NoError(t, err)
	require.Len(t, rs, len(fs))
	var rate float64
	for _, y := range val.Churn {
		rate += y
	}
	rate /= float64(len(val.Churn))
	for i, f := range fs {
		r := rs[i]
		require.Equal(t, f.Model.Kind, r.Model.Kind)
		assert.Equal(t, f.ValAUC, r.ValAUC, "%s: the validation AUC stays the out-of-time figure", f.Model.Kind)
		if churn.IsBaseline(f.Model.Kind) || f.Model.Kind == churn.KindBlend {
			assert.Same(t, f.Model, r.Model, "%s: a baseline or the blend is not refitted", f.Model.Kind)
			continue
		}
		if f.Model.Logit != nil {
			assert.Equal(t, f.Model.Logit.L2, r.Model.Logit.L2, "%s: the ridge chosen on validation", f.Model.Kind)
		}
		if f.Model.GBT != nil {
			assert.Equal(t, f.Model.GBT.Rounds, r.Model.GBT.Rounds, "%s: the early-stopped rounds", f.Model.Kind)
		}
		var mean float64
		for _, p := range r.Model.PredictAll(val.X) {
			mean += p
		}
		assert.InDelta(t, rate, mean/float64(len(val.Churn)), 1e-3, "%s: mean probability on validation = its churn rate", f.Model.Kind)
		before := metrics.AUC(test.Churn, f.Model.PredictAll(test.X))
		after := metrics.AUC(test.Churn, r.Model.PredictAll(test.X))
		assert.Greater(t, after, before+0.02, "%s: test AUC %.4f refitted vs %.4f on the older window", f.Model.Kind, after, before)
	}
}

// TestSeasonMovesTheCalendar: a model with a Season publishes p^r on a
// window of exposure ratio r to its calibration window, identically through
// Probability, the Scorer and a JSON round trip; without a Season At is the
// model itself. RollingOrigin applies the fold's index to the test
// snapshot and reports the ratio.
func TestSeasonMovesTheCalendar(t *testing.T) {
	names := []string{"days_since_last_purchase", "purchase_days", "noise_a", churn.ExtraBGNBDProbNoPurchase, churn.ExtraSeasonSin}
	train, val := synthetic(3000, 1, names), synthetic(1500, 2, names)
	m, _, err := churn.Train(train, val, names, nil, nil, churn.TrainOptions{HorizonDays: 90, Seed: 1})
	require.NoError(t, err)
	day := time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC) // the window is October–December
	x := []float64{60, 2, 0.1, 0.5, 0.5}
	p := m.Probability(x)
	assert.Equal(t, p, m.At(day).Probability(x), "no Season: no shift")

	var ix season.Index
	for k := range ix.Month {
		ix.Month[k] = 1
	}
	ix.Month[11], ix.Months = 2, 13              // December doubles
	m.Season = &churn.Season{Index: ix, Beta: 1} // calibrated on a flat window
	r := math.Exp(ix.LogExposure(day.AddDate(0, 0, 1), 90))
	require.InDelta(t, 1+29.0/90, r, 1e-12, "October 1 … December 29: 29 December days of 90")
	at := m.At(day)
	assert.InDelta(t, math.Pow(p, r), at.Probability(x), 1e-12, "P(no purchase) under r times the exposure")
	assert.Less(t, at.Probability(x), p, "a busier window: less churn")
	assert.Equal(t, p, m.Probability(x), "At leaves the model as it was")
	sp, _ := at.NewScorer().Score(x, 3)
	assert.Equal(t, at.Probability(x), sp, "the Scorer agrees bit for bit")
	for _, q := range at.PredictAll(mat.NewDense(2, 5, []float64{1e6, 0, 0, 1, 0, 0, 1e6, 0, 0, 0})) {
		assert.True(t, q >= churn.ProbFloor && q <= churn.ProbCeil, "bounded: %v", q)
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var back churn.Model
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.Init())
	assert.Equal(t, at.Probability(x), back.At(day).Probability(x), "the registry keeps the calendar")

	// Through RollingOrigin. First a calendar the training labels do not
	// follow (every training window as busy as validation's): no shift.
	f := churn.Fold{Test: "t", Train: train, Val: val, TestSet: synthetic(1500, 3, names), Season: &ix}
	f.Train.LogExposure, f.Val.LogExposure = constant(train.Churn, 0), constant(val.Churn, 0)
	f.TestSet.LogExposure = constant(f.TestSet.Churn, math.Log(2))
	plain, _, err := churn.RollingOrigin([]churn.Fold{f}, names, nil, nil, churn.TrainOptions{HorizonDays: 90, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, plain.SeasonShift)
	// Then training labels drawn from the calibrated BTYD baseline moved to
	// their window's calendar (β = 1): half the windows twice as busy as
	// validation's, half as busy. The fitted exponent moves every test
	// probability to the test window, twice as busy.
	btyd := plain.Models[churn.KindBTYD]
	rng := rand.New(rand.NewPCG(5, 5))
	g := f
	g.Train = churn.Set{X: train.X, Churn: make([]float64, len(train.Churn)), LogExposure: make([]float64, len(train.Churn))}
	for i := range g.Train.Churn {
		e := math.Log(2) * float64(i%2)
		g.Train.LogExposure[i] = e
		if rng.Float64() < math.Pow(btyd.Probability(train.X.RawRowView(i)), math.Exp(e)) {
			g.Train.Churn[i] = 1
		}
	}
	sel, _, err := churn.RollingOrigin([]churn.Fold{g}, names, nil, nil, churn.TrainOptions{HorizonDays: 90, Seed: 1})
	require.NoError(t, err)
	require.Len(t, sel.SeasonShift, 1)
	assert.InDelta(t, 2, sel.SeasonShift[0], 0.3, "2^β with β fitted near 1 on 3,000 rows")
	beta := sel.Models[churn.KindBTYD].Season.Beta
	for k, m := range sel.Models {
		require.NotNil(t, m.Season, k)
		assert.Equal(t, beta, m.Season.Beta, "one exponent for every kind")
	}
	for i, q := range sel.TestP[churn.KindBTYD][0] {
		want := math.Max(churn.ProbFloor, math.Min(churn.ProbCeil, math.Pow(plain.TestP[churn.KindBTYD][0][i], sel.SeasonShift[0])))
		require.InDelta(t, want, q, 1e-9, "btyd row %d: the same calibration, moved", i)
	}
}

func constant(like []float64, v float64) []float64 {
	out := make([]float64, len(like))
	for i := range out {
		out[i] = v
	}
	return out
}
