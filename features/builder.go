package features

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features/subscription"
)

// ErrSchema is returned when a record does not have the canonical event
// layout (data.EventSchema).
var ErrSchema = errors.New("features: record is not in the canonical event layout")

// ErrOption is returned (wrapped) by NewBuilderErr for an invalid Option.
var ErrOption = errors.New("features: invalid builder option")

// pday is one purchase day of a customer: the day and the sum of the
// amounts of its purchase events (null amounts count as 0).
type pday struct {
	day    int32
	amount float64
}

// monthCount is the number of interactions in one calendar month.
type monthCount struct {
	month int32 // year*12 + month-1
	n     int32
}

// noMonth is the first-purchase month of a customer without a purchase.
const noMonth = math.MaxInt32

// acc accumulates one customer's history in O(purchase days) memory:
// counters, the interaction counts of the ActivityMonths full months before
// the as-of month, and the purchase days (consecutive events of the same day
// merged as they arrive).
type acc struct {
	id           string
	days         []pday       // in arrival order; unsorted says whether they are out of order
	pre          []monthCount // events in months ≤ old cut-off and before firstMon
	returnAmount float64

	firstEvent, lastEvent  int32
	firstMon               int32 // month of the first purchase day, noMonth if none
	purchases, returns     int32
	visits, support, other int32
	visits90, support90    int32
	events                 int32
	old                    int32 // events in months ≤ old cut-off (as-of month − 4)
	act                    [ActivityMonths]int32
	unsorted               bool
}

// monTableDays is the number of days before the as-of day (inclusive) whose
// month is looked up in a table instead of computed.
const monTableDays = 1 << 12

// chunkBits sets the size of the blocks the per-customer state is kept in,
// so that growing to millions of customers never copies it.
const chunkBits = 12

// part is the state of the customers of one partition (one worker).
type part struct {
	index  map[string]int32
	chunks [][]acc
	n      int32

	excluded, rows, skipped int64

	// use holds, with WithUsage, each customer's usage at each of the
	// builder's usage days: nd entries per customer, in chunks like chunks.
	use [][]subscription.Usage
	nd  int

	// The last row's customer: events usually come grouped by customer.
	last    []byte
	lastK   int32 // index of its acc, -1 when not created yet
	lastOwn bool  // it belongs to this partition (and shard)
	valid   bool  // last is set

}

func (p *part) at(k int32) *acc { return &p.chunks[k>>chunkBits][k&(1<<chunkBits-1)] }

// usageAt returns customer k's usage entries, one per usage day.
func (p *part) usageAt(k int32) []subscription.Usage {
	i := int(k&(1<<chunkBits-1)) * p.nd
	return p.use[k>>chunkBits][i : i+p.nd]
}

func (p *part) add(a acc) int32 {
	k := p.n
	if int(k>>chunkBits) == len(p.chunks) {
		p.chunks = append(p.chunks, make([]acc, 0, 1<<chunkBits))
		if p.nd > 0 {
			c := make([]subscription.Usage, p.nd<<chunkBits)
			for i := range c {
				c[i].LastUsage = subscription.NoUsage
			}
			p.use = append(p.use, c)
		}
	}
	c := &p.chunks[k>>chunkBits]
	*c = append(*c, a)
	p.n++
	return k
}

// Option configures a Builder.
type Option func(*Builder) error

// WithShard keeps only the customers whose id hashes to shard i of n:
// ShardOf(id, n) == i. Events of the other customers are counted by Skipped
// and otherwise ignored. Building every shard i = 0 … n−1 of the same
// history and concatenating the tables gives the 1-shard table's rows.
// It needs 0 ≤ i < n.
func WithShard(i, n int) Option {
	return func(b *Builder) error {
		if n < 1 || i < 0 || i >= n {
			return fmt.Errorf("%w: shard %d/%d (want 0 ≤ i < n)", ErrOption, i, n)
		}
		b.shard, b.shards = uint64(i), uint64(n)
		return nil
	}
}

// WithWorkers sets the number of goroutines that fold records into the
// state, each owning the customers of one hash partition (default 1). Add
// hands each record to the workers and returns once the previous record is
// folded, so the caller reads the next record while they work. It needs
// n ≥ 1; the result does not depend on n.
func WithWorkers(n int) Option {
	return func(b *Builder) error {
		if n < 1 || n > 64 {
			return fmt.Errorf("%w: %d workers (want 1 … 64)", ErrOption, n)
		}
		b.workers = n
		return nil
	}
}

