package gbt

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/logit"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// synth draws n rows of p U(−1, 1) features and labels y ~ Bernoulli(σ(z(x))).
func synth(n, p int, seed uint64, z func(x []float64) float64) (*mat.Dense, []float64, []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	X := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	truth := make([]float64, n)
	x := make([]float64, p)
	for i := range n {
		for j := range p {
			x[j] = 2*rng.Float64() - 1
		}
		X.SetRow(i, x)
		truth[i] = sigmoid(z(x))
		if rng.Float64() < truth[i] {
			y[i] = 1
		}
	}
	return X, y, truth
}

func rowsOf(X *mat.Dense) [][]float64 {
	n, _ := X.Dims()
	out := make([][]float64, n)
	for i := range out {
		out[i] = X.RawRowView(i)
	}
	return out
}

func predictAll(m *Model, X *mat.Dense) []float64 {
	var p []float64
	for _, r := range rowsOf(X) {
		p = append(p, m.Predict(r))
	}
	return p
}

func logitAll(t *testing.T, X *mat.Dense, y []float64, Xt *mat.Dense) []float64 {
	lm, err := logit.Fit(X, y, nil, logit.Options{L2: 1e-4})
	require.NoError(t, err)
	return lm.PredictBatch(Xt)
}

func TestLearnsXOR(t *testing.T) {
	// y = 1 when x₀x₁ > 0 (with a steep logistic edge); x₂…x₄ are noise.
	// No linear model can rank this: logit's AUC stays near ½.
	z := func(x []float64) float64 { return 8 * x[0] * x[1] }
	X, y, _ := synth(4000, 5, 1, z)
	Xt, yt, _ := synth(2000, 5, 2, z)
	m, err := Fit(X, y, nil, nil, Params{Rounds: 60, MaxDepth: 4, LearningRate: 0.2})
	require.NoError(t, err)
	aucG := metrics.AUC(yt, predictAll(m, Xt))
	aucL := metrics.AUC(yt, logitAll(t, X, y, Xt))
	t.Logf("XOR test AUC: gbt %.3f, logit %.3f", aucG, aucL)
	assert.Greater(t, aucG, 0.85)
	assert.Less(t, aucL, 0.6)
	// The informative features carry almost all the gain.
	imp := m.Importance()
	assert.Greater(t, imp[0]+imp[1], 0.8)
}

func TestKnownLogisticGroundTruth(t *testing.T) {
	// z = 3|x₀| − 1.5 + x₁: a logistic model that is non-linear in x₀. The
	// oracle AUC uses the true probabilities.
	z := func(x []float64) float64 { return 3*math.Abs(x[0]) - 1.5 + x[1] }
	X, y, _ := synth(6000, 4, 3, z)
	Xt, yt, truth := synth(3000, 4, 4, z)
	m, err := Fit(X, y, nil, nil, Params{Rounds: 150, MaxDepth: 3, LearningRate: 0.05})
	require.NoError(t, err)
	pg := predictAll(m, Xt)
	pl := logitAll(t, X, y, Xt)
	oracle := metrics.AUC(yt, truth)
	aucG, aucL := metrics.AUC(yt, pg), metrics.AUC(yt, pl)
	llG, llL, llO := metrics.LogLoss(yt, pg), metrics.LogLoss(yt, pl), metrics.LogLoss(yt, truth)
	t.Logf("AUC oracle %.4f gbt %.4f logit %.4f; log loss oracle %.4f gbt %.4f logit %.4f", oracle, aucG, aucL, llO, llG, llL)
	assert.Greater(t, aucG, oracle-0.02, "gbt close to the oracle")
	assert.Greater(t, aucG, aucL+0.05, "gbt beats logit")
	assert.Less(t, llG, llL)
	assert.Less(t, llG, llO+0.02)
}

