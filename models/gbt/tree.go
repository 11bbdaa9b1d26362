package gbt

import (
	"slices"
	"sync"
)

// Node is one node of a tree. A leaf has Feature < 0.
type Node struct {
	Feature     int     `json:"f"`           // split feature, −1 for a leaf
	Threshold   float64 `json:"t,omitempty"` // go left if x ≤ Threshold
	DefaultLeft bool    `json:"d,omitempty"` // where NaN goes
	Left        int32   `json:"l,omitempty"`
	Right       int32   `json:"r,omitempty"`
	Value       float64 `json:"v"`           // η·(−G/(H+λ)) of the node's training rows
	Gain        float64 `json:"g,omitempty"` // split gain (internal nodes)
	Cover       float64 `json:"c"`           // hessian sum H of the node's rows

	bin int // split bin for training-time traversal on binned data
}

// Tree is one regression tree; Nodes[0] is the root.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// leaf returns the index of the leaf reached by x.
func (t *Tree) leaf(x []float64) int32 {
	i := int32(0)
	for {
		n := &t.Nodes[i]
		if n.Feature < 0 {
			return i
		}
		v := x[n.Feature]
		switch {
		case v != v: // NaN
			if n.DefaultLeft {
				i = n.Left
			} else {
				i = n.Right
			}
		case v <= n.Threshold:
			i = n.Left
		default:
			i = n.Right
		}
	}
}

// split is a candidate split of a node.
type split struct {
	ok          bool
	feature     int
	bin         int
	defaultLeft bool
	gain        float64
	gl, hl      float64
	gr, hr      float64
}

// grower builds trees on binned data.
type grower struct {
	p      Params
	cols   [][]uint8   // binned features, column-major
	edges  [][]float64 // bin edges per feature
	nf     int
	pool   sync.Pool // *[]float64 histograms of nf*256*2
	left   []int32   // scratch for partitioning
	right  []int32
	splitB []split // per-feature best split scratch
}

func newGrower(p Params, cols [][]uint8, edges [][]float64, n int) *grower {
	g := &grower{p: p, cols: cols, edges: edges, nf: len(cols)}
	size := g.nf * 256 * 2
	g.pool.New = func() any { h := make([]float64, size); return &h }
	g.left = make([]int32, 0, n)
	g.right = make([]int32, 0, n)
	g.splitB = make([]split, g.nf)
	return g
}

func (g *grower) getHist() *[]float64 {
	h := g.pool.Get().(*[]float64)
	clear(*h)
	return h
}

// buildHist sums the gradient and hessian pairs gh[2r], gh[2r+1] of rows
// into h per (feature, bin), splitting the features among workers.
func (g *grower) buildHist(h []float64, rows []int32, gh []float64) {
	work := func(f0, f1 int) {
		for f := f0; f < f1; f++ {
			col := g.cols[f]
			hf := h[f*512 : (f+1)*512]
			for _, r := range rows {
				b := int(col[r]) * 2
				hf[b] += gh[2*r]
				hf[b+1] += gh[2*r+1]
			}
		}
	}
	w := g.p.Workers
	if w <= 1 || len(rows)*g.nf < 1<<15 {
		work(0, g.nf)
		return
	}
	w = min(w, g.nf)
	var wg sync.WaitGroup
	for k := range w {
		f0, f1 := k*g.nf/w, (k+1)*g.nf/w
		wg.Add(1)
		go func() { defer wg.Done(); work(f0, f1) }()
	}
	wg.Wait()
}

// bestSplit scans the histogram for the split of maximal gain.
func (g *grower) bestSplit(h []float64, G, H float64) split {
	lambda, mcw := g.p.Lambda, g.p.MinChildWeight
	parent := G * G / (H + lambda)
	best := split{}
	for f := range g.nf {
		nb := len(g.edges[f])
		if nb < 2 {
			continue
		}
		hf := h[f*512 : (f+1)*512]
		gn, hn := hf[2*NaNBin], hf[2*NaNBin+1]
		var gl, hl float64
		for t := 0; t+1 < nb; t++ {
			gl += hf[2*t]
			hl += hf[2*t+1]
			// Missing values to the right.
			lg, lh := gl, hl
			rg, rh := G-gl, H-hl
			if lh >= mcw && rh >= mcw && lh > 0 && rh > 0 {
				gain := 0.5*(lg*lg/(lh+lambda)+rg*rg/(rh+lambda)-parent) - g.p.MinSplitGain
				if gain > best.gain {
					best = split{ok: true, feature: f, bin: t, defaultLeft: hn == 0 && lh >= rh,
						gain: gain, gl: lg, hl: lh, gr: rg, hr: rh}
				}
			}
			if hn == 0 {
				continue
			}
			// Missing values to the left.
			lg, lh = gl+gn, hl+hn
			rg, rh = G-lg, H-lh
			if lh >= mcw && rh >= mcw && lh > 0 && rh > 0 {
				gain := 0.5*(lg*lg/(lh+lambda)+rg*rg/(rh+lambda)-parent) - g.p.MinSplitGain
				if gain > best.gain {
					best = split{ok: true, feature: f, bin: t, defaultLeft: true,
						gain: gain, gl: lg, hl: lh, gr: rg, hr: rh}
				}
			}
		}
	}
	return best
}

