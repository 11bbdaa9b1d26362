package btyd

import (
	"math"
	"testing"
)

// BenchmarkFitBGNBD1M fits BG/NBD to 1,000,000 customers:
//   - cdnow-resampled: rows drawn with replacement from the CDNOW summary
//     (seed 1), ≤ 2,357 distinct rows after Compress;
//   - synthetic-distinct: simulated from r=0.5, α=5, a=0.8, b=2.5 with
//     continuous T ~ U(20, 80) (seed 2), so almost every row is distinct.
//
// The timed region is the whole FitBGNBD call (validation, compression,
// optimisation, Hessian).
func BenchmarkFitBGNBD1M(b *testing.B) {
	_, cd := loadCDNOW(b)
	sets := []struct {
		name string
		d    Data
	}{
		{"cdnow-resampled", resample(cd, 1_000_000, 1)},
		{"synthetic-distinct", simulateBGNBD(1_000_000, BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}, 20, 80, 2)},
	}
	for _, s := range sets {
		distinct := float64(Compress(s.d).Len())
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, res, err := FitBGNBD(s.d, FitOptions{})
				if err != nil || !res.Converged {
					b.Fatal(err)
				}
			}
			b.ReportMetric(distinct, "distinct-rows")
		})
	}
}

// BenchmarkScore1M scores 1,000,000 resampled CDNOW customers (P(alive),
// E[Y(39)], P(Y(39)=0)) with each model on all cores.
func BenchmarkScore1M(b *testing.B) {
	_, cd := loadCDNOW(b)
	d := resample(cd, 1_000_000, 1)
	for _, m := range cdnowModels {
		b.Run(m.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Score(m, d, 39, 0)
			}
		})
	}
}

// BenchmarkFitParetoNBDCDNOW fits Pareto/NBD to the 2,357 CDNOW customers.
func BenchmarkFitParetoNBDCDNOW(b *testing.B) {
	_, cd := loadCDNOW(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := FitParetoNBD(cd, FitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitParetoNBD200k fits Pareto/NBD to 200,000 simulated customers
// with continuous T (almost all rows distinct; numerical gradients).
func BenchmarkFitParetoNBD200k(b *testing.B) {
	d := simulatePareto(200_000, ParetoNBD{R: 0.6, Alpha: 8, S: 0.8, Beta: 12}, 20, 80, 5)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := FitParetoNBD(d, FitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitParetoNBD200kWarm is the refit of clv.model: auto: the same
// 200,000 customers from a start near the optimum (the calibration fit's
// parameters).
func BenchmarkFitParetoNBD200kWarm(b *testing.B) {
	d := simulatePareto(200_000, ParetoNBD{R: 0.6, Alpha: 8, S: 0.8, Beta: 12}, 20, 80, 5)
	start := map[string]float64{"r": 0.55, "alpha": 7.5, "s": 0.85, "beta": 13}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := FitParetoNBD(d, FitOptions{Start: start}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParetoEval is one Pareto/NBD likelihood pass (one core) over
// 200,000 simulated customers: continuous-T with T ~ U(20, 80) weeks (almost
// every row and T distinct), whole-days with t_x and T rounded down to
// whole days as a history in days gives them (few distinct T, as on the
// tiers).
func BenchmarkParetoEval(b *testing.B) {
	d := simulatePareto(200_000, ParetoNBD{R: 0.6, Alpha: 8, S: 0.8, Beta: 12}, 20, 80, 5)
	days := Data{X: d.X, Tx: make([]float64, d.Len()), T: make([]float64, d.Len())}
	for i := range d.X {
		days.Tx[i], days.T[i] = math.Floor(d.Tx[i]*7)/7, math.Floor(d.T[i]*7)/7
	}
	th := []float64{math.Log(0.59), math.Log(7.9), math.Log(0.81), math.Log(12.6)}
	for _, s := range []struct {
		name string
		d    Data
	}{{"continuous-T", d}, {"whole-days", days}} {
		rows := newParetoRows(newBGRows(Compress(s.d), false))
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				paretoEval(rows, th, 1)
			}
			b.ReportMetric(float64(len(rows.x)), "distinct-rows")
			b.ReportMetric(float64(len(rows.px)), "pairs")
		})
	}
}

// BenchmarkDistinctKeys builds the distinct-row maps of scoring on a tier
// M-like base: 1,000,000 simulated Pareto/NBD customers over two years with
// t_x and T in whole days (~690,000 distinct (x, t_x, T)): compress is
// CompressIndex, pairs the (x, τ) pairs of P(alive), grid the (x, T) keys
// of the alive-customer factor; ExpectedPurchasesRows is one whole batch
// call (both maps and the evaluation, two workers).
func BenchmarkDistinctKeys(b *testing.B) {
	m := ParetoNBD{R: 1.03, Alpha: 2.1, S: 1.24, Beta: 52}
	raw := simulatePareto(1_000_000, m, 1, 104, 9)
	for i := range raw.X {
		raw.Tx[i], raw.T[i] = math.Floor(raw.Tx[i]*7)/7, math.Floor(raw.T[i]*7)/7
	}
	d := Compress(raw)
	d.Weight = nil
	b.Run("compress", func(b *testing.B) {
		for b.Loop() {
			compressIndex(d)
		}
		b.ReportMetric(float64(d.Len()), "distinct-rows")
	})
	b.Run("pairs", func(b *testing.B) {
		for b.Loop() {
			newParetoPairs(&bgRows{x: d.X, tx: d.Tx, T: d.T})
		}
	})
	b.Run("grid", func(b *testing.B) {
		for b.Loop() {
			aliveGrid(m, d, []float64{13}, 1, func(t, x, T float64) float64 { return 0 })
		}
	})
	b.Run("ExpectedPurchasesRows", func(b *testing.B) {
		for b.Loop() {
			ExpectedPurchasesRows(m, d, 13, 2)
		}
	})
	// What a night's CLV scoring asks of btyd (pipeline scoreDistinct):
	// Score and the discounted purchases with the fitted model, then the
	// expectation and the discounted purchases with each of the 4 models
	// of the intervals (one log-parameter shifted, as NewSensitivity does).
	o := CLVOptions{ModelUnit: Week, Period: Month, Periods: 12, DiscountRate: 0.01}
	var shifted []ParetoNBD
	for k := 0; k < 4; k++ {
		p := [4]float64{m.R, m.Alpha, m.S, m.Beta}
		p[k] *= math.Exp(sensEps)
		shifted = append(shifted, ParetoNBD{R: p[0], Alpha: p[1], S: p[2], Beta: p[3]})
	}
	b.Run("night-sequence", func(b *testing.B) {
		for b.Loop() {
			Score(m, d, 13, 2)
			if _, err := DiscountedPurchasesRows(m, d, o, 2); err != nil {
				b.Fatal(err)
			}
			for _, sm := range shifted {
				ExpectedPurchasesRows(sm, d, 13, 2)
				if _, err := DiscountedPurchasesRows(sm, d, o, 2); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkFitGammaGamma fits Gamma-Gamma to the repeat buyers among
// 1,000,000 simulated BG/NBD customers (~470,000 with x > 0, spends from
// p=6, q=3.6, γ=15; almost all (x, z̄) distinct), on all cores.
func BenchmarkFitGammaGamma(b *testing.B) {
	d := simulateBGNBD(1_000_000, BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}, 20, 80, 2)
	z := simulateSpend(d.X, GammaGamma{P: 6, Q: 3.6, Gamma: 15}, 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := FitGammaGamma(d.X, z, FitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