func TestLinearGroundTruthNearOracle(t *testing.T) {
	// On a truly linear logistic model, gbt approaches the oracle (logit is
	// the right model here; gbt must not be far behind).
	z := func(x []float64) float64 { return -0.5 + 2*x[0] - 1.5*x[1] + x[2] }
	X, y, _ := synth(6000, 4, 5, z)
	Xt, yt, truth := synth(3000, 4, 6, z)
	m, err := Fit(X, y, nil, nil, Params{Rounds: 200, MaxDepth: 2, LearningRate: 0.05})
	require.NoError(t, err)
	oracle := metrics.AUC(yt, truth)
	aucG := metrics.AUC(yt, predictAll(m, Xt))
	t.Logf("linear truth: AUC oracle %.4f gbt %.4f", oracle, aucG)
	assert.Greater(t, aucG, oracle-0.015)
}

func TestMissingValuesLearnDefaultDirection(t *testing.T) {
	// x₀ is missing for a third of the rows, and those rows churn at 90 %;
	// present rows churn at 10 % when x₀ > 0 and 50 % otherwise.
	rng := rand.New(rand.NewPCG(7, 7))
	n := 3000
	X := mat.NewDense(n, 2, nil)
	y := make([]float64, n)
	for i := range n {
		x0 := 2*rng.Float64() - 1
		pr := 0.5
		if x0 > 0 {
			pr = 0.1
		}
		if i%3 == 0 {
			x0, pr = math.NaN(), 0.9
		}
		X.Set(i, 0, x0)
		X.Set(i, 1, rng.Float64())
		if rng.Float64() < pr {
			y[i] = 1
		}
	}
	m, err := Fit(X, y, nil, nil, Params{Rounds: 50, MaxDepth: 3})
	require.NoError(t, err)
	assert.InDelta(t, 0.9, m.Predict([]float64{math.NaN(), 0.5}), 0.07)
	assert.InDelta(t, 0.1, m.Predict([]float64{0.5, 0.5}), 0.07)
	assert.InDelta(t, 0.5, m.Predict([]float64{-0.5, 0.5}), 0.1)
	// NaN in the second feature, never seen in training, still predicts.
	assert.False(t, math.IsNaN(m.Predict([]float64{0.5, math.NaN()})))
}

// blobs draws 3 Gaussian classes in 2-D plus 2 noise features.
func blobs(n int, seed uint64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	centres := [][2]float64{{0, 2}, {-1.8, -1}, {1.8, -1}}
	X := mat.NewDense(n, 4, nil)
	y := make([]float64, n)
	for i := range n {
		k := i % 3
		y[i] = float64(k)
		X.SetRow(i, []float64{centres[k][0] + rng.NormFloat64(), centres[k][1] + rng.NormFloat64(), rng.NormFloat64(), rng.Float64()})
	}
	return X, y
}

func TestMulticlass(t *testing.T) {
	X, y := blobs(3000, 1)
	Xt, yt := blobs(1500, 2)
	m, err := Fit(X, y, Xt, yt, Params{Objective: Multiclass, NumClass: 3, Rounds: 60, MaxDepth: 3})
	require.NoError(t, err)
	require.Len(t, m.Trees, 3*60)
	truth := make([]int, len(yt))
	pred := make([]int, len(yt))
	for i, r := range rowsOf(Xt) {
		pr := m.PredictProba(r)
		require.Len(t, pr, 3)
		assert.InDelta(t, 1, pr[0]+pr[1]+pr[2], 1e-12)
		truth[i], pred[i] = int(yt[i]), m.PredictClass(r)
	}
	acc, f1 := metrics.Accuracy(truth, pred), metrics.MacroF1(truth, pred, 3)
	t.Logf("3-class blobs: accuracy %.3f macro-F1 %.3f", acc, f1)
	// Bayes accuracy for these centres (distance ≈ 3.6, σ = 1) is about 0.92.
	assert.Greater(t, acc, 0.85)
	assert.Greater(t, f1, 0.85)
	// The validation loss falls well below the prior's log 3.
	assert.Less(t, m.ValLoss[len(m.ValLoss)-1], 0.5*math.Log(3))
	assert.Panics(t, func() { m.Predict(Xt.RawRowView(0)) })
}