// cand is a leaf that may still be split.
type cand struct {
	node  int32
	rows  []int32
	hist  *[]float64
	g, h  float64
	depth int
	split split
}

func (g *grower) value(G, H float64) float64 {
	return -g.p.LearningRate * G / (H + g.p.Lambda)
}

// grow builds one tree on rows (ascending indices, modified in place) for
// the gradient/hessian pairs gh. gain accumulates split gain per feature;
// onLeaf, if not nil, receives the value and rows of every final leaf.
func (g *grower) grow(rows []int32, gh []float64, gain []float64, onLeaf func(value float64, rows []int32)) Tree {
	var G, H float64
	for _, r := range rows {
		G += gh[2*r]
		H += gh[2*r+1]
	}
	t := Tree{Nodes: []Node{{Feature: -1, Value: g.value(G, H), Cover: H}}}
	maxDepth := g.p.MaxDepth
	canSplit := func(depth int) bool { return maxDepth < 0 || depth < maxDepth }
	root := cand{node: 0, rows: rows, g: G, h: H}
	if canSplit(0) && len(rows) > 1 {
		root.hist = g.getHist()
		g.buildHist(*root.hist, rows, gh)
		root.split = g.bestSplit(*root.hist, G, H)
	}
	cands := []cand{root}
	leaves := 1
	for len(cands) > 0 {
		k := 0
		if g.p.Growth == LeafWise {
			for i := range cands {
				if cands[i].split.gain > cands[k].split.gain {
					k = i
				}
			}
		}
		c := cands[k]
		cands = append(cands[:k], cands[k+1:]...)
		if !c.split.ok || !canSplit(c.depth) || (g.p.MaxLeaves > 0 && leaves >= g.p.MaxLeaves) {
			if c.hist != nil {
				g.pool.Put(c.hist)
			}
			if onLeaf != nil {
				onLeaf(t.Nodes[c.node].Value, c.rows)
			}
			continue
		}
		s := c.split
		// Partition rows stably into left and right.
		col := g.cols[s.feature]
		lrows, rrows := g.left[:0], g.right[:0]
		for _, r := range c.rows {
			b := int(col[r])
			if (b == NaNBin && s.defaultLeft) || (b != NaNBin && b <= s.bin) {
				lrows = append(lrows, r)
			} else {
				rrows = append(rrows, r)
			}
		}
		nl := len(lrows)
		copy(c.rows, lrows)
		copy(c.rows[nl:], rrows)
		lr, rr := c.rows[:nl:nl], c.rows[nl:]

		li, ri := int32(len(t.Nodes)), int32(len(t.Nodes)+1)
		nd := &t.Nodes[c.node]
		nd.Feature = s.feature
		nd.Threshold = g.edges[s.feature][s.bin]
		nd.DefaultLeft = s.defaultLeft
		nd.Left, nd.Right = li, ri
		nd.Gain = s.gain
		nd.bin = s.bin
		gain[s.feature] += s.gain
		t.Nodes = append(t.Nodes,
			Node{Feature: -1, Value: g.value(s.gl, s.hl), Cover: s.hl},
			Node{Feature: -1, Value: g.value(s.gr, s.hr), Cover: s.hr})
		leaves++

		lc := cand{node: li, rows: lr, g: s.gl, h: s.hl, depth: c.depth + 1}
		rc := cand{node: ri, rows: rr, g: s.gr, h: s.hr, depth: c.depth + 1}
		if canSplit(c.depth + 1) {
			// Build the smaller child, subtract for the larger.
			small, large := &lc, &rc
			if len(rr) < len(lr) {
				small, large = &rc, &lc
			}
			small.hist = g.getHist()
			g.buildHist(*small.hist, small.rows, gh)
			large.hist = c.hist
			ph, sh := *large.hist, *small.hist
			for i := range ph {
				ph[i] -= sh[i]
			}
			c.hist = nil
			lc.split = g.bestSplit(*lc.hist, lc.g, lc.h)
			rc.split = g.bestSplit(*rc.hist, rc.g, rc.h)
		}
		if c.hist != nil {
			g.pool.Put(c.hist)
		}
		cands = append(cands, lc, rc)
	}
	return t
}

// leafBinned returns the leaf reached by row r of the binned data.
func (t *Tree) leafBinned(cols [][]uint8, r int) int32 {
	i := int32(0)
	for {
		n := &t.Nodes[i]
		if n.Feature < 0 {
			return i
		}
		b := int(cols[n.Feature][r])
		if (b == NaNBin && n.DefaultLeft) || (b != NaNBin && b <= n.bin) {
			i = n.Left
		} else {
			i = n.Right
		}
	}
}

func sortInt32(s []int32) { slices.Sort(s) }
