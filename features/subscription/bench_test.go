package subscription

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/synth"
)

// benchHistory is a buyer history shaped like tier M (about 50 events per
// customer, no subscriber) of 40,000 customers, ~2 M events, in the
// generator's order (each customer's events together), generated once.
var benchHistory = sync.OnceValues(func() ([]arrow.RecordBatch, error) {
	return synth.TierRecords(context.Background(), "M", 40_000, memory.DefaultAllocator)
})

// shuffled is benchHistory with the rows of each record in a seeded random
// order: no two consecutive events of one customer to speak of.
var shuffled = sync.OnceValues(func() ([]arrow.RecordBatch, error) {
	recs, err := benchHistory()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var out []arrow.RecordBatch
	for _, r := range recs {
		idx := rng.Perm(int(r.NumRows()))
		ib := array.NewInt64Builder(memory.DefaultAllocator)
		for _, v := range idx {
			ib.Append(int64(v))
		}
		ix := ib.NewArray()
		ib.Release()
		taken, err := compute.Take(context.Background(), *compute.DefaultTakeOptions(), compute.NewDatum(r), compute.NewDatum(ix))
		ix.Release()
		if err != nil {
			return nil, err
		}
		out = append(out, taken.(*compute.RecordDatum).Value)
	}
	return out, nil
})

// BenchmarkBuilderAdd measures Add on a buyer history: every visit and
// ticket is a usage event looked up by customer.
func BenchmarkBuilderAdd(b *testing.B) {
	for _, c := range []struct {
		name string
		recs func() ([]arrow.RecordBatch, error)
	}{{"customer-order", benchHistory}, {"shuffled", shuffled}} {
		b.Run(c.name, func(b *testing.B) {
			recs, err := c.recs()
			require.NoError(b, err)
			var n int64
			for _, r := range recs {
				n += r.NumRows()
			}
			asOf := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			for b.Loop() {
				bl, err := NewBuilder(asOf, Rules{})
				require.NoError(b, err)
				for _, r := range recs {
					if err := bl.Add(r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
