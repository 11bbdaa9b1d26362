package synth

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/churnpipe/churnpipe/data"
)

// ks returns the Kolmogorov–Smirnov statistic of sample x against cdf.
func ks(x []float64, cdf func(float64) float64) float64 {
	slices.Sort(x)
	n := float64(len(x))
	var d float64
	for i, v := range x {
		f := cdf(v)
		d = max(d, math.Abs(f-float64(i)/n), math.Abs(float64(i+1)/n-f))
	}
	return d
}

// TestSamplers checks the samplers against gonum's distributions with a KS
// test at the 0.1 % level (critical value 1.95/√n), and moments.
func TestSamplers(t *testing.T) {
	const n = 20000
	crit := 1.95 / math.Sqrt(n)
	r := rand.New(rand.NewPCG(1, 2))
	// Shapes: CDNOW BG/NBD r and α (FHL 2005), the defaults, Gamma-Gamma γ.
	for _, a := range []float64{0.05, 0.243, 0.9, 1, 4.414, 15.44} {
		x := make([]float64, n)
		for i := range x {
			x[i] = gammaRate(r, a, 2)
		}
		d := ks(x, distuv.Gamma{Alpha: a, Beta: 2}.CDF)
		assert.Less(t, d, crit, "Gamma(%v, rate 2): KS %v", a, d)
	}
	for _, ab := range [][2]float64{{0.793, 2.426}, {0.9, 9}, {2, 2}} {
		x := make([]float64, n)
		for i := range x {
			x[i] = beta(r, ab[0], ab[1])
			require.True(t, x[i] >= 0 && x[i] <= 1)
		}
		d := ks(x, distuv.Beta{Alpha: ab[0], Beta: ab[1]}.CDF)
		assert.Less(t, d, crit, "Beta%v: KS %v", ab, d)
	}
	// Poisson: mean = variance = m; standard error of the mean √(m/n).
	for _, m := range []float64{0.5, 2.1, 25, 40} {
		var s, s2 float64
		for range n {
			k := float64(poisson(r, m))
			s += k
			s2 += k * k
		}
		mean := s / n
		v := s2/n - mean*mean
		assert.InDelta(t, m, mean, 4*math.Sqrt(m/n), "Poisson(%v) mean", m)
		assert.InEpsilon(t, m, v, 0.06, "Poisson(%v) variance", m)
	}
	assert.Equal(t, 0, poisson(r, 0))
	// Geometric on {1,2,…}: mean 1/p, sd √(1−p)/p.
	for _, p := range []float64{0.05, 0.5} {
		var s float64
		for range n {
			s += float64(geometric(r, p))
		}
		assert.InDelta(t, 1/p, s/n, 4*math.Sqrt(1-p)/p/math.Sqrt(n), "Geometric(%v)", p)
	}
	assert.Equal(t, 1, geometric(r, 1))
	assert.Equal(t, maxRepeats, geometric(r, 0))
}

func TestAppendID(t *testing.T) {
	for _, tc := range []struct {
		i, width int
		want     string
	}{{0, 7, "C0000001"}, {9, 7, "C0000010"}, {9_999_999, 8, "C10000000"}, {41, 3, "C042"}} {
		assert.Equal(t, tc.want, string(appendID(nil, tc.i, tc.width)))
	}
}

func TestIntraday(t *testing.T) {
	// Monotone, maps [0,1) into [0,1), and quiet at night: 00:00–06:00 carry
	// (1+0.5+0.3+0.2+0.2+0.3)/Σ weights = 2.5/73.2 ≈ 3.4 % of the mass.
	prev := -1.0
	night := 0
	const n = 100000
	for i := range n {
		f := intraday((float64(i) + 0.5) / n)
		require.True(t, f > prev && f >= 0 && f < 1)
		prev = f
		if f < 0.25 {
			night++
		}
	}
	assert.InDelta(t, 2.5/73.2, float64(night)/n, 0.001)
}

// bgnbdEX is E[X(t)] of BG/NBD, Fader, Hardie & Lee (2005) eq. 9.
func bgnbdEX(r, alpha, a, b, t float64) float64 {
	return (a + b - 1) / (a - 1) * (1 - math.Pow(alpha/(alpha+t), r)*mathext.Hypergeo(r, b, a+b-1, t/(alpha+t)))
}

