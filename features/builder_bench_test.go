package features_test

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/features"
)

// benchHistory is a tier-M-like history (50 events per customer, calibrated)
// of 40,000 customers, ~2 M events, generated once.
var benchHistory = sync.OnceValues(func() ([]arrow.RecordBatch, error) {
	return synth.TierRecords(context.Background(), "M", 40_000, memory.DefaultAllocator)
})

func benchRecords(b *testing.B) ([]arrow.RecordBatch, int64) {
	recs, err := benchHistory()
	require.NoError(b, err)
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return recs, n
}

// cpuTime returns the CPU time (user+system) of the process: on a shared
// machine it measures the work better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuilderAdd measures the per-event pass (Add) on ~2 M synthetic
// events of 40,000 customers, without Finish.
func BenchmarkBuilderAdd(b *testing.B) {
	recs, n := benchRecords(b)
	asOf := synthEnd()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		bl := features.NewBuilder(asOf)
		for _, r := range recs {
			if err := bl.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		bl.Rows() // wait for the workers
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n)/float64(b.N), "cpu-ns/event")
}

// BenchmarkBuilderFinish measures Finish (sort by id, one feature row per
// customer) for 40,000 customers.
func BenchmarkBuilderFinish(b *testing.B) {
	recs, _ := benchRecords(b)
	asOf := synthEnd()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		bl := features.NewBuilder(asOf)
		for _, r := range recs {
			if err := bl.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		bl.Finish(memory.DefaultAllocator).Release()
	}
	b.ReportMetric(40_000*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}

// BenchmarkBuilder measures Add over every record and Finish, by number of
// workers.
func BenchmarkBuilder(b *testing.B) {
	recs, n := benchRecords(b)
	asOf := synthEnd()
	for _, w := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[w], func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				bl := features.NewBuilder(asOf, features.WithWorkers(w))
				for _, r := range recs {
					if err := bl.Add(r); err != nil {
						b.Fatal(err)
					}
				}
				bl.Finish(memory.DefaultAllocator).Release()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(n)/float64(b.N), "cpu-ns/event")
		})
	}
}

// synthEnd is the last day of the synthetic tiers, the as-of day of the
// benchmarks.
func synthEnd() time.Time {
	c, err := synth.Tier("S")
	if err != nil {
		panic(err)
	}
	return c.End
}

// BenchmarkBuilderMemory reports the live heap of the builder's state per
// customer after every event of the 40,000 customers is folded in.
func BenchmarkBuilderMemory(b *testing.B) {
	recs, _ := benchRecords(b)
	asOf := synthEnd()
	var per float64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		bl := features.NewBuilder(asOf)
		for _, r := range recs {
			if err := bl.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		bl.Rows()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		per = float64(m1.HeapAlloc-m0.HeapAlloc) / float64(bl.Customers())
		runtime.KeepAlive(bl)
	}
	b.ReportMetric(per, "heap-B/customer")
}
