package features

import (
	"fmt"
	"sort"
	"time"

	"github.com/churnpipe/churnpipe/data"
)

// Calibration is every buyer's purchase summary at a calibration day before
// the as-of day, in the terms of the BG/NBD family: what a second Builder
// at that day would put in its repeat_purchases (X), first_to_last_days
// (Tx) and first_to_as_of_days (T) columns for the customers with a
// purchase day on or before it, in the same (customer_id) order. The
// holdout comparison of the count models (pipeline, clv.model: auto) is
// fitted on it, so the night needs no second pass over the events.
type Calibration struct {
	End int32 // the calibration day (UTC day number, inclusive)
	// Customers counts the customers with any event on or before End, the
	// buyers among them included (a Builder at End: its Customers()).
	Customers int
	IDs       []string // the buyers, in customer_id order
	X, Tx, T  []int32  // days: Tx = last − first purchase day, T = End − first
}

// WithCalibration makes Finish also summarise the purchases up to the UTC
// day of end, which must be before the as-of day (see Calibration and
// Builder.Calibration).
func WithCalibration(end time.Time) Option {
	return func(b *Builder) error {
		d := data.DayOf(end.UnixMilli())
		if d >= b.asOf {
			return fmt.Errorf("%w: calibration day %s is not before the as-of day", ErrOption, end.UTC().Format(time.DateOnly))
		}
		b.cal = &Calibration{End: d}
		return nil
	}
}

// Calibration returns the summary of WithCalibration once Finish has run,
// nil without the option. It panics when called before Finish.
func (b *Builder) Calibration() *Calibration {
	if !b.finished {
		panic("features: Builder.Calibration called before Finish")
	}
	return b.cal
}

// add summarises the customer a whose purchase days (sorted) are days.
func (c *Calibration) add(a *acc, days []pday) {
	if a.firstEvent > c.End {
		return
	}
	c.Customers++
	n := sort.Search(len(days), func(i int) bool { return days[i].day > c.End })
	if n == 0 {
		return
	}
	first, last := days[0].day, days[n-1].day
	c.IDs = append(c.IDs, a.id)
	c.X = append(c.X, int32(n-1))
	c.Tx = append(c.Tx, last-first)
	c.T = append(c.T, c.End-first)
}
