package btyd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"gonum.org/v1/gonum/mathext"
)

func hypValue(a, b, c, z float64) float64 {
	l, s, ok := lnHyp2F1(a, b, c, z)
	if !ok {
		return math.NaN()
	}
	return s * math.Exp(l)
}

// Closed forms (Abramowitz & Stegun 15.1.3-15.1.8) in the regions where the
// evaluator switches method, including z close to 1.
func TestHyp2F1ClosedForms(t *testing.T) {
	for _, z := range []float64{1e-9, 0.3, 0.75, 0.9, 0.95, 0.99, 0.999, 0.999999} {
		// 2F1(1, 1; 2; z) = -ln(1-z)/z
		assert.InDeltaf(t, -math.Log1p(-z)/z, hypValue(1, 1, 2, z), 1e-10*(-math.Log1p(-z)/z), "z=%v", z)
		// 2F1(a, b; b; z) = (1-z)^(-a)
		want := math.Pow(1-z, -0.7)
		assert.InDeltaf(t, want, hypValue(0.7, 2.3, 2.3, z), 1e-9*want, "z=%v", z)
		// 2F1(1/2, 1; 3/2; z²) = atanh(z)/z
		want = math.Atanh(z) / z
		assert.InDeltaf(t, want, hypValue(0.5, 1, 1.5, z*z), 1e-9*want, "z=%v", z)
	}
}

// Inside the region where Cephes is reliable (moderate parameters,
// z < 0.9), the evaluator agrees with gonum mathext.Hypergeo.
func TestHyp2F1MatchesGonum(t *testing.T) {
	for _, c := range []struct{ a, b, c float64 }{
		{0.55, 0.61, 1.55}, {26.55, 1.61, 28.2}, {-0.2, 2.4, 3.2}, {1, 5.5, 8}, {3.3, -1.7, 0.4}, {0.24, 2.43, 2.22},
	} {
		for _, z := range []float64{0.01, 0.2, 0.5, 0.8, 0.89} {
			want := mathext.Hypergeo(c.a, c.b, c.c, z)
			assert.InDeltaf(t, want, hypValue(c.a, c.b, c.c, z), 1e-9*math.Abs(want), "%+v z=%v", c, z)
		}
	}
}

// hyp1Series, lnHyp2F1One's fast path for 2F1(1, b; c; z) with c > b > 0 and
// z ≤ hyp1FastZ, agrees with the general evaluator (lnHyp2F1) and with gonum
// mathext.Hypergeo to 1e-13 relative over a grid that covers what the
// Pareto/NBD likelihood asks for: b = r+x or s+1, c - b = s+1 or r+x.
func TestHyp1SeriesMatchesGeneral(t *testing.T) {
	worstGen, worstGonum := 0.0, 0.0
	for _, b := range []float64{1e-3, 0.05, 0.3, 0.6, 1, 2.5, 10, 47.3, 300, 2000} {
		for _, d := range []float64{1e-3, 0.05, 0.5, 1, 1.52, 3, 10, 100, 1000} {
			c := b + d
			for _, z := range []float64{0, 1e-12, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.8, 0.85, 0.89, hyp1FastZ} {
				got := math.Exp(hyp1Series(b, c, z))
				l, s, ok := lnHyp2F1(1, b, c, z)
				if !assert.Truef(t, ok, "general path b=%v c=%v z=%v", b, c, z) {
					continue
				}
				gen := s * math.Exp(l)
				assert.InDeltaf(t, gen, got, 1e-13*gen, "general path b=%v c=%v z=%v", b, c, z)
				worstGen = math.Max(worstGen, math.Abs(got-gen)/gen)
				ref := mathext.Hypergeo(1, b, c, z)
				assert.InDeltaf(t, ref, got, 1e-13*ref, "gonum b=%v c=%v z=%v", b, c, z)
				worstGonum = math.Max(worstGonum, math.Abs(got-ref)/ref)
				// lnHyp2F1One takes the fast path here.
				assert.Equal(t, hyp1Series(b, c, z), lnHyp2F1One(b, c, z))
			}
		}
	}
	t.Logf("largest relative difference: %.2g from lnHyp2F1, %.2g from mathext.Hypergeo", worstGen, worstGonum)
	for _, z := range []float64{1e-9, 0.3, 0.75, hyp1FastZ} {
		want := -math.Log1p(-z) / z // 2F1(1, 1; 2; z)
		assert.InDeltaf(t, want, math.Exp(hyp1Series(1, 2, z)), 1e-14*want, "2F1(1, 1; 2; %v)", z)
	}
}
