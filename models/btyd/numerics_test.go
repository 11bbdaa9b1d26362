package btyd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"gonum.org/v1/gonum/integrate/quad"
)

// cdnowModels are the CDNOW fits (FHL 2005, BTYDplus), used where any
// realistic parameter set will do.
var cdnowModels = []CountModel{
	BGNBD{R: 0.2425945, Alpha: 4.4136019, A: 0.7929199, B: 2.4258881},
	MBGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
	ParetoNBD{R: 0.55315, Alpha: 10.57633, S: 0.60625, Beta: 11.67150},
}

// bgExpected is checked against direct numerical integration of its
// definition, E_p[(1/p)(1 - (A/(A+p t))^R)] with p ~ Beta(a, B) (the
// posterior of an alive BG/NBD customer), using p = u^(1/a) to remove the
// p^(a-1) singularity.
func TestBGExpectedMatchesQuadrature(t *testing.T) {
	cases := []struct{ t, R, A, a, B float64 }{
		{39, 2.24, 43.27, 0.79, 4.43},      // CDNOW customer, BG/NBD posterior
		{52, 0.2426, 4.4136, 0.7929, 2.43}, // new customer, CDNOW fit
		{10, 5, 2, 3.5, 1.2},
		{500, 1.5, 7, 0.4, 1.1},
		{3, 100.5, 20, 1.3, 101},             // heavy buyer
		{52, 0.5, 4, 1.0, 2},                 // a = 1 limit
		{52, 104.05, 4.718, 99.48, 105.65},   // fuzz regression: z = 0.917, positive-term series
		{1e4, 0.3, 1, 0.5, 0.9},              // z ≈ 1, 1-z transformation
		{90, 134.29, 0.00745, 134.29, 60.34}, // fuzz regression: z ≈ 1 and c-a-b = -1 exactly
	}
	for _, c := range cases {
		lb := lgam(c.a) + lgam(c.B) - lgam(c.a+c.B)
		f := func(u float64) float64 {
			p := math.Pow(u, 1/c.a)
			if p == 0 {
				return math.Exp(-lb) / c.a * c.R * c.t / c.A
			}
			h := -math.Expm1(-c.R*math.Log1p(p*c.t/c.A)) / p
			return math.Exp((c.B-1)*math.Log1p(-p)-lb) / c.a * h
		}
		if c.a >= 2 && c.B >= 2 {
			// Smooth density: integrate over p directly.
			f = func(p float64) float64 {
				h := -math.Expm1(-c.R*math.Log1p(p*c.t/c.A)) / p
				return math.Exp((c.a-1)*math.Log(p)+(c.B-1)*math.Log1p(-p)-lb) * h
			}
		}
		want := quad.Fixed(f, 0, 1, 4000, quad.Legendre{}, 0)
		got := bgExpected(c.t, c.R, c.A, c.a, c.B)
		assert.InDeltaf(t, want, got, 1e-6*math.Max(1, want), "%+v", c)
	}
}

// lnParetoIntegral is checked against Gauss-Legendre quadrature of its
// integrand in both branches (A ≥ B and A < B).
func TestParetoIntegralMatchesQuadrature(t *testing.T) {
	cases := []struct{ R, S, A, B, lo, hi float64 }{
		{26.55, 0.606, 10.58, 11.67, 30.857, 31},     // customer 1516
		{0.55, 0.606, 10.58, 11.67, 0, 38.86},        // x = 0
		{2.55, 0.606, 11.67, 10.58, 5, 38},           // A ≥ B
		{1.2, 3, 0.5, 40, 0, 100},                    // A ≪ B
		{1.2, 0.2, 40, 0.5, 0, 100},                  // A ≫ B (2F1 argument near 1)
		{10.5, 1, 1, 1, 0.1, 0.2},                    // A = B
		{0.55, 0.606, 10.58 + 31, 11.67 + 31, 0, 52}, // ProbNoPurchase form
	}
	for _, c := range cases {
		f := func(tau float64) float64 {
			return math.Exp(-c.R*math.Log(c.A+tau) - (c.S+1)*math.Log(c.B+tau))
		}
		// Split the range so the peaked integrands are resolved.
		var want float64
		const parts = 50
		for k := 0; k < parts; k++ {
			lo := c.lo + (c.hi-c.lo)*float64(k)/parts
			hi := c.lo + (c.hi-c.lo)*float64(k+1)/parts
			want += quad.Fixed(f, lo, hi, 40, quad.Legendre{}, 0)
		}
		got := math.Exp(lnParetoIntegral(c.R, c.S, c.A, c.B, c.lo, c.hi))
		assert.InDeltaf(t, want, got, 1e-9*want, "%+v", c)
	}
	assert.True(t, math.IsInf(lnParetoIntegral(1, 1, 1, 1, 3, 3), -1), "empty range")
}