func TestDeterministicForSeed(t *testing.T) {
	z := func(x []float64) float64 { return 4*x[0]*x[1] + x[2] }
	X, y, _ := synth(3000, 6, 8, z)
	fit := func(seed uint64, workers int) []byte {
		m, err := Fit(X, y, nil, nil, Params{Rounds: 20, Subsample: 0.7, Seed: seed, Workers: workers})
		require.NoError(t, err)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	a := fit(42, 1)
	assert.Equal(t, a, fit(42, 1), "same seed")
	assert.Equal(t, a, fit(42, 2), "worker count does not matter")
	assert.NotEqual(t, a, fit(43, 2), "another seed subsamples other rows")
}

func TestEarlyStoppingStops(t *testing.T) {
	// A weak signal fitted with deep, fast trees: the validation loss improves
	// for a few rounds, then overfitting makes it rise.
	z := func(x []float64) float64 { return 1.5*x[0] - x[1] }
	X, y, _ := synth(2000, 5, 9, z)
	Xv, yv, _ := synth(1000, 5, 10, z)
	const rounds, patience = 400, 10
	m, err := Fit(X, y, Xv, yv, Params{Rounds: rounds, LearningRate: 0.3, MaxDepth: 6, MinChildWeight: 0, EarlyStoppingRounds: patience})
	require.NoError(t, err)
	t.Logf("stopped after %d rounds, kept %d", len(m.ValLoss), m.Rounds)
	assert.Less(t, len(m.ValLoss), rounds)
	assert.Greater(t, m.Rounds, 1, "the signal is worth more than one round")
	assert.Equal(t, m.Rounds+patience, len(m.ValLoss))
	assert.Len(t, m.Trees, m.Rounds)
	for i, l := range m.ValLoss {
		assert.GreaterOrEqual(t, l, m.ValLoss[m.Rounds-1], "round %d beat the kept best", i)
	}
	// The kept model reproduces the best validation loss.
	var ll float64
	for i, r := range rowsOf(Xv) {
		ll += softplus(m.Margin(r)[0]) - yv[i]*m.Margin(r)[0]
	}
	assert.InDelta(t, m.ValLoss[m.Rounds-1], ll/float64(len(yv)), 1e-9)

	_, err = Fit(X, y, nil, nil, Params{EarlyStoppingRounds: 5})
	assert.ErrorIs(t, err, ErrParams)
}

func TestContributionsSumToMargin(t *testing.T) {
	z := func(x []float64) float64 { return 3*x[0] - 2*x[1]*x[2] }
	X, y, _ := synth(2000, 4, 11, z)
	m, err := Fit(X, y, nil, nil, Params{Rounds: 30, Growth: LeafWise, MaxLeaves: 8, MaxDepth: -1})
	require.NoError(t, err)
	for _, x := range [][]float64{{0.5, -0.2, 0.9, 0}, {math.NaN(), 0.3, -0.7, 1}} {
		c := m.Contributions(x)
		require.Len(t, c, 5)
		var s float64
		for _, v := range c {
			s += v
		}
		assert.InDelta(t, m.Margin(x)[0], s, 1e-9)
	}
	// PredictContributions: both in one walk, bit for bit.
	c := make([]float64, 5)
	for _, x := range append(rowsOf(X)[:200], []float64{math.NaN(), math.NaN(), 0, 1}) {
		assert.Equal(t, m.Predict(x), m.PredictContributions(x, c))
		assert.Equal(t, m.Contributions(x), c)
	}
	assert.Panics(t, func() { m.PredictContributions(rowsOf(X)[0], make([]float64, 4)) })

	// The pure-noise feature x₃ gets little credit over a sample of rows.
	var abs [4]float64
	for _, r := range rowsOf(X)[:300] {
		c := m.Contributions(r)
		for j := range 4 {
			abs[j] += math.Abs(c[j])
		}
	}
	assert.Less(t, abs[3], 0.2*abs[0])

	Xm, ym := blobs(600, 5)
	mm, err := Fit(Xm, ym, nil, nil, Params{Objective: Multiclass, NumClass: 3, Rounds: 10})
	require.NoError(t, err)
	x := Xm.RawRowView(7)
	assert.Panics(t, func() { mm.PredictContributions(x, make([]float64, 5)) })
	c = mm.Contributions(x)
	require.Len(t, c, 3*5)
	f := mm.Margin(x)
	for k := range 3 {
		var s float64
		for _, v := range c[k*5 : (k+1)*5] {
			s += v
		}
		assert.InDelta(t, f[k], s, 1e-9, "class %d", k)
	}
}

func TestLeafWiseRespectsMaxLeaves(t *testing.T) {
	z := func(x []float64) float64 { return 5 * math.Sin(3*x[0]) * x[1] }
	X, y, _ := synth(3000, 3, 12, z)
	m, err := Fit(X, y, nil, nil, Params{Rounds: 10, Growth: LeafWise, MaxLeaves: 7, MaxDepth: -1, MinChildWeight: 0.1})
	require.NoError(t, err)
	deep := false
	for _, tr := range m.Trees {
		leaves := 0
		for _, n := range tr.Nodes {
			if n.Feature < 0 {
				leaves++
			}
		}
		assert.LessOrEqual(t, leaves, 7)
		assert.Equal(t, 2*leaves-1, len(tr.Nodes))
		deep = deep || depth(&tr, 0) > 3 // leaf-wise trees are unbalanced
	}
	assert.True(t, deep, "some leaf-wise tree deeper than a balanced 7-leaf tree")

	d, err := Fit(X, y, nil, nil, Params{Rounds: 5, MaxDepth: 2})
	require.NoError(t, err)
	for _, tr := range d.Trees {
		assert.LessOrEqual(t, depth(&tr, 0), 2)
	}
}

func depth(t *Tree, i int32) int {
	n := t.Nodes[i]
	if n.Feature < 0 {
		return 0
	}
	return 1 + max(depth(t, n.Left), depth(t, n.Right))
}

func TestJSONRoundTrip(t *testing.T) {
	z := func(x []float64) float64 { return 2 * x[0] }
	X, y, _ := synth(1000, 3, 13, z)
	X.Set(0, 1, math.NaN())
	m, err := Fit(X, y, nil, nil, Params{Rounds: 10, Names: []string{"a", "b", "c"}})
	require.NoError(t, err)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var got Model
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, []string{"a", "b", "c"}, got.Names)
	for _, r := range rowsOf(X)[:100] {
		assert.Equal(t, m.PredictProba(r), got.PredictProba(r))
		assert.Equal(t, m.Contributions(r), got.Contributions(r))
	}
}