// TestBGNBDRecovery generates the plain model (every realism layer off) and
// compares, over 20,000 customers, the observed repeat purchases with the
// BG/NBD closed forms of FHL (2005) given each customer's observed T (days
// from first purchase to the end of the window):
//
//	P(X(T)=0) = (α/(α+T))^r
//	P(X(T)=1) = b/(a+b)·r·(α/(α+T))^r·T/(α+T) + a/(a+b)·(1 − (α/(α+T))^r)
//	E[X(T)]   = (a+b−1)/(a−1)·(1 − (α/(α+T))^r ₂F₁(r, b; a+b−1; T/(α+T)))
//
// A = 1.5 keeps E[X] of finite variance so the tolerance can be tight; the
// mean spend must be P·γ/(Q−1) (Gamma-Gamma).
func TestBGNBDRecovery(t *testing.T) {
	const n = 20000
	cfg := plainConfig(n, 21)
	cfg.A, cfg.B = 1.5, 6
	rows, _, _, _ := collect(t, cfg)
	custs := customerRows(rows)
	end := float64(winEnd.UnixMilli()+data.MillisPerDay) / data.MillisPerDay

	var obsX, expX, obs0, exp0, obs1, exp1, spend float64
	var nPurch int
	buyers := 0
	r, al, a, b := cfg.R, cfg.Alpha, cfg.A, cfg.B
	for _, c := range custs {
		var first float64 = -1
		x := -1
		for _, e := range c {
			if e.typ == data.EventPurchase {
				if first < 0 {
					first = float64(e.ms) / data.MillisPerDay
				}
				x++
				spend += e.amount
				nPurch++
			}
		}
		require.GreaterOrEqual(t, x, 0, "plain config has no prospects")
		buyers++
		T := end - first
		q := math.Pow(al/(al+T), r)
		obsX += float64(x)
		expX += bgnbdEX(r, al, a, b, T)
		if x == 0 {
			obs0++
		}
		if x == 1 {
			obs1++
		}
		exp0 += q
		exp1 += b/(a+b)*r*q*T/(al+T) + a/(a+b)*(1-q)
	}
	require.Equal(t, n, buyers)
	t.Logf("repeat purchases %.0f vs E %.0f; P0 %.4f vs %.4f; P1 %.4f vs %.4f; mean spend %.2f",
		obsX, expX, obs0/n, exp0/n, obs1/n, exp1/n, spend/float64(nPurch))
	assert.InEpsilon(t, expX, obsX, 0.05, "E[X(T)]")
	assert.InDelta(t, exp0/n, obs0/n, 0.015, "P(X(T)=0)")
	assert.InDelta(t, exp1/n, obs1/n, 0.012, "P(X(T)=1)")
	assert.InEpsilon(t, cfg.P*cfg.Gamma/(cfg.Q-1), spend/float64(nPurch), 0.04, "Gamma-Gamma mean spend")
}

// TestRateRecovery checks the generating truth against the events, with the
// default (realistic) configuration: by Wald's identity the expected number
// of BG/NBD transactions up to a stopping time τ (death or the end of the
// window) is λ·∫ season(t)·dt over the exposure; same-day extra baskets add a
// factor 1 + SameDayRate. Customers with a warning or a ramp are left out
// (their rate is deliberately lower); only the first life counts. It also
// checks the population moments of λ (mean R/Alpha) and p (mean A/(A+B)).
func TestRateRecovery(t *testing.T) {
	const n = 30000
	cfg := DefaultConfig(n, winStart, winEnd, 77)
	pl, err := newPlan(cfg)
	require.NoError(t, err)
	s := newSim(pl)
	cum := make([]float64, pl.n+1) // cum[d] = ∫_0^d season
	for d, v := range pl.season {
		cum[d+1] = cum[d] + v
	}
	integral := func(t float64) float64 {
		d := int(t)
		if d >= pl.n {
			return cum[pl.n]
		}
		return cum[d] + (t-float64(d))*pl.season[d]
	}
	var prof Profile
	var obs, exp, sumL, sumP float64
	buyers := 0
	for i := range n {
		s.ev = s.ev[:0]
		s.customer(i, &prof)
		if prof.Prospect {
			continue
		}
		buyers++
		sumL += prof.Lambda
		sumP += prof.P
		if prof.Warning || prof.Growing {
			continue
		}
		stop := min(prof.FirstDeath, pl.nf)
		for _, e := range s.ev {
			if e.kind() == kindPurchase && e.t > prof.Acquired && e.t <= stop {
				obs++
			}
		}
		exp += (1 + cfg.SameDayRate) * prof.Lambda * (integral(stop) - integral(prof.Acquired))
	}
	t.Logf("purchases per alive customer-day: observed %.0f expected %.0f (ratio %.3f); mean λ %.4f (R/α %.4f); mean p %.4f (A/(A+B) %.4f)",
		obs, exp, obs/exp, sumL/float64(buyers), cfg.R/cfg.Alpha, sumP/float64(buyers), cfg.A/(cfg.A+cfg.B))
	assert.InEpsilon(t, exp, obs, 0.04, "purchases vs λ·exposure")
	// sd(λ) = √R/α = 0.0316 → se 0.0002; sd(p) ≈ 0.087 → se 0.0005.
	assert.InDelta(t, cfg.R/cfg.Alpha, sumL/float64(buyers), 0.001, "mean λ")
	assert.InDelta(t, cfg.A/(cfg.A+cfg.B), sumP/float64(buyers), 0.003, "mean p")
}

func TestSortEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 10, 100, 5000} {
		for _, shuffle := range []int{0, 3, n} { // sorted, nearly sorted, random
			ev := make([]event, n)
			for i := range ev {
				ev[i].key = int64(i / 2) // ties too
				ev[i].t = float64(i)
			}
			for range shuffle {
				if n > 1 {
					i, j := r.IntN(n), r.IntN(n)
					ev[i], ev[j] = ev[j], ev[i]
				}
			}
			sortEvents(ev)
			assert.True(t, slices.IsSortedFunc(ev, func(a, b event) int { return cmp.Compare(a.key, b.key) }), "n=%d shuffle=%d", n, shuffle)
		}
	}
}
