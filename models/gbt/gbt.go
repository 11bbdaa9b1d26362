package gbt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// Model is a fitted boosted ensemble. All fields are exported for JSON.
type Model struct {
	Objective   Objective `json:"objective"`
	NumClass    int       `json:"num_class"` // 2 for Binary
	NumFeatures int       `json:"num_features"`
	Names       []string  `json:"names,omitempty"`
	// BaseScore is the initial margin F₀ per output (one for Binary).
	BaseScore []float64 `json:"base_score"`
	// Trees are round-major: tree r·K+k is round r of output k, with K =
	// NumOutputs(). Predict, Margin and what uses them cache a compiled
	// form of the trees at their first call: do not change Trees afterwards.
	Trees []Tree `json:"trees"`
	// Rounds is the number of rounds kept (the best round with early stopping).
	Rounds int `json:"rounds"`
	// Gain is the total split gain per feature over the kept trees.
	Gain []float64 `json:"gain"`
	// ValLoss is the validation loss after each round fitted (nil without a
	// validation set), including rounds dropped by early stopping.
	ValLoss []float64 `json:"val_loss,omitempty"`
	// TrainLoss is the training log loss after each round fitted.
	TrainLoss []float64 `json:"train_loss,omitempty"`
	Params    Params    `json:"params"`

	flat atomic.Pointer[compiled] // the prediction form, built on first use (compiled.go)
}

// NumOutputs is the number of raw margins: 1 for Binary, NumClass otherwise.
func (m *Model) NumOutputs() int {
	if m.Objective == Binary {
		return 1
	}
	return m.NumClass
}

// dense returns the rows of X as one row-major slice.
func dense(X mat.Matrix) (n, p int, data []float64) {
	n, p = X.Dims()
	if d, ok := X.(*mat.Dense); ok {
		raw := d.RawMatrix()
		if raw.Stride == p {
			return n, p, raw.Data[:n*p]
		}
	}
	data = make([]float64, n*p)
	for i := range n {
		for j := range p {
			data[i*p+j] = X.At(i, j)
		}
	}
	return n, p, data
}

func isNilMatrix(X mat.Matrix) bool {
	if X == nil {
		return true
	}
	d, ok := X.(*mat.Dense)
	return ok && d == nil
}

