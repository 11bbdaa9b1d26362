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
