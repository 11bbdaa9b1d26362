package gbt

import (
	"math"
)

// flatNode is a node laid out for prediction: 24 bytes instead of Node's 64,
// and a leaf points to itself whatever x holds, so that a walk takes a
// fixed number of steps (the tree's depth) and each step is branch-free.
type flatNode struct {
	thr   float64  // go left if x ≤ thr; +Inf at a leaf
	feat  int32    // 0 at a leaf
	child [2]int32 // left, right; the node itself at a leaf
	nan   int32    // the child NaN goes to; the node itself at a leaf
}

// flatTree is one compiled tree.
type flatTree struct {
	nodes []flatNode
	value []float64 // Node.Value by node index
	depth int       // longest root-to-leaf path, in edges
}

// compiled is the prediction form of a model, built once on first use.
type compiled struct{ trees []flatTree }

// compiled returns the model's compiled form, building it on first use. It
// is safe for concurrent use: racing builders store identical values.
func (m *Model) compiled() *compiled {
	if c := m.flat.Load(); c != nil {
		return c
	}
	c := &compiled{trees: make([]flatTree, len(m.Trees))}
	for ti := range m.Trees {
		c.trees[ti] = compileTree(&m.Trees[ti])
	}
	m.flat.Store(c)
	return c
}

func compileTree(t *Tree) flatTree {
	ft := flatTree{nodes: make([]flatNode, len(t.Nodes)), value: make([]float64, len(t.Nodes))}
	for i, n := range t.Nodes {
		ft.value[i] = n.Value
		if n.Feature < 0 {
			ft.nodes[i] = flatNode{thr: math.Inf(1), child: [2]int32{int32(i), int32(i)}, nan: int32(i)}
			continue
		}
		nan := n.Right
		if n.DefaultLeft {
			nan = n.Left
		}
		thr := n.Threshold
		if thr == 0 {
			thr = 0 // −0 → +0: the sign test below needs thr − x = +0 at x = ±0
		}
		ft.nodes[i] = flatNode{thr: thr, feat: int32(n.Feature), child: [2]int32{n.Left, n.Right}, nan: nan}
	}
	// The depth, by a walk from the root (a tree has len(Nodes) − 1 edges at most).
	type item struct{ node, depth int32 }
	stack := []item{{0, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := &t.Nodes[it.node]
		if n.Feature < 0 || int(it.depth) >= len(t.Nodes) {
			ft.depth = max(ft.depth, int(it.depth))
			continue
		}
		stack = append(stack, item{n.Left, it.depth + 1}, item{n.Right, it.depth + 1})
	}
	return ft
}

// leaf returns the index of the leaf x reaches: the same as Tree.leaf.
// The side is taken from the sign bit of thr − x (set exactly when x > thr,
// ±Inf included), so the only branch left is the rare, well-predicted NaN.
func (t *flatTree) leaf(x []float64) int32 {
	i := int32(0)
	for range t.depth {
		n := &t.nodes[i]
		v := x[n.feat]
		if v != v {
			i = n.nan
			continue
		}
		i = n.child[math.Float64bits(n.thr-v)>>63]
	}
	return i
}

// step moves one level down from node i of t towards x's leaf.
func (t *flatTree) step(i int32, x []float64) int32 {
	n := &t.nodes[i]
	v := x[n.feat]
	if v != v {
		return n.nan
	}
	return n.child[math.Float64bits(n.thr-v)>>63]
}

// sum returns f0 + Σ value(leaf(x)) over trees k, k+stride, k+2·stride, …,
// added in tree order (as training adds them, so margins agree bit for
// bit) — margin k when f0 is its base score and stride = K. Four trees are
// walked in lockstep: each walk is a chain of dependent loads, and four
// independent chains keep the CPU busy (a leaf points to itself, so a
// shallower tree simply stays at its leaf).
func (c *compiled) sum(f0 float64, x []float64, k, stride int) float64 {
	trees := c.trees
	f := f0
	ti := k
	for ; ti+3*stride < len(trees); ti += 4 * stride {
		t0, t1, t2, t3 := &trees[ti], &trees[ti+stride], &trees[ti+2*stride], &trees[ti+3*stride]
		var i0, i1, i2, i3 int32
		for range max(t0.depth, t1.depth, t2.depth, t3.depth) {
			i0, i1, i2, i3 = t0.step(i0, x), t1.step(i1, x), t2.step(i2, x), t3.step(i3, x)
		}
		f += t0.value[i0]
		f += t1.value[i1]
		f += t2.value[i2]
		f += t3.value[i3]
	}
	for ; ti < len(trees); ti += stride {
		f += trees[ti].value[trees[ti].leaf(x)]
	}
	return f
}
