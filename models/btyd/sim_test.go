package btyd

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// simulateBGNBD draws n customers from the BG/NBD generative process with
// observation lengths T ~ Uniform(Tmin, Tmax) (continuous, so rows are
// mostly distinct). Deterministic for a given seed.
func simulateBGNBD(n int, m BGNBD, Tmin, Tmax float64, seed uint64) Data {
	src := rand.NewPCG(seed, 0x5eed)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: src}
	pd := distuv.Beta{Alpha: m.A, Beta: m.B, Src: src}
	d := Data{X: make([]float64, n), Tx: make([]float64, n), T: make([]float64, n)}
	for i := 0; i < n; i++ {
		T := Tmin + (Tmax-Tmin)*rng.Float64()
		l, p := lam.Rand(), pd.Rand()
		var x, tx, t float64
		for l > 0 {
			t += rng.ExpFloat64() / l
			if t > T {
				break
			}
			x++
			tx = t
			if rng.Float64() < p {
				break
			}
		}
		d.X[i], d.Tx[i], d.T[i] = x, tx, T
	}
	return d
}

// simulatePareto draws n customers from the Pareto/NBD process.
func simulatePareto(n int, m ParetoNBD, Tmin, Tmax float64, seed uint64) Data {
	src := rand.NewPCG(seed, 0x9a7e70)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: src}
	mu := distuv.Gamma{Alpha: m.S, Beta: m.Beta, Src: src}
	d := Data{X: make([]float64, n), Tx: make([]float64, n), T: make([]float64, n)}
	for i := 0; i < n; i++ {
		T := Tmin + (Tmax-Tmin)*rng.Float64()
		l := lam.Rand()
		life := rng.ExpFloat64() / mu.Rand()
		end := math.Min(T, life)
		var x, tx, t float64
		for l > 0 {
			t += rng.ExpFloat64() / l
			if t > end {
				break
			}
			x++
			tx = t
		}
		d.X[i], d.Tx[i], d.T[i] = x, tx, T
	}
	return d
}

// resample draws n rows with replacement from d (deterministic per seed).
func resample(d Data, n int, seed uint64) Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := Data{X: make([]float64, n), Tx: make([]float64, n), T: make([]float64, n)}
	for i := 0; i < n; i++ {
		j := rng.IntN(d.Len())
		out.X[i], out.Tx[i], out.T[i] = d.X[j], d.Tx[j], d.T[j]
	}
	return out
}

// simulateSpend draws, for every x > 0 of xs, a mean repeat spend from
// the Gamma-Gamma process: ν ~ Gamma(q, γ) per customer, and the mean of x
// spends Gamma(p, ν) is Gamma(p·x, ν·x) (shape, rate). Deterministic for a
// given seed; x = 0 gets 0.
func simulateSpend(xs []float64, m GammaGamma, seed uint64) []float64 {
	src := rand.NewPCG(seed, 0x6a6a)
	nu := distuv.Gamma{Alpha: m.Q, Beta: m.Gamma, Src: src}
	out := make([]float64, len(xs))
	for i, x := range xs {
		if x > 0 {
			v := nu.Rand()
			out[i] = distuv.Gamma{Alpha: m.P * x, Beta: v * x, Src: src}.Rand()
		}
	}
	return out
}
