package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
)

// BootstrapMeanAUC returns the percentile 95 % interval of the mean over
// the snapshots of the AUC, each snapshot's customers resampled with
// replacement (B replicates, seeded). ys[k] and scores[k] are snapshot k's
// labels and scores. Each replicate is a weighted Mann-Whitney AUC over the
// scores sorted once (weights = multiplicities), so a replicate costs O(n).
// Replicates where a snapshot has a single class are dropped; NaN, NaN if
// none remains.
func BootstrapMeanAUC(ys, scores [][]float64, B int, seed uint64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed, 0xa0c))
	type sorted struct {
		idx    []int
		groups []int // start of each tie group in idx, plus len
	}
	ss := make([]sorted, len(ys))
	for k := range ys {
		checkLen(len(ys[k]), len(scores[k]))
		idx := argsortAsc(scores[k])
		var g []int
		for i := range idx {
			if i == 0 || scores[k][idx[i]] != scores[k][idx[i-1]] {
				g = append(g, i)
			}
		}
		ss[k] = sorted{idx, append(g, len(idx))}
	}
	means := make([]float64, 0, B)
	var w []float64
	for b := 0; b < B; b++ {
		var sum float64
		ok := true
		for k := range ys {
			n := len(ys[k])
			w = slices.Grow(w[:0], n)[:n]
			clear(w)
			for i := 0; i < n; i++ {
				w[rng.IntN(n)]++
			}
			var negBelow, num, P, N float64
			s := ss[k]
			for g := 0; g+1 < len(s.groups); g++ {
				var pos, neg float64
				for _, i := range s.idx[s.groups[g]:s.groups[g+1]] {
					if isPos(ys[k][i]) {
						pos += w[i]
					} else {
						neg += w[i]
					}
				}
				num += pos * (negBelow + neg/2)
				negBelow += neg
				P += pos
				N += neg
			}
			if P == 0 || N == 0 {
				ok = false
				break
			}
			sum += num / (P * N)
		}
		if ok {
			means = append(means, sum/float64(len(ys)))
		}
	}
	if len(means) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(means)
	q := func(p float64) float64 { return means[int(math.Round(p*float64(len(means)-1)))] }
	return q(0.025), q(0.975)
}