// Heavy buyers and degenerate histories must give finite answers in range:
// the failures reported in lifetimes #25/#332 and CLVTools #100 were NaN or
// overflow for large x, t_x = T and tiny T.
func TestHeavyBuyersAndEdgeCasesFinite(t *testing.T) {
	hist := []struct{ x, tx, T float64 }{
		{1000, 52, 52}, {1000, 1, 52}, {1000, 1e-6, 1e-6}, {1000, 0.5e-6, 1e-6},
		{0, 0, 1e-6}, {0, 0, 0}, {1, 0, 0}, {1, 1e-6, 1e-6}, {0, 0, 1e4}, {5000, 1e4, 1e4},
		{26, 30.85714, 31}, {1, 38.86, 38.86},
	}
	for _, m := range cdnowModels {
		for _, h := range hist {
			for _, horizon := range []float64{0, 1e-6, 1, 39, 1e4} {
				pa := m.PAlive(h.x, h.tx, h.T)
				e := m.ExpectedPurchases(horizon, h.x, h.tx, h.T)
				p0 := m.ProbNoPurchase(horizon, h.x, h.tx, h.T)
				assert.Truef(t, pa >= 0 && pa <= 1, "%s PAlive%+v = %v", m.Name(), h, pa)
				assert.Truef(t, e >= 0 && !math.IsInf(e, 0), "%s E[Y(%v)]%+v = %v", m.Name(), horizon, h, e)
				assert.Truef(t, p0 >= 0 && p0 <= 1, "%s P0(%v)%+v = %v", m.Name(), horizon, h, p0)
				// Markov: P(Y ≥ 1) ≤ E[Y].
				assert.LessOrEqualf(t, 1-p0, e*(1+1e-9)+1e-12, "%s Markov bound %+v t=%v", m.Name(), h, horizon)
			}
			if h.x > 0 && h.tx == h.T {
				assert.Greaterf(t, m.PAlive(h.x, h.tx, h.T), 0.5, "%s just bought %+v", m.Name(), h)
			}
		}
		assert.InDelta(t, 0, m.ExpectedNew(0), 0)
		assert.False(t, math.IsNaN(m.ExpectedNew(1e4)))
	}
}

// Out-of-domain inputs give NaN rather than a misleading number.
func TestOutOfDomainIsNaN(t *testing.T) {
	for _, m := range cdnowModels {
		assert.True(t, math.IsNaN(m.PAlive(-1, 0, 1)), m.Name())
		assert.True(t, math.IsNaN(m.PAlive(1, 2, 1)), m.Name())
		assert.True(t, math.IsNaN(m.ExpectedPurchases(-1, 1, 0.5, 1)), m.Name())
		assert.True(t, math.IsNaN(m.ProbNoPurchase(math.Inf(1), 1, 0.5, 1)), m.Name())
		assert.True(t, math.IsNaN(m.ExpectedNew(math.NaN())), m.Name())
	}
}

