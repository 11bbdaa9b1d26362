package synth

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkGenerate measures events/s of Generate (all GOMAXPROCS workers,
// records released right after emit) for the default configuration and for
// the tier-M parameters (50 events per customer, calibrated outside the
// timer) on 200,000 customers.
func BenchmarkGenerate(b *testing.B) {
	tierM, err := Tier("M")
	require.NoError(b, err)
	tierM, err = Calibrate(tierM)
	require.NoError(b, err)
	tierM.Customers = 200_000
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"default-100k", DefaultConfig(100_000, winStart, winEnd, 1)},
		{"tierM-200k", tierM},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var events int64
			b.ReportAllocs()
			for b.Loop() {
				st, err := Generate(context.Background(), bc.cfg, memory.DefaultAllocator, func(arrow.RecordBatch) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				events += st.Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
}

// TestNoPerEventAllocation checks that, once warm, building a record makes
// a bounded number of heap allocations (the Arrow arrays, their buffers and
// the record), independent of the number of customers and events in it.
func TestNoPerEventAllocation(t *testing.T) {
	cfg := DefaultConfig(4000, winStart, winEnd, 3)
	pl, err := newPlan(cfg)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newWorker(pl, mem)
	defer w.b.Release()
	rec, st := w.run(0, 4000) // warm the scratch slices
	rec.Release()
	require.Greater(t, st.Events, int64(60000))
	measure := func(customers int) float64 {
		return testing.AllocsPerRun(5, func() {
			rec, _ := w.run(0, customers)
			rec.Release()
		})
	}
	small, large := measure(100), measure(4000)
	t.Logf("allocations per record: %v for 100 customers, %v for 4000 (%d events)", small, large, st.Events)
	assert.LessOrEqual(t, large, small+10, "allocations must not grow with customers or events")
	assert.Less(t, large, 200.0)
}