func TestCutPoints(t *testing.T) {
	// Few distinct values: one bin each, edges at midpoints (hand computation).
	e := cutPoints([]float64{3, 1, 2, 2, 1}, 255)
	assert.Equal(t, []float64{1.5, 2.5, math.Inf(1)}, e)
	assert.Equal(t, uint8(0), binOf(e, 1))
	assert.Equal(t, uint8(1), binOf(e, 2))
	assert.Equal(t, uint8(2), binOf(e, 100))
	assert.Equal(t, uint8(NaNBin), binOf(e, math.NaN()))
	// Infinite values keep finite edges.
	e = cutPoints([]float64{math.Inf(-1), 0, math.Inf(1)}, 255)
	for _, v := range e[:len(e)-1] {
		assert.False(t, math.IsInf(v, 0))
	}
	assert.Equal(t, uint8(0), binOf(e, math.Inf(-1)))
	assert.Equal(t, uint8(2), binOf(e, math.Inf(1)))
	// Many values: at most maxBins bins of roughly equal counts.
	vals := make([]float64, 10000)
	for i := range vals {
		vals[i] = float64((i * 7919) % 10000)
	}
	e = cutPoints(append([]float64(nil), vals...), 16)
	require.LessOrEqual(t, len(e), 16)
	counts := make([]int, len(e))
	for _, v := range vals {
		counts[binOf(e, v)]++
	}
	for _, c := range counts {
		assert.InDelta(t, 10000/16, c, 10000/16*0.1)
	}
	assert.Equal(t, []float64{math.Inf(1)}, cutPoints(nil, 10))
}