// Builder accumulates canonical event records and produces the feature table
// at its as-of day. It is not safe for concurrent use (its workers are its
// own business).
type Builder struct {
	asOf    int32 // UTC day number, inclusive
	asOfMon int32
	shard   uint64
	shards  uint64
	workers int
	parts   []part
	monBase int32   // first day of monTab
	monTab  []int32 // monthOf(monBase + i)

	inflight sync.WaitGroup // workers folding the last record
	finished bool
	cal      *Calibration // WithCalibration; filled by Finish
	useDays  []int32      // WithUsage's days
	usage    *UsageTable  // filled by Finish
}

// NewBuilder returns a Builder for the UTC calendar day of asOf. It panics
// on an invalid option (see NewBuilderErr).
func NewBuilder(asOf time.Time, opts ...Option) *Builder {
	b, err := NewBuilderErr(asOf, opts...)
	if err != nil {
		panic(err)
	}
	return b
}

// NewBuilderErr is NewBuilder returning an error wrapping ErrOption for an
// invalid option instead of panicking.
func NewBuilderErr(asOf time.Time, opts ...Option) (*Builder, error) {
	d := data.DayOf(asOf.UnixMilli())
	b := &Builder{asOf: d, asOfMon: monthOf(d), shards: 1, workers: 1}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	b.parts = make([]part, b.workers)
	for i := range b.parts {
		b.parts[i] = part{index: make(map[string]int32), nd: len(b.useDays)}
	}
	b.monBase = d - monTableDays + 1
	b.monTab = make([]int32, monTableDays)
	for i := range b.monTab {
		b.monTab[i] = monthOf(b.monBase + int32(i))
	}
	return b, nil
}

// ShardOf returns the shard of a customer id among n: data.ShardOf, the
// FNV-1a 64-bit hash of the id's bytes modulo n, which also decides the
// partition files of data.CreatePartitioned. It panics if n < 1.
func ShardOf(id string, n int) int { return data.ShardOf(id, n) }

// fnv1a is data.ShardOf's hash, inlined in the hot path.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// wait blocks until the workers have folded every record added so far.
func (b *Builder) wait() { b.inflight.Wait() }

// AsOfDay returns the as-of day as a UTC day number.
func (b *Builder) AsOfDay() int32 { return b.asOf }

// Excluded returns the number of events seen that fall after the as-of day
// (of the customers of this shard).
func (b *Builder) Excluded() int64 {
	b.wait()
	var n int64
	for i := range b.parts {
		n += b.parts[i].excluded
	}
	return n
}

// Rows returns the number of events used (on or before the as-of day, of the
// customers of this shard).
func (b *Builder) Rows() int64 {
	b.wait()
	var n int64
	for i := range b.parts {
		n += b.parts[i].rows
	}
	return n
}

// Skipped returns the number of events of customers of other shards (0
// without WithShard).
func (b *Builder) Skipped() int64 {
	b.wait()
	var n int64
	for i := range b.parts {
		n += b.parts[i].skipped
	}
	return n
}

// Customers returns the number of customers seen so far.
func (b *Builder) Customers() int {
	b.wait()
	n := 0
	for i := range b.parts {
		n += int(b.parts[i].n)
	}
	return n
}

// Add folds a record of canonical events into the builder. Events after the
// as-of day are counted and ignored. The record is retained until it has
// been folded (at the latest when the next method of b returns) and then
// released; it must not be modified meanwhile. Add panics after Finish.
func (b *Builder) Add(rec arrow.RecordBatch) error {
	if b.finished {
		panic("features: Builder.Add after Finish")
	}
	if !data.IsEventSchema(rec.Schema()) {
		return fmt.Errorf("%w: got %s", ErrSchema, rec.Schema())
	}
	b.wait()
	if rec.NumRows() == 0 {
		return nil
	}
	cols := columnsOf(rec)
	if b.workers == 1 && rec.NumRows() < 4096 { // not worth a goroutine
		b.fold(&b.parts[0], 0, &cols)
		return nil
	}
	for w := range b.parts {
		rec.Retain()
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			defer rec.Release()
			b.fold(&b.parts[w], w, &cols)
		}()
	}
	return nil
}

// recCols are the raw buffers of one canonical record.
type recCols struct {
	idOff   []int32
	idBytes []byte
	times   []arrow.Timestamp
	tyOff   []int32
	tyBytes []byte
	amounts []float64
	amt     *array.Float64
	noNulls bool
}

