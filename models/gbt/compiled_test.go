package gbt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naivePredict is Predict as a plain walk of each tree's Nodes, the
// reference the compiled, interleaved walk must equal bit for bit.
func naivePredict(m *Model, x []float64) float64 {
	f := m.BaseScore[0]
	for i := range m.Trees {
		t := &m.Trees[i]
		f += t.Nodes[t.leaf(x)].Value
	}
	return sigmoid(f)
}

func naiveMargin(m *Model, x []float64) []float64 {
	K := m.NumOutputs()
	f := append([]float64(nil), m.BaseScore...)
	for i := range m.Trees {
		t := &m.Trees[i]
		f[i%K] += t.Nodes[t.leaf(x)].Value
	}
	return f
}

// awkwardRows returns rows of the training data and rows made of the
// values a branch-free split test can get wrong: NaN of either sign, ±Inf,
// ±0, the thresholds themselves and their neighbours.
func awkwardRows(m *Model, rows [][]float64, seed uint64) [][]float64 {
	var special []float64
	for _, t := range m.Trees {
		for _, n := range t.Nodes {
			if n.Feature >= 0 {
				special = append(special, n.Threshold, math.Nextafter(n.Threshold, math.Inf(1)), math.Nextafter(n.Threshold, math.Inf(-1)))
			}
		}
	}
	special = append(special, math.NaN(), math.Float64frombits(0xFFF8000000000001), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1))
	rng := rand.New(rand.NewPCG(seed, 3))
	out := append([][]float64(nil), rows...)
	for range 3000 {
		x := make([]float64, m.NumFeatures)
		for j := range x {
			x[j] = special[rng.IntN(len(special))]
		}
		out = append(out, x)
	}
	return out
}

func TestCompiledWalkMatchesTreeWalk(t *testing.T) {
	z := func(x []float64) float64 { return 2*x[0]*x[1] - x[2] + math.Abs(x[3]) }
	X, y, _ := synth(3000, 6, 5, z)
	for i := 0; i < 3000; i += 13 {
		X.Set(i, 1, math.NaN())
	}
	for _, p := range []Params{
		{Rounds: 37, MaxDepth: 6},                                   // 37 trees: the 4-way walk and a remainder
		{Rounds: 20, Growth: LeafWise, MaxLeaves: 12, MaxDepth: -1}, // uneven depths
	} {
		m, err := Fit(X, y, nil, nil, p)
		require.NoError(t, err)
		cm := m.compiled()
		for _, x := range awkwardRows(m, rowsOf(X)[:500], 1) {
			for ti := range m.Trees {
				require.Equal(t, m.Trees[ti].leaf(x), cm.trees[ti].leaf(x), "tree %d, x %v", ti, x)
			}
			require.Equal(t, math.Float64bits(naivePredict(m, x)), math.Float64bits(m.Predict(x)), "x %v", x)
			c := make([]float64, m.NumFeatures+1)
			require.Equal(t, math.Float64bits(naivePredict(m, x)), math.Float64bits(m.PredictContributions(x, c)), "x %v", x)
			require.Equal(t, m.Contributions(x), c, "x %v", x)
		}
	}

	Xm, ym := blobs(900, 5)
	mm, err := Fit(Xm, ym, nil, nil, Params{Objective: Multiclass, NumClass: 3, Rounds: 11})
	require.NoError(t, err)
	for _, x := range awkwardRows(mm, rowsOf(Xm)[:300], 2) {
		assert.Equal(t, naiveMargin(mm, x), mm.Margin(x))
	}
}

// BenchmarkPredictNaive100kx30 is BenchmarkPredict100kx30 with the plain
// walk of the Nodes, for comparison.
func BenchmarkPredictNaive100kx30(b *testing.B) { benchPredict(b, naivePredict) }

// TestCompiledWalkEdgeCases: a hand-made tree whose thresholds are −0 and
// +0 and whose NaN goes left at one node and right at the other.
func TestCompiledWalkEdgeCases(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tr := Tree{Nodes: []Node{
		{Feature: 0, Threshold: negZero, DefaultLeft: true, Left: 1, Right: 2},
		{Feature: 1, Threshold: 0, DefaultLeft: false, Left: 3, Right: 4},
		{Feature: -1, Value: 2},
		{Feature: -1, Value: 3},
		{Feature: -1, Value: 4},
	}}
	ft := compileTree(&tr)
	assert.Equal(t, 2, ft.depth)
	nan := math.NaN()
	for _, x := range [][]float64{
		{0, 0}, {negZero, negZero}, {0, negZero}, {negZero, 0}, {1e-300, 0}, {-1e-300, 1e-300},
		{nan, nan}, {nan, -1}, {math.Inf(1), 0}, {math.Inf(-1), math.Inf(1)}, {math.Inf(-1), math.Inf(-1)},
	} {
		assert.Equal(t, tr.leaf(x), ft.leaf(x), "x %v", x)
	}
}