func TestFitErrors(t *testing.T) {
	X := mat.NewDense(3, 1, []float64{1, 2, 3})
	cases := []struct {
		name string
		y    []float64
		p    Params
		want error
	}{
		{"label 2 binary", []float64{0, 1, 2}, Params{}, ErrLabel},
		{"fractional label", []float64{0, 0.5, 1}, Params{}, ErrLabel},
		{"short labels", []float64{0, 1}, Params{}, ErrShape},
		{"bins", []float64{0, 1, 0}, Params{MaxBins: 256}, ErrParams},
		{"subsample", []float64{0, 1, 0}, Params{Subsample: 1.5}, ErrParams},
		{"multiclass without classes", []float64{0, 1, 0}, Params{Objective: Multiclass}, ErrParams},
		{"growth", []float64{0, 1, 0}, Params{Growth: "random"}, ErrParams},
		{"names", []float64{0, 1, 0}, Params{Names: []string{"a", "b"}}, ErrShape},
	}
	for _, c := range cases {
		_, err := Fit(X, c.y, nil, nil, c.p)
		assert.ErrorIs(t, err, c.want, c.name)
	}
}

func benchData(n, p int) (*mat.Dense, []float64) {
	z := func(x []float64) float64 {
		return 2*x[0]*x[1] - x[2] + math.Abs(x[3]) + 0.5*x[4]
	}
	X, y, _ := synth(n, p, 21, z)
	for i := 0; i < n; i += 17 {
		X.Set(i, 5, math.NaN())
	}
	return X, y
}

// BenchmarkFit100kx30 fits 100 depth-6 rounds on 100,000 × 30.
func BenchmarkFit100kx30(b *testing.B) {
	X, y := benchData(100_000, 30)
	b.ResetTimer()
	for range b.N {
		if _, err := Fit(X, y, nil, nil, Params{Rounds: 100, MaxDepth: 6}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredict100kx30 scores 100,000 rows with the 100-round model.
func BenchmarkPredict100kx30(b *testing.B) { benchPredict(b, (*Model).Predict) }

// benchPredict times predict on 100,000 rows of a 100-round depth-6 model.
func benchPredict(b *testing.B, predict func(*Model, []float64) float64) {
	X, y := benchData(100_000, 30)
	m, err := Fit(X, y, nil, nil, Params{Rounds: 100, MaxDepth: 6})
	if err != nil {
		b.Fatal(err)
	}
	rows := rowsOf(X)
	b.ResetTimer()
	for range b.N {
		for _, r := range rows {
			predict(m, r)
		}
	}
}

func TestTrainingMarginsConsistent(t *testing.T) {
	// The margins maintained during boosting (sampled rows via leaf
	// partitions, others via binned traversal) must equal those of the
	// finished model, for binary and multiclass, with and without
	// subsampling.
	z := func(x []float64) float64 { return 3*x[0]*x[1] - x[2] }
	X, y, _ := synth(1500, 4, 14, z)
	X.Set(3, 2, math.NaN())
	Xm, ym := blobs(900, 15)
	for _, sub := range []float64{1, 0.6} {
		m, err := Fit(X, y, nil, nil, Params{Rounds: 15, Subsample: sub, Seed: 1})
		require.NoError(t, err)
		var ll float64
		for i, r := range rowsOf(X) {
			f := m.Margin(r)[0]
			ll += softplus(f) - y[i]*f
		}
		assert.InDelta(t, m.TrainLoss[len(m.TrainLoss)-1], ll/float64(len(y)), 1e-9, "binary subsample %v", sub)

		mm, err := Fit(Xm, ym, nil, nil, Params{Objective: Multiclass, NumClass: 3, Rounds: 8, Subsample: sub, Seed: 2})
		require.NoError(t, err)
		ll = 0
		for i, r := range rowsOf(Xm) {
			f := mm.Margin(r)
			ll += logSumExp(f) - f[int(ym[i])]
		}
		assert.InDelta(t, mm.TrainLoss[len(mm.TrainLoss)-1], ll/float64(len(ym)), 1e-9, "multiclass subsample %v", sub)
		// Boosting with full rows never increases the training loss.
		if sub == 1 {
			for r := 1; r < len(m.TrainLoss); r++ {
				assert.LessOrEqual(t, m.TrainLoss[r], m.TrainLoss[r-1]+1e-12)
			}
		}
	}
}
