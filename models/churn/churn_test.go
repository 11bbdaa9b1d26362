package churn_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/churn"
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
	names := []string{"days_since_last_purchase", "purchase_days", "noise_a", "noise_b", churn.ExtraSeasonSin}
	train, val := synthetic(3000, 1, names), synthetic(1500, 2, names)
	m, cands, err := churn.Train(train, val, names, nil, []string{"growing", "churned"}, churn.TrainOptions{HorizonDays: 90, Seed: 1})
	require.NoError(t, err)
	require.Len(t, cands, 2)
	for _, c := range cands {
		assert.Greater(t, c.AUC, 0.8, c.Kind)
	}

	// A long-absent, one-time customer: recency must be the top reason, the season never.
	x := []float64{290, 0, 0, 0, 0.5}
	p := m.Probability(x)
	assert.Greater(t, p, 0.8)
	rs := m.Reasons(x, 3)
	require.NotEmpty(t, rs)
	assert.Equal(t, "days_since_last_purchase", rs[0].Feature)
	for i, r := range rs {
		assert.NotEqual(t, churn.ExtraSeasonSin, r.Feature)
		assert.Positive(t, r.Contribution)
		if i > 0 {
			assert.LessOrEqual(t, r.Contribution, rs[i-1].Contribution, "largest first")
		}
	}
	assert.Equal(t, "churned", m.PredictStage(x))

	// The Scorer gives Probability and Reasons at once, bit for bit.
	sc := m.NewScorer()
	for _, r := range [][]float64{x, {3, 12, 0.4, -1, 0.5}, {math.NaN(), 2, 0, 0, -0.5}, {45, 1, 2, 3, 0}} {
		gp, gr := sc.Score(r, 3)
		assert.Equal(t, m.Probability(r), gp, "%v", r)
		assert.Equal(t, m.Reasons(r, 3), gr, "%v", r)
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

func TestTrainRefusesTooFewData(t *testing.T) {
	names := []string{"a", "b"}
	small := synthetic(100, 3, names)
	_, _, err := churn.Train(small, small, names, nil, nil, churn.TrainOptions{})
	assert.ErrorIs(t, err, churn.ErrTooFewData)
	assert.Contains(t, err.Error(), "need at least 500")
}
