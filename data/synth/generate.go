package synth

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
)

// Stats counts what Generate emitted.
type Stats struct {
	Customers, Events, Purchases, Returns, Visits, Support int64
}

func (s *Stats) add(o Stats) {
	s.Customers += o.Customers
	s.Events += o.Events
	s.Purchases += o.Purchases
	s.Returns += o.Returns
	s.Visits += o.Visits
	s.Support += o.Support
}

// pilotSalt separates the pilot customers' streams from the real ones.
const pilotSalt = 0x243f6a8885a308d3

// pilotMean returns the mean number of events per customer over n pilot
// customers (streams of seed Seed^pilotSalt) of cfg.
func pilotMean(cfg Config, n int) (float64, error) {
	cfg.Seed ^= pilotSalt
	pl, err := newPlan(cfg)
	if err != nil {
		return 0, err
	}
	s := newSim(pl)
	var prof Profile
	total := 0
	for i := range n {
		s.ev = s.ev[:0]
		s.customer(i, &prof)
		total += len(s.ev)
	}
	return float64(total) / float64(n), nil
}

// Calibration settings: pilot customers, bracket of the λ factor, tolerance.
const (
	calibCustomers = 4000
	calibMaxLog2   = 10
	calibRelTol    = 0.002
)

// Calibrate resolves cfg.EventsPerCustomer: it returns cfg with Alpha
// divided by the factor k that makes the mean number of events per customer,
// estimated on 4,000 pilot customers with common random numbers, equal to the
// target (bisection on log k in [2^-10, 2^10], to 0.2 %), and with
// EventsPerCustomer set to 0. Scaling Alpha by 1/k multiplies every λ by k.
// The pilot estimate has a sampling error of a few percent with heavy-tailed
// parameters. A cfg with EventsPerCustomer = 0 is returned unchanged. Errors
// wrap ErrConfig, also when the target cannot be reached.
func Calibrate(cfg Config) (Config, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	target := cfg.EventsPerCustomer
	if target == 0 {
		return cfg, nil
	}
	base := cfg
	base.EventsPerCustomer = 0
	at := func(log2k float64) (float64, Config, error) {
		c := base
		c.Alpha = base.Alpha / math.Exp2(log2k)
		m, err := pilotMean(c, calibCustomers)
		return m, c, err
	}
	lo, hi := -float64(calibMaxLog2), float64(calibMaxLog2)
	mlo, _, err := at(lo)
	if err != nil {
		return cfg, err
	}
	mhi, _, err := at(hi)
	if err != nil {
		return cfg, err
	}
	if !(mlo <= target && target <= mhi) {
		return cfg, fmt.Errorf("%w: EventsPerCustomer = %g unreachable by scaling λ (pilot means %.3g … %.3g)",
			ErrConfig, target, mlo, mhi)
	}
	var best Config
	for range 60 {
		mid := (lo + hi) / 2
		m, c, err := at(mid)
		if err != nil {
			return cfg, err
		}
		best = c
		if math.Abs(m-target) <= calibRelTol*target {
			break
		}
		if m < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return best, nil
}

// worker builds one record per task of consecutive customers.
type worker struct {
	pl    *plan
	sim   *sim
	b     *array.RecordBuilder
	ids   *array.StringBuilder
	times *array.TimestampBuilder
	types *array.StringBuilder
	amts  *array.Float64Builder
	ends  []int
	id    []byte
}

var kindBytes = [numKinds][]byte{[]byte(kindName[0]), []byte(kindName[1]), []byte(kindName[2]), []byte(kindName[3])}

func newWorker(pl *plan, alloc memory.Allocator) *worker {
	b := array.NewRecordBuilder(alloc, data.EventSchema)
	return &worker{
		pl: pl, sim: newSim(pl), b: b,
		ids:   b.Field(0).(*array.StringBuilder),
		times: b.Field(1).(*array.TimestampBuilder),
		types: b.Field(2).(*array.StringBuilder),
		amts:  b.Field(3).(*array.Float64Builder),
	}
}

// run generates customers [lo, hi) into one record.
func (w *worker) run(lo, hi int) (arrow.RecordBatch, Stats) {
	s := w.sim
	s.ev = s.ev[:0]
	w.ends = w.ends[:0]
	var prof Profile
	for i := lo; i < hi; i++ {
		s.customer(i, &prof)
		w.ends = append(w.ends, len(s.ev))
	}
	var cnt [numKinds]int64
	for _, e := range s.ev {
		cnt[e.kind()]++
	}
	n := len(s.ev)
	typeBytes := 0
	for k, c := range cnt {
		typeBytes += int(c) * len(kindBytes[k])
	}
	w.b.Reserve(n)
	w.ids.ReserveData(n * (w.pl.idWidth + 1))
	w.types.ReserveData(typeBytes)
	start := 0
	for c, end := range w.ends {
		w.id = appendID(w.id[:0], lo+c, w.pl.idWidth)
		for _, e := range s.ev[start:end] {
			w.ids.UnsafeAppend(w.id)
			w.times.UnsafeAppend(arrow.Timestamp(e.ms()))
			k := e.kind()
			w.types.UnsafeAppend(kindBytes[k])
			if k <= kindReturn {
				w.amts.UnsafeAppend(e.amount)
			} else {
				w.amts.UnsafeAppendBoolToBitmap(false)
			}
		}
		start = end
	}
	st := Stats{
		Customers: int64(hi - lo), Events: int64(n),
		Purchases: cnt[kindPurchase], Returns: cnt[kindReturn], Visits: cnt[kindVisit], Support: cnt[kindSupport],
	}
	return w.b.NewRecordBatch(), st
}

// sizingCustomers is the pilot size used to choose customers per record.
const sizingCustomers = 1000

// Generate streams the history of cfg as records with data.EventSchema to
// emit, in customer order (see the package documentation). emit must not
// Release the record: Generate releases it after emit returns, so emit calls
// Retain to keep it. Generate stops at the first error of emit or when ctx is
// done, and returns the Stats of the records emitted so far with that error.
// Configuration errors wrap ErrConfig. Work is spread over GOMAXPROCS
// workers; the output does not depend on their number.
func Generate(ctx context.Context, cfg Config, alloc memory.Allocator, emit func(arrow.RecordBatch) error) (Stats, error) {
	var st Stats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	perCust := cfg.EventsPerCustomer
	if perCust > 0 {
		var err error
		if cfg, err = Calibrate(cfg); err != nil {
			return st, err
		}
	}
	pl, err := newPlan(cfg)
	if err != nil {
		return st, err
	}
	if cfg.Customers == 0 {
		return st, ctx.Err()
	}
	if perCust == 0 {
		if perCust, err = pilotMean(cfg, min(sizingCustomers, cfg.Customers)); err != nil {
			return st, err
		}
	}
	rows := cfg.BatchRows
	if rows == 0 {
		rows = DefaultBatchRows
	}
	per := int(math.Max(1, math.Round(float64(rows)/math.Max(perCust, 1))))
	nTasks := (cfg.Customers + per - 1) / per
	workers := max(1, min(runtime.GOMAXPROCS(0), nTasks))

	type result struct {
		rec arrow.RecordBatch
		st  Stats
	}
	type task struct {
		k   int
		out chan result
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	order := make(chan chan result, 2*workers)
	tasks := make(chan task, 2*workers)

	go func() { // dispatcher: the order channel bounds the records in flight
		defer close(order)
		defer close(tasks)
		for k := range nTasks {
			out := make(chan result, 1)
			select {
			case order <- out:
			case <-ctx.Done():
				return
			}
			tasks <- task{k, out}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(pl, alloc)
			defer w.b.Release()
			for tk := range tasks {
				if ctx.Err() != nil {
					tk.out <- result{}
					continue
				}
				lo := tk.k * per
				rec, s := w.run(lo, min(lo+per, cfg.Customers))
				tk.out <- result{rec, s}
			}
		}()
	}
	var firstErr error
	for out := range order {
		res := <-out
		if res.rec == nil {
			continue
		}
		if firstErr == nil {
			if err := ctx.Err(); err != nil {
				firstErr = err
			} else if err := emit(res.rec); err != nil {
				firstErr = err
				cancel()
			} else {
				st.add(res.st)
			}
		}
		res.rec.Release()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return st, firstErr
}

// TierRecords generates the named tier's calibrated history (Tier, then
// Calibrate) for the given number of customers instead of the tier's, and
// returns its records, held in memory (the caller releases them): the
// input of the builders' benchmarks.
func TierRecords(ctx context.Context, tier string, customers int, alloc memory.Allocator) ([]arrow.RecordBatch, error) {
	cfg, err := Tier(tier)
	if err != nil {
		return nil, err
	}
	if cfg, err = Calibrate(cfg); err != nil {
		return nil, err
	}
	cfg.Customers = customers
	var recs []arrow.RecordBatch
	_, err = Generate(ctx, cfg, alloc, func(rec arrow.RecordBatch) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		for _, r := range recs {
			r.Release()
		}
		return nil, err
	}
	return recs, nil
}