func columnsOf(rec arrow.RecordBatch) recCols {
	ids := rec.Column(0).(*array.String)
	types := rec.Column(2).(*array.String)
	amounts := rec.Column(3).(*array.Float64)
	return recCols{
		idOff: ids.ValueOffsets(), idBytes: ids.ValueBytes(),
		times: rec.Column(1).(*array.Timestamp).TimestampValues(),
		tyOff: types.ValueOffsets(), tyBytes: types.ValueBytes(),
		amounts: amounts.Float64Values(), amt: amounts, noNulls: amounts.NullN() == 0,
	}
}

func view(b []byte, off []int32, i int) string {
	lo, hi := off[i]-off[0], off[i+1]-off[0]
	if lo == hi {
		return ""
	}
	return unsafe.String(&b[lo], int(hi-lo))
}

// owner decides, from the id hash, whether a customer belongs to this
// builder's shard and to partition w.
func (b *Builder) owner(id string, w int) (own, inShard bool) {
	if b.shards == 1 && b.workers == 1 {
		return true, true
	}
	h := fnv1a(id)
	inShard = h%b.shards == b.shard
	mine := len(b.parts) == 1 || int((h/b.shards)%uint64(len(b.parts))) == w
	return mine, inShard
}

// fold adds the rows of c that belong to partition w to p.
func (b *Builder) fold(p *part, w int, c *recCols) {
	asOf, oldCut := b.asOf, b.asOfMon-4
	n := len(c.times)
	for i := 0; i < n; i++ {
		id := view(c.idBytes, c.idOff, i)
		if !p.valid || string(p.last) != id {
			p.last = append(p.last[:0], id...)
			p.valid = true
			p.lastK = -1
			mine, inShard := b.owner(id, w)
			if !mine {
				p.lastOwn = false
				continue
			}
			if !inShard {
				p.skipped++
				p.lastOwn = false
				p.lastK = -2 // mine to count, not to keep
				continue
			}
			p.lastOwn = true
		} else if !p.lastOwn {
			if p.lastK == -2 {
				p.skipped++
			}
			continue
		}
		day := data.DayOf(int64(c.times[i]))
		if day > asOf {
			p.excluded++
			continue
		}
		p.rows++
		k := p.lastK
		if k < 0 {
			var ok bool
			if k, ok = p.index[id]; !ok {
				idc := strings.Clone(id)
				k = p.add(acc{id: idc, firstEvent: day, lastEvent: day, firstMon: noMonth})
				p.index[idc] = k
			}
			p.lastK = k
		}
		a := p.at(k)
		if day < a.firstEvent {
			a.firstEvent = day
		}
		if day > a.lastEvent {
			a.lastEvent = day
		}
		a.events++
		var mon int32
		if j := uint32(day - b.monBase); j < monTableDays {
			mon = b.monTab[j]
		} else {
			mon = monthOf(day)
		}
		amt := c.amounts[i]
		if !c.noNulls && c.amt.IsNull(i) {
			amt = 0
		}
		recent := asOf-day < 90
		ty := view(c.tyBytes, c.tyOff, i)
		if amt < 0 && ty == data.EventPurchase {
			// A negative purchase is a cancellation or a return (CRM exports often
			// book them so): it is no purchase day.
			ty = data.EventReturn
		}
		switch ty {
		case data.EventPurchase:
			a.purchases++
			if mon < a.firstMon {
				a.setFirstMon(mon)
			}
			if m := len(a.days); m > 0 && a.days[m-1].day == day {
				a.days[m-1].amount += amt
			} else {
				if m > 0 && a.days[m-1].day > day {
					a.unsorted = true
				}
				a.days = append(a.days, pday{day, amt})
			}
		case data.EventReturn:
			a.returns++
			a.returnAmount += math.Abs(amt)
		case data.EventVisit:
			a.visits++
			if recent {
				a.visits90++
			}
		case data.EventSupport:
			a.support++
			if recent {
				a.support90++
			}
		default:
			a.other++
		}
		if p.nd > 0 && ty != data.EventPurchase && ty != data.EventReturn && !subscription.IsSubscriptionEvent(ty) {
			us := p.usageAt(k)
			for j, d := range b.useDays {
				if day <= d {
					us[j].AddUsage(ty, d-day, day)
				}
			}
		}
		if k := b.asOfMon - mon; k >= 1 && k <= ActivityMonths {
			a.act[k-1]++
		}
		if mon <= oldCut {
			a.old++
			if mon < a.firstMon {
				a.addPre(mon)
			}
		}
	}
}

