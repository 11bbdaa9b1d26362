package gate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCountedReferenceEqualsSorted: on integer samples — counts with many
// ties, a wide range, negatives, NaNs, a constant, a single value — the
// counting path gives exactly the sorting path's reference, for several bin
// counts; fractions, infinities, negative zeros and too wide a range take
// the sorting path.
func TestCountedReferenceEqualsSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := map[string]func(i int) float64{
		"poisson-ish counts": func(int) float64 { return float64(r.IntN(4) * r.IntN(4)) },
		"days":               func(int) float64 { return float64(r.IntN(730)) },
		"negatives and NaN": func(i int) float64 {
			if i%7 == 0 {
				return math.NaN()
			}
			return float64(r.IntN(50) - 25)
		},
		"mostly zero": func(i int) float64 {
			if i%50 == 0 {
				return float64(1 + r.IntN(3))
			}
			return 0
		},
		"constant": func(int) float64 { return 3 },
		"wide":     func(int) float64 { return float64(r.IntN(60000)) },
	}
	for name, g := range gen {
		for _, n := range []int{1, 2, 9, 10, 11, 1000, 20011} {
			sample := make([]float64, n)
			for i := range sample {
				sample[i] = g(i)
			}
			for _, bins := range []int{2, 3, 10, 20} {
				got, ok := countedReference(sample, bins)
				if !ok {
					// An all-NaN sample has no value to count.
					assert.Equal(t, 0, countValues(sample), "%s n=%d", name, n)
					continue
				}
				assert.Equal(t, sortedReference(sample, bins), got, "%s n=%d bins=%d", name, n, bins)
			}
		}
	}
	for name, sample := range map[string][]float64{
		"fraction":      {1, 2, 2.5},
		"infinity":      {1, math.Inf(1)},
		"negative zero": {1, math.Copysign(0, -1)},
		"too wide":      {0, 1 << 20},
		"only NaN":      {math.NaN(), math.NaN()},
	} {
		_, ok := countedReference(sample, DefaultBins)
		assert.False(t, ok, name)
		ref, err := NewReference(sample, DefaultBins)
		require.NoError(t, err)
		assert.Equal(t, sortedReference(sample, DefaultBins), ref, name)
	}
}

func countValues(s []float64) int {
	n := 0
	for _, v := range s {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// BenchmarkReferenceCounting bins 1 M integer day counts (a feature column such
// as days_since_last_purchase) by counting, as NewReference does, and by
// sorting.
func BenchmarkReferenceCounting(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	sample := make([]float64, 1_000_000)
	for i := range sample {
		sample[i] = float64(r.IntN(730))
	}
	b.Run("counted", func(b *testing.B) {
		for range b.N {
			if _, ok := countedReference(sample, DefaultBins); !ok {
				b.Fatal("not counted")
			}
		}
	})
	b.Run("sorted", func(b *testing.B) {
		for range b.N {
			sortedReference(sample, DefaultBins)
		}
	})
}