// Shape checks that follow from the models: more time means more expected
// purchases and a lower chance of none; a longer silence (smaller t_x)
// means a lower P(alive) for a repeat buyer.
func TestMonotonicity(t *testing.T) {
	for _, m := range cdnowModels {
		prevE, prevP := 0.0, 1.0
		for _, h := range []float64{1, 5, 20, 39, 52, 100, 500} {
			e, p := m.ExpectedPurchases(h, 3, 20, 38), m.ProbNoPurchase(h, 3, 20, 38)
			assert.Greater(t, e, prevE, m.Name())
			assert.Less(t, p, prevP, m.Name())
			prevE, prevP = e, p
		}
		prevA := 1.0
		for _, tx := range []float64{37, 30, 20, 10, 1} {
			pa := m.PAlive(4, tx, 38)
			assert.Less(t, pa, prevA, m.Name())
			prevA = pa
		}
	}
}

// P(alive) of a one-time buyer: 1 for BG/NBD (no dropout without a repeat
// purchase, FHL 2005), below 1 for MBG/NBD and Pareto/NBD.
func TestOneTimeBuyerPAlive(t *testing.T) {
	assert.Equal(t, 1.0, cdnowModels[0].PAlive(0, 0, 38.86))
	m := cdnowModels[1].(MBGNBD)
	// Hand computation: 1/(1 + a/b · ((α+T)/α)^r).
	want := 1 / (1 + m.A/m.B*math.Pow((m.Alpha+38.86)/m.Alpha, m.R))
	assert.InDelta(t, want, m.PAlive(0, 0, 38.86), 1e-12)
	assert.Less(t, cdnowModels[2].PAlive(0, 0, 38.86), 1.0)
}

// The unconditional P(X(t)=0) of a new customer, by hand: MBG/NBD
// a/(a+b) + b/(a+b)(α/(α+t))^r; Pareto/NBD ∫ over the lifetime, checked by
// quadrature of P(no purchase | μ, λ) = (μ + λ e^{-(λ+μ)t})/(λ+μ) integrated
// against the two gamma densities is replaced by the equivalent 1-D form
// (α/(α+t))^r (β/(β+t))^s + s α^r β^s ∫_0^t (α+τ)^-r (β+τ)^-(s+1) dτ.
func TestNewCustomerNoPurchase(t *testing.T) {
	mb := cdnowModels[1].(MBGNBD)
	want := mb.A/(mb.A+mb.B) + mb.B/(mb.A+mb.B)*math.Pow(mb.Alpha/(mb.Alpha+39), mb.R)
	assert.InDelta(t, want, mb.ProbNoPurchase(39, 0, 0, 0), 1e-12)

	p := cdnowModels[2].(ParetoNBD)
	f := func(tau float64) float64 {
		return p.S * math.Pow(p.Alpha, p.R) * math.Pow(p.Beta, p.S) *
			math.Pow(p.Alpha+tau, -p.R) * math.Pow(p.Beta+tau, -(p.S+1))
	}
	wantP := math.Pow(p.Alpha/(p.Alpha+39), p.R)*math.Pow(p.Beta/(p.Beta+39), p.S) +
		quad.Fixed(f, 0, 39, 200, quad.Legendre{}, 0)
	assert.InDelta(t, wantP, p.ProbNoPurchase(39, 0, 0, 0), 1e-9)
}

// NextPurchaseTime: ok=false below the threshold; otherwise the median
// solves ((α+T)/(α+T+m))^(r+x) = 1/2 and the mean is (α+T)/(r+x-1).
func TestNextPurchaseTime(t *testing.T) {
	m := cdnowModels[0].(BGNBD)
	_, _, ok := m.NextPurchaseTime(2, 1, 38.86, 0.5) // long silence: P(alive) ≈ 0.2
	assert.False(t, ok)
	mean, med, ok := m.NextPurchaseTime(2, 30.43, 38.86, 0.5)
	assert.True(t, ok)
	assert.InDelta(t, 0.5, math.Pow((m.Alpha+38.86)/(m.Alpha+38.86+med), m.R+2), 1e-12)
	assert.InDelta(t, (m.Alpha+38.86)/(m.R+1), mean, 1e-12)
	mean, _, ok = m.NextPurchaseTime(0, 0, 38.86, 0.5)
	assert.True(t, ok)
	assert.True(t, math.IsInf(mean, 1), "r+x ≤ 1: infinite mean")
	p := cdnowModels[2].(ParetoNBD)
	_, med, ok = p.NextPurchaseTime(26, 30.85714, 31, 0.9)
	assert.True(t, ok)
	assert.Greater(t, med, 0.0)
}

