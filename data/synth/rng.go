package synth

import (
	"math"
	"math/rand/v2"
)

// splitmix64 is the SplitMix64 finaliser (Steele, Lea & Flood 2014), used to
// turn (seed, index) into well-mixed PCG seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamSeeds returns the two PCG seeds of customer i's stream.
func streamSeeds(seed uint64, i uint64) (uint64, uint64) {
	a := splitmix64(seed ^ splitmix64(i))
	b := splitmix64(a ^ 0x6a09e667f3bcc909 ^ i)
	return a, b
}

// logGamma1 returns log X with X ~ Gamma(shape a, rate 1), a > 0, computed
// in log space so that tiny variates of small shapes do not underflow.
// Marsaglia & Tsang (2000) for a ≥ 1; for a < 1 the boost
// X = Y·U^(1/a) with Y ~ Gamma(a+1) (same paper, section 6).
func logGamma1(r *rand.Rand, a float64) float64 {
	boost := 0.0
	if a < 1 {
		u := r.Float64()
		for u == 0 {
			u = r.Float64()
		}
		boost = math.Log(u) / a
		a++
	}
	d := a - 1.0/3
	c := 1 / (3 * math.Sqrt(d))
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		x2 := x * x
		if u < 1-0.0331*x2*x2 || math.Log(u) < 0.5*x2+d*(1-v+math.Log(v)) {
			return math.Log(d*v) + boost
		}
	}
}

// gammaRate returns X ~ Gamma(shape a, rate b).
func gammaRate(r *rand.Rand, a, b float64) float64 {
	return math.Exp(logGamma1(r, a)) / b
}

// beta returns X ~ Beta(a, b) as X = G_a/(G_a+G_b), evaluated in log space
// as 1/(1+exp(log G_b − log G_a)).
func beta(r *rand.Rand, a, b float64) float64 {
	la := logGamma1(r, a)
	lb := logGamma1(r, b)
	return 1 / (1 + math.Exp(lb-la))
}

// poisson returns N ~ Poisson(mean). Knuth's product of uniforms for
// mean < 30; a rounded normal approximation above (only reached with
// extreme configurations).
func poisson(r *rand.Rand, mean float64) int {
	if !(mean > 0) {
		return 0
	}
	if mean >= 30 {
		n := math.Round(mean + math.Sqrt(mean)*r.NormFloat64())
		if n < 0 {
			return 0
		}
		return int(n)
	}
	l := math.Exp(-mean)
	k := 0
	p := r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// maxRepeats caps the geometric number of repeat purchases (p → 0).
const maxRepeats = math.MaxInt32

// geometric returns K ~ Geometric(p) on {1, 2, ...}: P(K = k) = (1−p)^(k−1) p.
func geometric(r *rand.Rand, p float64) int {
	if p >= 1 {
		return 1
	}
	if !(p > 0) {
		return maxRepeats
	}
	u := 1 - r.Float64() // (0, 1]
	k := 1 + math.Floor(math.Log(u)/math.Log1p(-p))
	if !(k < maxRepeats) {
		return maxRepeats
	}
	return int(k)
}
