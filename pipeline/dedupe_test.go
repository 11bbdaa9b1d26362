package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestU64SetAgainstMap(t *testing.T) {
	s := newU64Set(0)
	ref := map[uint64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200_000; i++ {
		h := rng.Uint64N(150_000) * 0x9E3779B97F4A7C15 // many repeats, spread bits
		if i%1000 == 0 {
			h = 0 // the empty marker must still work as a value
		}
		want := !ref[max(h, 1)]
		ref[max(h, 1)] = true
		assert.Equal(t, want, s.add(h), "insert %d of %x", i, h)
	}
	assert.Equal(t, len(ref), s.n)
	assert.LessOrEqual(t, s.n*5, len(s.slots)*4)
}

func BenchmarkDedupeSet(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, 1<<20)
	for i := range keys {
		keys[i] = rng.Uint64()
	}
	b.Run("u64set", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := newU64Set(0)
			for _, k := range keys {
				s.add(k)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m := map[uint64]struct{}{}
			for _, k := range keys {
				if _, ok := m[k]; !ok {
					m[k] = struct{}{}
				}
			}
		}
	})
}
