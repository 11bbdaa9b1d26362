package churnreport

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/metrics"
)

func TestWilson(t *testing.T) {
	// Newcombe (1998), "Two-sided confidence intervals for the single
	// proportion", Statistics in Medicine 17, Table II, method 3 (Wilson
	// score interval without continuity correction), 4 decimals.
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{29, 29, 0.8830, 1}, // k = n: lower = n/(n+z²) = 29/32.8415, by hand
	}
	for _, c := range cases {
		lo, hi := wilson(c.k, c.n, 1.959963984540054)
		assert.InDelta(t, c.lo, lo, 5e-5, "%d/%d lower", c.k, c.n)
		assert.InDelta(t, c.hi, hi, 5e-5, "%d/%d upper", c.k, c.n)
	}
	lo, hi := wilson(0, 0, 1.96)
	assert.True(t, math.IsNaN(lo) && math.IsNaN(hi), "empty bin has no interval")
}

func TestThin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 5000
	y, s := make([]float64, n), make([]float64, n)
	for i := range y {
		if r.Float64() < 0.3 {
			y[i] = 1
		}
		s[i] = r.Float64() + 0.3*y[i]
	}
	pts := metrics.ROC(y, s)
	got := thin(pts, 1e-3)
	require.Greater(t, len(pts), 4000, "distinct scores give one point each")
	assert.Less(t, len(got), len(pts)/2, "thinning drops most points")
	assert.Equal(t, pts[0], got[0])
	assert.Equal(t, pts[len(pts)-1], got[len(got)-1])
	// Every dropped point is within eps of the previous kept point on
	// both axes (the definition of thin).
	j := 0
	for _, q := range pts {
		if j+1 < len(got) && q == got[j+1] {
			j++
			continue
		}
		assert.LessOrEqual(t, math.Abs(q.X-got[j].X), 1e-3)
		assert.LessOrEqual(t, math.Abs(q.Y-got[j].Y), 1e-3)
	}
	short := []metrics.CurvePoint{{X: 0}, {X: 1e-6}}
	assert.Equal(t, short, thin(short, 1e-3), "two points are kept as they are")
}

func TestBinOfMatchesReliability(t *testing.T) {
	// binOf must put every value in the bin metrics.Reliability uses,
	// including the exact edges k/n where p*n rounds up.
	var p []float64
	for k := 0; k <= 40; k++ {
		p = append(p, float64(k)/40, math.Nextafter(float64(k)/40, 2))
	}
	p = append(p, 0.3, 0.7, 0.1*3, 1-1e-17)
	for _, nb := range []int{10, 40} {
		for _, v := range p {
			v = min(v, 1)
			bins := metrics.Reliability([]float64{0}, []float64{v}, nb)
			want := -1
			for b, bin := range bins {
				if bin.Count == 1 {
					want = b
				}
			}
			assert.Equal(t, want, binOf(v, nb), "p=%v nbins=%d", v, nb)
		}
	}
}

func TestClassShares(t *testing.T) {
	// Hand computation: retained scores 0.1, 0.1, 0.9 → 2/3 in bin 0 and
	// 1/3 in bin 1 of 2; the churner 0.5 is in bin 0 (right-closed).
	y := []float64{0, 0, 0, 1}
	s := []float64{0.1, 0.1, 0.9, 0.5}
	assert.InDeltaSlice(t, []float64{200.0 / 3, 100.0 / 3}, classShares(y, s, 0, 2), 1e-12)
	assert.InDeltaSlice(t, []float64{100, 0}, classShares(y, s, 1, 2), 1e-12)
	assert.Equal(t, []float64{0, 0}, classShares(y, s, 7, 2), "no rows of the class")
}

func TestRowShares(t *testing.T) {
	got := rowShares([][]int{{3, 1}, {0, 0}, {2, 6}})
	assert.Equal(t, [][]float64{{0.75, 0.25}, {0, 0}, {0.25, 0.75}}, got)
}

func TestFormatting(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{0.81234, "0.8123"},
		{2.71604, "2.7160"},
		{20000, "20,000"},
		{1234567, "1,234,567"},
		{1, "1"},
		{0, "0.0000"},
		{-3, "-3"},
		{math.NaN(), "n/a"},
		{math.Inf(1), "n/a"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, formatValue(c.v), "%v", c.v)
	}
	assert.Equal(t, "999", commas(999))
	assert.Equal(t, "-1,000", commas(-1000))
	assert.Equal(t, "<1 %", percentLabel(0.004))
	assert.Equal(t, "0 %", percentLabel(0))
	assert.Equal(t, "77 %", percentLabel(0.7712))
}

func TestMetricRowsOrder(t *testing.T) {
	rows := metricRows(map[string]float64{"zeta": 1, "ece": 0.02, "auc": 0.8, "alpha": 0.5, "stage_accuracy": 0.7})
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.Key)
	}
	// Known metrics in the order of knownMetrics, then the rest by name.
	assert.Equal(t, []string{"auc", "ece", "stage_accuracy", "alpha", "zeta"}, keys)
	assert.Equal(t, "ECE", rows[1].Name)
	assert.Contains(t, rows[1].Help, "10 equal-width bins")
	assert.Empty(t, rows[3].Help)
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		labels []string // labelled ticks, by hand
	}{
		{0, 100, 5, []string{"0", "20", "40", "60", "80", "100"}},
		{0, 13.1, 6, []string{"0.0", "2.5", "5.0", "7.5", "10.0", "12.5"}},
		{0, 0.27, 6, []string{"0.00", "0.05", "0.10", "0.15", "0.20", "0.25"}},
		{-0.3, 0.3, 3, []string{"-0.2", "0.0", "0.2"}},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (niceTicks{n: c.n}).Ticks(c.lo, c.hi) {
			assert.True(t, tk.Value >= c.lo-1e-12 && tk.Value <= c.hi+1e-12, "tick %v in range", tk.Value)
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		assert.Equal(t, c.labels, got, "[%v, %v]", c.lo, c.hi)
	}
	var got []string
	for _, tk := range countTicks.Ticks(0, 6500) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	assert.Equal(t, []string{"0", "2,000", "4,000", "6,000"}, got)
}

func TestImportanceRanking(t *testing.T) {
	d := &data{in: Input{Features: []string{"a", "b", "c"}, Importance: []float64{1, 3, 0}}}
	names, vals, pct := d.importance()
	assert.True(t, pct)
	assert.Equal(t, []string{"b", "a", "c"}, names)
	assert.InDeltaSlice(t, []float64{75, 25, 0}, vals, 1e-12)

	// Signed values (e.g. coefficients) rank by magnitude and stay raw.
	d.in.Importance = []float64{-4, 1, 2}
	names, vals, pct = d.importance()
	assert.False(t, pct)
	assert.Equal(t, []string{"a", "c", "b"}, names)
	assert.Equal(t, []float64{-4, 2, 1}, vals)
}