// Fit boosts trees on X (n×p, NaN = missing) with labels y: 0/1 for Binary,
// class indices 0…NumClass−1 (as float64) for Multiclass. Xval and yval are
// an optional validation set (nil to omit) used for ValLoss and early
// stopping. Errors wrap ErrShape, ErrLabel or ErrParams. ±Inf feature values
// are allowed and fall into the end bins.
func Fit(X mat.Matrix, y []float64, Xval mat.Matrix, yval []float64, prm Params) (*Model, error) {
	n, p, xs := dense(X)
	prm, err := prm.withDefaults(p)
	if err != nil {
		return nil, err
	}
	if n == 0 || p == 0 {
		return nil, fmt.Errorf("%w: %d×%d design", ErrShape, n, p)
	}
	if len(y) != n {
		return nil, fmt.Errorf("%w: %d labels for %d rows", ErrShape, len(y), n)
	}
	K := prm.NumClass
	if err := checkLabels(y, K, "training"); err != nil {
		return nil, err
	}
	var nv int
	var xv []float64
	hasVal := !isNilMatrix(Xval)
	if hasVal {
		var pv int
		nv, pv, xv = dense(Xval)
		if pv != p || len(yval) != nv {
			return nil, fmt.Errorf("%w: validation set %d×%d with %d labels, training has %d features", ErrShape, nv, pv, len(yval), p)
		}
		if err := checkLabels(yval, K, "validation"); err != nil {
			return nil, err
		}
	}
	if prm.EarlyStoppingRounds > 0 && (!hasVal || nv == 0) {
		return nil, fmt.Errorf("%w: early stopping needs a validation set", ErrParams)
	}

	// Bin every feature.
	edges := make([][]float64, p)
	cols := make([][]uint8, p)
	vals := make([]float64, 0, n)
	for j := range p {
		vals = vals[:0]
		for i := range n {
			if v := xs[i*p+j]; !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		edges[j] = cutPoints(vals, prm.MaxBins)
		c := make([]uint8, n)
		for i := range n {
			c[i] = binOf(edges[j], xs[i*p+j])
		}
		cols[j] = c
	}

	nout := 1
	if prm.Objective == Multiclass {
		nout = K
	}
	m := &Model{
		Objective: prm.Objective, NumClass: K, NumFeatures: p,
		BaseScore: baseScore(y, prm.Objective, K),
		Gain:      make([]float64, p),
		Params:    prm,
	}
	if prm.Names != nil {
		m.Names = append([]string(nil), prm.Names...)
	}

	F := make([]float64, n*nout) // training margins, row-major
	for i := range n {
		copy(F[i*nout:], m.BaseScore)
	}
	var Fv []float64
	if hasVal {
		Fv = make([]float64, nv*nout)
		for i := range nv {
			copy(Fv[i*nout:], m.BaseScore)
		}
	}
	gh := make([][]float64, nout) // per output: gradient, hessian pairs per row
	for k := range nout {
		gh[k] = make([]float64, 2*n)
	}
	inSample := make([]bool, n)
	gr := newGrower(prm, cols, edges, n)
	rows := make([]int32, 0, n)
	prob := make([]float64, nout)
	gains := make([][]float64, 0, prm.Rounds) // per-round gain, for truncation
	best, bestRound := math.Inf(1), -1

	for round := range prm.Rounds {
		// Gradients and hessians at the current margins.
		for i := range n {
			fi := F[i*nout : (i+1)*nout]
			if nout == 1 {
				q := sigmoid(fi[0])
				gh[0][2*i] = q - y[i]
				gh[0][2*i+1] = math.Max(q*(1-q), 1e-16)
				continue
			}
			softmax(prob, fi)
			scale := float64(K) / float64(K-1)
			for k := range nout {
				t := 0.0
				if int(y[i]) == k {
					t = 1
				}
				gh[k][2*i] = prob[k] - t
				gh[k][2*i+1] = math.Max(scale*prob[k]*(1-prob[k]), 1e-16)
			}
		}
		// Row subsample for this round.
		rows = rows[:0]
		if prm.Subsample < 1 {
			rng := rand.New(rand.NewPCG(prm.Seed, uint64(round)))
			for i := range n {
				if rng.Float64() < prm.Subsample {
					rows = append(rows, int32(i))
				}
			}
		} else {
			for i := range n {
				rows = append(rows, int32(i))
			}
		}
		roundGain := make([]float64, p)
		for k := range nout {
			// grow permutes rows within the slice; restore order per tree so
			// every class sees ascending indices.
			rk := rows
			if k > 0 {
				slicesSortInt32(rk)
			}
			// Sampled rows take their leaf's value as the tree is grown;
			// the others are routed through the finished tree.
			t := gr.grow(rk, gh[k], roundGain, func(v float64, lr []int32) {
				for _, r := range lr {
					F[int(r)*nout+k] += v
				}
			})
			if len(rows) < n {
				for _, r := range rows {
					inSample[r] = true
				}
				for i := range n {
					if !inSample[i] {
						F[i*nout+k] += t.Nodes[t.leafBinned(cols, i)].Value
					}
				}
				for _, r := range rows {
					inSample[r] = false
				}
			}
			if hasVal {
				for i := range nv {
					Fv[i*nout+k] += t.Nodes[t.leaf(xv[i*p:(i+1)*p])].Value
				}
			}
			m.Trees = append(m.Trees, t)
		}
		gains = append(gains, roundGain)
		m.TrainLoss = append(m.TrainLoss, meanLoss(F, y, nout))
		if hasVal {
			l := meanLoss(Fv, yval, nout)
			m.ValLoss = append(m.ValLoss, l)
			if l < best {
				best, bestRound = l, round
			}
			if prm.EarlyStoppingRounds > 0 && round-bestRound >= prm.EarlyStoppingRounds {
				break
			}
		}
	}
	m.Rounds = len(m.Trees) / nout
	if prm.EarlyStoppingRounds > 0 && bestRound >= 0 {
		m.Rounds = bestRound + 1
		m.Trees = m.Trees[:m.Rounds*nout]
		m.TrainLoss = m.TrainLoss[:m.Rounds]
	}
	for r := range m.Rounds {
		for j := range p {
			m.Gain[j] += gains[r][j]
		}
	}
	return m, nil
}

func slicesSortInt32(s []int32) {
	// Rows are a permutation of a sorted set: counting would do, but a
	// plain sort is simple and cheap next to histogram building.
	sortInt32(s)
}

func checkLabels(y []float64, K int, which string) error {
	for i, v := range y {
		if v != math.Trunc(v) || v < 0 || int(v) >= K {
			return fmt.Errorf("%w: %s row %d label %v not in {0…%d}", ErrLabel, which, i, v, K-1)
		}
	}
	return nil
}

// baseScore returns the optimal constant margin: log-odds of the positive
// rate, or log class priors, with rates clipped to [1e-6, 1−1e-6].
func baseScore(y []float64, obj Objective, K int) []float64 {
	counts := make([]float64, K)
	for _, v := range y {
		counts[int(v)]++
	}
	clip := func(r float64) float64 { return math.Min(math.Max(r, 1e-6), 1-1e-6) }
	n := float64(len(y))
	if obj == Binary {
		r := clip(counts[1] / n)
		return []float64{math.Log(r / (1 - r))}
	}
	b := make([]float64, K)
	for k := range K {
		b[k] = math.Log(clip(counts[k] / n))
	}
	return b
}

// meanLoss is the mean log loss of margins F (row-major, nout per row).
func meanLoss(F, y []float64, nout int) float64 {
	var s float64
	n := len(y)
	for i := range n {
		if nout == 1 {
			z := F[i]
			s += softplus(z) - y[i]*z
			continue
		}
		f := F[i*nout : (i+1)*nout]
		s += logSumExp(f) - f[int(y[i])]
	}
	return s / float64(n)
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func softplus(z float64) float64 { return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) }

func logSumExp(f []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range f {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range f {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// softmax writes softmax(f) into dst, stably.
func softmax(dst, f []float64) {
	mx := math.Inf(-1)
	for _, v := range f {
		mx = math.Max(mx, v)
	}
	var s float64
	for k, v := range f {
		dst[k] = math.Exp(v - mx)
		s += dst[k]
	}
	for k := range dst {
		dst[k] /= s
	}
}

func (m *Model) check(x []float64) {
	if len(x) != m.NumFeatures {
		panic(fmt.Sprintf("gbt: input has %d features, model has %d", len(x), m.NumFeatures))
	}
}

// Margin returns the raw margins F(x): one log-odds for Binary, NumClass
// logits for Multiclass. NaN features follow the learned default
// directions. It panics if len(x) != NumFeatures.
func (m *Model) Margin(x []float64) []float64 {
	m.check(x)
	K := m.NumOutputs()
	f := make([]float64, K)
	c := m.compiled()
	for k := range K {
		f[k] = c.sum(m.BaseScore[k], x, k, K)
	}
	return f
}

// PredictProba returns the class probabilities of x: [1−p, p] for Binary
// and the softmax of the margins for Multiclass. It panics if
// len(x) != NumFeatures.
func (m *Model) PredictProba(x []float64) []float64 {
	f := m.Margin(x)
	if m.Objective == Binary {
		p := sigmoid(f[0])
		return []float64{1 - p, p}
	}
	out := make([]float64, len(f))
	softmax(out, f)
	return out
}

// Predict returns P(y=1 | x) for a Binary model. It panics for Multiclass
// or if len(x) != NumFeatures.
func (m *Model) Predict(x []float64) float64 {
	if m.Objective != Binary {
		panic("gbt: Predict on a multiclass model; use PredictProba")
	}
	m.check(x)
	return sigmoid(m.compiled().sum(m.BaseScore[0], x, 0, 1))
}

// PredictClass returns the most probable class of x (lowest index on ties).
func (m *Model) PredictClass(x []float64) int {
	f := m.Margin(x)
	if m.Objective == Binary {
		if f[0] > 0 {
			return 1
		}
		return 0
	}
	best := 0
	for k := range f {
		if f[k] > f[best] {
			best = k
		}
	}
	return best
}

// PredictBatch returns P(y=1) (Binary) for every row of X, or the flattened
// n×NumClass probabilities (Multiclass).
func (m *Model) PredictBatch(X mat.Matrix) []float64 {
	n, p, xs := dense(X)
	var out []float64
	for i := range n {
		pr := m.PredictProba(xs[i*p : (i+1)*p])
		if m.Objective == Binary {
			out = append(out, pr[1])
		} else {
			out = append(out, pr...)
		}
	}
	return out
}

// Contributions returns the Saabas contributions of x: for each output k
// (one for Binary, NumClass for Multiclass) a block of NumFeatures+1 values,
// the contribution of each feature to margin k followed by the bias, so
// that the block sums to Margin(x)[k] (up to rounding). The layout is that
// of XGBoost's pred_contribs. It panics if len(x) != NumFeatures.
func (m *Model) Contributions(x []float64) []float64 {
	m.check(x)
	K, p := m.NumOutputs(), m.NumFeatures
	c := make([]float64, K*(p+1))
	for k := range K {
		c[k*(p+1)+p] = m.BaseScore[k]
	}
	for ti := range m.Trees {
		t := &m.Trees[ti]
		blk := c[(ti%K)*(p+1) : (ti%K+1)*(p+1)]
		blk[p] += t.Nodes[0].Value
		i := int32(0)
		for {
			n := &t.Nodes[i]
			if n.Feature < 0 {
				break
			}
			v := x[n.Feature]
			next := n.Right
			if (v != v && n.DefaultLeft) || v <= n.Threshold {
				next = n.Left
			}
			blk[n.Feature] += t.Nodes[next].Value - n.Value
			i = next
		}
	}
	return c
}

// PredictContributions is Predict and Contributions of a Binary model in one
// walk of each tree: it returns Predict(x) and fills c (len NumFeatures+1)
// with Contributions(x), both bit for bit. It panics if len(x) !=
// NumFeatures, len(c) != NumFeatures+1 or the model is Multiclass.
func (m *Model) PredictContributions(x, c []float64) float64 {
	if m.Objective != Binary {
		panic("gbt: PredictContributions on a multiclass model")
	}
	m.check(x)
	p := m.NumFeatures
	if len(c) != p+1 {
		panic(fmt.Sprintf("gbt: PredictContributions with %d contribution slots, want %d", len(c), p+1))
	}
	clear(c)
	c[p] = m.BaseScore[0]
	f := m.BaseScore[0]
	// The compiled trees (compiled.go): the side is chosen without a branch;
	// a leaf points to itself, which ends the walk.
	trees := m.compiled().trees
	for ti := range trees {
		t := &trees[ti]
		c[p] += t.value[0]
		i := int32(0)
		for range t.depth {
			next := t.step(i, x)
			if next == i {
				break
			}
			c[t.nodes[i].feat] += t.value[next] - t.value[i]
			i = next
		}
		f += t.value[i]
	}
	return sigmoid(f)
}

// Importance returns the total split gain per feature, normalised to sum
// to 1 (all zeros for a model without splits).
func (m *Model) Importance() []float64 {
	out := make([]float64, len(m.Gain))
	var s float64
	for _, g := range m.Gain {
		s += g
	}
	if s == 0 {
		return out
	}
	for j, g := range m.Gain {
		out[j] = g / s
	}
	return out
}