// setFirstMon lowers the first-purchase month to m and drops the pre-purchase
// month counts that are no longer before it.
func (a *acc) setFirstMon(m int32) {
	a.firstMon = m
	keep := a.pre[:0]
	for _, mc := range a.pre {
		if mc.month < m {
			keep = append(keep, mc)
		}
	}
	a.pre = keep
}

func (a *acc) addPre(m int32) {
	// Events usually arrive in time order per customer: check the last entry first.
	if k := len(a.pre) - 1; k >= 0 && a.pre[k].month == m {
		a.pre[k].n++
		return
	}
	for k := range a.pre {
		if a.pre[k].month == m {
			a.pre[k].n++
			return
		}
	}
	a.pre = append(a.pre, monthCount{m, 1})
}

// earlier returns the number of interactions in the months from the first
// purchase month to the old cut-off (as-of month − 4).
func (a *acc) earlier() int64 {
	n := int64(a.old)
	for _, mc := range a.pre {
		n -= int64(mc.n)
	}
	return n
}

// monthOf returns year*12 + month-1 of a UTC day number (days since
// 1970-01-01), by the proleptic Gregorian civil-from-days algorithm of
// H. Hinnant ("chrono-compatible low-level date algorithms").
func monthOf(day int32) int32 {
	z := int64(day) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365], from March 1
	mp := (5*doy + 2) / 153                  // [0, 11], March = 0
	m := mp + 2                              // 0-based month from January of year y
	if mp >= 10 {
		m = mp - 10
		y++
	}
	return int32(y*12 + m)
}

// Finish waits for the workers and builds the feature table, one row per
// customer ordered by customer_id. The caller releases the record. Finish
// may be called once; the builder is not usable afterwards.
func (b *Builder) Finish(mem memory.Allocator) arrow.RecordBatch {
	b.wait()
	if b.finished {
		panic("features: Builder.Finish called twice")
	}
	b.finished = true
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	orders := make([][]int32, len(b.parts))
	total := 0
	for w := range b.parts {
		orders[w] = b.parts[w].sortedOrder()
		total += len(orders[w])
	}

	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	rb.Reserve(total)
	wr := newRowWriter(rb)
	var days []pday
	if len(b.useDays) > 0 {
		b.usage = &UsageTable{Days: b.useDays, ByDay: make([][]subscription.Usage, len(b.useDays))}
	}
	emit := func(p *part, k int32) {
		a := p.at(k)
		ds := a.days
		if a.unsorted {
			days = mergeDays(a.days, days[:0])
			ds = days
		}
		wr.write(b.asOf, b.asOfMon, a, ds)
		if b.cal != nil {
			b.cal.add(a, ds)
		}
		if b.usage != nil {
			b.usage.add(a.id, p.usageAt(k))
		}
		a.days, a.pre = nil, nil // free as we go
	}
	if len(b.parts) == 1 {
		p := &b.parts[0]
		for _, k := range orders[0] {
			emit(p, k)
		}
	} else {
		pos := make([]int, len(b.parts))
		for range total {
			best := -1
			for w, o := range orders {
				if pos[w] < len(o) && (best < 0 || b.parts[w].at(o[pos[w]]).id < b.parts[best].at(orders[best][pos[best]]).id) {
					best = w
				}
			}
			emit(&b.parts[best], orders[best][pos[best]])
			pos[best]++
		}
	}
	for w := range b.parts {
		b.parts[w].index = nil
		b.parts[w].use = nil
	}
	return rb.NewRecordBatch()
}

// sortedOrder returns the indices of p's customers in id order.
func (p *part) sortedOrder() []int32 {
	order := make([]int32, p.n)
	sorted := true
	for i := range order {
		order[i] = int32(i)
		if i > 0 && sorted && p.at(int32(i-1)).id > p.at(int32(i)).id {
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(order, func(x, y int32) int { return strings.Compare(p.at(x).id, p.at(y).id) })
	}
	return order
}

// mergeDays sorts purchase days by day, keeping the arrival order of equal
// days, and sums the amounts of the same day into out.
func mergeDays(ps []pday, out []pday) []pday {
	slices.SortStableFunc(ps, func(x, y pday) int { return int(x.day - y.day) })
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].day == p.day {
			out[n-1].amount += p.amount
			continue
		}
		out = append(out, p)
	}
	return out
}
