package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.LessOrEqual(t, s.n*10, len(s.slots)*u64setMaxLoad)
}

func TestU64SetSizedNeverGrows(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 123_457} { // 123_457: not near a power of two
		s := newU64Set(n)
		size := len(s.slots)
		assert.LessOrEqual(t, float64(size), max(u64setMinSize, float64(n)/u64setTargetLoad+1), "n=%d", n)
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		for i := 0; i < n; i++ {
			require.True(t, s.add(rng.Uint64()|1), "n=%d insert %d", n, i)
		}
		assert.Equal(t, size, len(s.slots), "a set sized for %d keys grew", n)
		assert.Equal(t, n, s.n)
	}
}

func TestDedupeSizedFromExpectedRows(t *testing.T) {
	for _, tc := range []struct {
		name          string
		expect        int64
		shard, shards int
		wantAtLeast   int // slots
		wantAtMost    int
	}{
		{"unknown size starts small", -1, 0, 1, u64setMinSize, 1 << 17},
		{"one shard: every row", 1_000_000, 0, 1, 1_250_000, 1_250_001},
		// A corrupt Parquet footer's num_rows must not size the set: 2⁶² rows
		// panicked in makeslice (or died of out of memory) at the first event_id.
		{"absurd metadata is capped", 1 << 62, 0, 1, maxPresize, maxPresize*5/4 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDedupe(nil, tc.expect, tc.shard, tc.shards)
			assert.Zero(t, d.bytes(), "no set before the first timestamped event")
			s := d.set()
			assert.GreaterOrEqual(t, len(s.slots), tc.wantAtLeast)
			assert.LessOrEqual(t, len(s.slots), tc.wantAtMost)
			d.release()
			assert.Zero(t, d.bytes())
		})
	}
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

// TestFpLogRepeatsAgainstMap: the log counts the entries equal to an
// earlier one exactly as a map does, across buckets and blocks, and is
// empty afterwards.
func TestFpLogRepeatsAgainstMap(t *testing.T) {
	for _, n := range []int{0, 1, fpBlock + 1, 300_000} {
		var l fpLog
		ref := map[uint64]bool{}
		var want int64
		rng := rand.New(rand.NewPCG(uint64(n), 5))
		for i := 0; i < n; i++ {
			h := rng.Uint64N(uint64(n)/2+1) * 0x9E3779B97F4A7C15 // about half repeats
			if ref[max(h, 1)] {
				want++
			}
			ref[max(h, 1)] = true
			l.add(h)
		}
		if n > 0 {
			assert.Positive(t, l.bytes(), "n=%d", n)
		}
		assert.Equal(t, want, l.repeats(), "n=%d", n)
		assert.Zero(t, l.bytes(), "the log is emptied")
		assert.Zero(t, l.repeats(), "and counts nothing more")
	}
}

// BenchmarkIdenticalCount: counting the rows identical to an earlier one
// over 16 M fingerprints (a sixth of them repeats), the way the filter did
// (a probe per row into a set sized for every row) and with the log.
func BenchmarkIdenticalCount(b *testing.B) {
	const n = 16 << 20
	rng := rand.New(rand.NewPCG(7, 8))
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = rng.Uint64N(n*5/6) * 0x9E3779B97F4A7C15
	}
	b.Run("set per row", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := newU64Set(n)
			var rep int
			for _, k := range keys {
				if !s.add(k) {
					rep++
				}
			}
		}
	})
	b.Run("log then count", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var l fpLog
			for _, k := range keys {
				l.add(k)
			}
			l.repeats()
		}
	})
}