// Fuzz targets: for any parameters and any history in the domain, the
// results are finite and in range.
func fuzzArgs(x, tx, T, t float64) (float64, float64, float64, float64, bool) {
	if !isFinite(x) || !isFinite(tx) || !isFinite(T) || !isFinite(t) {
		return 0, 0, 0, 0, false
	}
	x = math.Floor(math.Mod(math.Abs(x), 1001))
	T = 1e-6 + math.Mod(math.Abs(T), 1000)
	tx = math.Mod(math.Abs(tx), T+1e-300)
	if tx > T {
		tx = T
	}
	if x == 0 {
		tx = 0
	}
	t = math.Mod(math.Abs(t), 1000)
	return x, tx, T, t, true
}

func fuzzParam(v float64) float64 {
	if !isFinite(v) {
		return 1
	}
	return math.Exp(math.Mod(v, 5)) // in (e^-5, e^5)
}

func fuzzModels(p1, p2, p3, p4 float64) []CountModel {
	r, al, a, b := fuzzParam(p1), fuzzParam(p2), fuzzParam(p3), fuzzParam(p4)
	return []CountModel{BGNBD{r, al, a, b}, MBGNBD{r, al, a, b}, ParetoNBD{r, al, a, b}}
}

func addSeeds(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 38.86, 39.0, 0.24, 4.41, 0.79, 2.43)
	f.Add(1000.0, 1e-6, 1e-6, 1e-6, 52.0, 0.55, 10.6, 0.61, 11.7)
	f.Add(1000.0, 52.0, 52.0, 52.0, 999.0, 1.0, 1.0, 1.0, 1.0)
	f.Add(26.0, 30.857, 31.0, 31.0, 52.0, -3.0, 4.0, -4.0, 0.5)
	f.Add(1.0, 0.0, 0.0, 1e-6, 0.0, 4.9, -4.9, 4.9, -4.9)
}

func FuzzPAlive(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, x, tx, _, T, _, p1, p2, p3, p4 float64) {
		x, tx, T, _, ok := fuzzArgs(x, tx, T, 0)
		if !ok {
			return
		}
		for _, m := range fuzzModels(p1, p2, p3, p4) {
			if pa := m.PAlive(x, tx, T); !(pa >= 0 && pa <= 1) {
				t.Fatalf("%s %+v PAlive(%v, %v, %v) = %v", m.Name(), m, x, tx, T, pa)
			}
		}
	})
}

func FuzzExpectedPurchases(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, x, tx, _, T, h, p1, p2, p3, p4 float64) {
		x, tx, T, h, ok := fuzzArgs(x, tx, T, h)
		if !ok {
			return
		}
		for _, m := range fuzzModels(p1, p2, p3, p4) {
			if e := m.ExpectedPurchases(h, x, tx, T); !(e >= 0) || math.IsInf(e, 0) {
				t.Fatalf("%s %+v ExpectedPurchases(%v, %v, %v, %v) = %v", m.Name(), m, h, x, tx, T, e)
			}
			if e := m.ExpectedNew(h); !(e >= 0) || math.IsInf(e, 0) {
				t.Fatalf("%s %+v ExpectedNew(%v) = %v", m.Name(), m, h, e)
			}
		}
	})
}

func FuzzProbNoPurchase(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, x, tx, _, T, h, p1, p2, p3, p4 float64) {
		x, tx, T, h, ok := fuzzArgs(x, tx, T, h)
		if !ok {
			return
		}
		for _, m := range fuzzModels(p1, p2, p3, p4) {
			if p := m.ProbNoPurchase(h, x, tx, T); !(p >= 0 && p <= 1) {
				t.Fatalf("%s %+v ProbNoPurchase(%v, %v, %v, %v) = %v", m.Name(), m, h, x, tx, T, p)
			}
		}
	})
}
