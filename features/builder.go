package features

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
)

// ErrSchema is returned when a record does not have the canonical event
// layout (data.EventSchema).
var ErrSchema = errors.New("features: record is not in the canonical event layout")

// purchase is one purchase or return event reduced to its day and amount.
type purchase struct {
	day    int32
	amount float64
}

// monthCount is the number of interactions in one calendar month.
type monthCount struct {
	month int32 // year*12 + month-1
	n     int32
}

// acc accumulates one customer's history. It holds per-purchase-event data
// (needed for distinct days and the decline series) and counters for all
// other events.
type acc struct {
	id                     string
	firstEvent, lastEvent  int32
	purchases              []purchase
	returns                int32
	returnAmount           float64
	visits, support, other int32
	visits90, support90    int32
	events                 int32
	months                 []monthCount
}

// Builder accumulates canonical event records and produces the feature table
// at its as-of day. It is not safe for concurrent use.
type Builder struct {
	asOf     int32 // UTC day number, inclusive
	asOfMon  int32
	index    map[string]int32
	accs     []acc
	excluded int64
	rows     int64
}

// NewBuilder returns a Builder for the UTC calendar day of asOf.
func NewBuilder(asOf time.Time) *Builder {
	d := data.DayOf(asOf.UnixMilli())
	return &Builder{asOf: d, asOfMon: monthOf(d), index: make(map[string]int32)}
}

// AsOfDay returns the as-of day as a UTC day number.
func (b *Builder) AsOfDay() int32 { return b.asOf }

// Excluded returns the number of events seen that fall after the as-of day.
func (b *Builder) Excluded() int64 { return b.excluded }

// Rows returns the number of events used (on or before the as-of day).
func (b *Builder) Rows() int64 { return b.rows }

// Customers returns the number of customers seen so far.
func (b *Builder) Customers() int { return len(b.accs) }

// Add folds a record of canonical events into the builder. Events after the
// as-of day are counted and ignored. The record is not retained.
func (b *Builder) Add(rec arrow.Record) error {
	if !rec.Schema().Equal(data.EventSchema) {
		return fmt.Errorf("%w: got %s", ErrSchema, rec.Schema())
	}
	ids := rec.Column(0).(*array.String)
	times := rec.Column(1).(*array.Timestamp)
	types := rec.Column(2).(*array.String)
	amounts := rec.Column(3).(*array.Float64)
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		day := data.DayOf(int64(times.Value(i)))
		if day > b.asOf {
			b.excluded++
			continue
		}
		b.rows++
		id := ids.Value(i)
		k, ok := b.index[id]
		if !ok {
			k = int32(len(b.accs))
			id = strings.Clone(id)
			b.index[id] = k
			b.accs = append(b.accs, acc{id: id, firstEvent: day, lastEvent: day})
		}
		a := &b.accs[k]
		if day < a.firstEvent {
			a.firstEvent = day
		}
		if day > a.lastEvent {
			a.lastEvent = day
		}
		a.events++
		a.addMonth(monthOf(day))
		recent := b.asOf-day < 90
		amt := 0.0
		if amounts.IsValid(i) {
			amt = amounts.Value(i)
		}
		switch types.Value(i) {
		case data.EventPurchase:
			a.purchases = append(a.purchases, purchase{day, amt})
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
	}
	return nil
}

func (a *acc) addMonth(m int32) {
	// Events usually arrive in time order per customer: check the last entry first.
	if k := len(a.months) - 1; k >= 0 && a.months[k].month == m {
		a.months[k].n++
		return
	}
	for k := range a.months {
		if a.months[k].month == m {
			a.months[k].n++
			return
		}
	}
	a.months = append(a.months, monthCount{m, 1})
}

// monthOf returns year*12 + month-1 of a UTC day number.
func monthOf(day int32) int32 {
	t := time.Unix(int64(day)*86400, 0).UTC()
	return int32(t.Year())*12 + int32(t.Month()) - 1
}

// Finish builds the feature table, one row per customer ordered by
// customer_id. The caller releases the record. The builder may be reused
// only after Reset.
func (b *Builder) Finish(mem memory.Allocator) arrow.Record {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	order := make([]int32, len(b.accs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(b.accs[x].id, b.accs[y].id) })

	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	rb.Reserve(len(order))
	w := newRowWriter(rb)
	var days []purchase
	for _, k := range order {
		a := &b.accs[k]
		days = mergeDays(a.purchases, days[:0])
		w.write(b.asOf, b.asOfMon, a, days)
	}
	return rb.NewRecord()
}

// mergeDays sorts purchase events by day and sums amounts of the same day.
func mergeDays(ps []purchase, out []purchase) []purchase {
	slices.SortFunc(ps, func(x, y purchase) int { return int(x.day - y.day) })
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].day == p.day {
			out[n-1].amount += p.amount
			continue
		}
		out = append(out, p)
	}
	return out
}
